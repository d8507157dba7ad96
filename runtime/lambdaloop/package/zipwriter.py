"""A reproducible zip: the same tree gives the same bytes, and a failed build leaves no zip.

Entries sorted by name, every timestamp SOURCE_DATE_EPOCH (default 1980-01-01, zip's earliest),
modes fixed to 0755 (executable in the tree) or 0644, folders as entries of their own, deflate
level 9. Written to a temporary name beside the destination and renamed at the end, so the
destination holds either the previous zip or the complete new one, never half of one.
"""

from __future__ import annotations

import os
import stat
import time
import zipfile
from pathlib import Path

EARLIEST_ZIP_TIME = 315532800  # 1980-01-01T00:00:00Z


def source_date() -> tuple[int, int, int, int, int, int]:
    try:
        epoch = int(os.environ.get("SOURCE_DATE_EPOCH", EARLIEST_ZIP_TIME))
    except ValueError:
        epoch = EARLIEST_ZIP_TIME
    year, month, day, hour, minute, second = time.gmtime(max(epoch, EARLIEST_ZIP_TIME))[:6]
    return year, month, day, hour, minute, second


def tree_entries(stage: Path) -> list[tuple[str, Path]]:
    entries = []
    for dirpath, dirnames, filenames in os.walk(stage):
        here = Path(dirpath)
        for name in dirnames:
            entries.append(((here / name).relative_to(stage).as_posix() + "/", here / name))
        for name in filenames:
            entries.append(((here / name).relative_to(stage).as_posix(), here / name))
    return sorted(entries)


def write_zip(stage: Path, out: Path) -> None:
    date = source_date()
    partial = out.with_name(f".{out.name}.{os.getpid()}.part")
    try:
        with zipfile.ZipFile(partial, "w") as zf:
            for name, path in tree_entries(stage):
                info = zipfile.ZipInfo(name, date)
                info.create_system = 3  # Unix: external_attr carries the mode
                if name.endswith("/"):
                    info.external_attr = (stat.S_IFDIR | 0o755) << 16 | 0x10
                    zf.writestr(info, b"")
                    continue
                executable = os.stat(path).st_mode & 0o111
                info.external_attr = (stat.S_IFREG | (0o755 if executable else 0o644)) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                with open(path, "rb") as f:
                    zf.writestr(info, f.read(), compresslevel=9)
        partial.replace(out)
    finally:
        partial.unlink(missing_ok=True)
