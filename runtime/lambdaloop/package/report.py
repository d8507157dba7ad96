"""The build's report: sizes against Lambda's limits, the largest packages, what was dropped."""

from __future__ import annotations

import hashlib
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from .targets import UNZIPPED_LIMIT, ZIPPED_DIRECT_UPLOAD_LIMIT
from .tree import Dropped


@dataclass
class Report:
    zip_path: str
    target: str
    requirements: str
    sha256: str = ""
    zipped_bytes: int = 0
    unzipped_bytes: int = 0
    files: int = 0
    packages: list[tuple[str, int]] = field(default_factory=list)  # top-level name, unzipped bytes
    pyc: str = ""
    dropped: Dropped = field(default_factory=Dropped)
    warnings: list[str] = field(default_factory=list)


def top_level_name(entry: str) -> str:
    head = entry.split("/", 1)[0]
    if head == "__pycache__" and entry.count("/") == 1:
        head = entry.split("/", 1)[1].split(".", 1)[0] + ".py"  # a top-level module's own .pyc
        entry = head
    if head.endswith((".dist-info", ".egg-info")):
        return "(package metadata: *.dist-info)"
    if "/" not in entry and head.endswith(".so"):
        return head.split(".", 1)[0] + " (extension module)"
    return head.removesuffix(".py") if "/" not in entry else head


def measure(zip_path: Path, report: Report) -> None:
    sizes: dict[str, int] = {}
    with zipfile.ZipFile(zip_path) as zf:
        for info in zf.infolist():
            if info.is_dir():
                continue
            report.files += 1
            report.unzipped_bytes += info.file_size
            name = top_level_name(info.filename)
            sizes[name] = sizes.get(name, 0) + info.file_size
    digest = hashlib.sha256()
    with open(zip_path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    report.sha256 = digest.hexdigest()
    report.zipped_bytes = zip_path.stat().st_size
    report.packages = sorted(sizes.items(), key=lambda item: (-item[1], item[0]))


def mib(n: int) -> str:
    if n >= 104858:
        return f"{n / 1048576:.2f} MiB"
    return f"{n / 1024:.1f} KiB" if n >= 1024 else f"{n} B"


def format_report(report: Report, top: int = 8) -> str:
    zipped_ok = report.zipped_bytes <= ZIPPED_DIRECT_UPLOAD_LIMIT
    zipped_share = 100 * report.zipped_bytes / ZIPPED_DIRECT_UPLOAD_LIMIT
    unzipped_share = 100 * report.unzipped_bytes / UNZIPPED_LIMIT
    lines = [
        f"{report.zip_path}",
        f"  target        {report.target}",
        f"  requirements  {report.requirements}",
        f"  sha256        {report.sha256}",
        f"  zipped        {mib(report.zipped_bytes):>11}  {zipped_share:5.1f}% "
        f"of the 50 MiB direct upload limit{'' if zipped_ok else ': over it, upload through S3'}",
        f"  unzipped      {mib(report.unzipped_bytes):>11}  {unzipped_share:5.1f}% "
        f"of the 250 MiB limit (function and its layers), {report.files} files",
        f"  .pyc          {report.pyc}",
        "  largest:",
    ]
    for name, size in report.packages[:top]:
        lines.append(f"    {mib(size):>11}  {name}")
    if len(report.packages) > top:
        rest = sum(size for _, size in report.packages[top:])
        lines.append(f"    {mib(rest):>11}  ({len(report.packages) - top} more)")
    dropped = report.dropped
    if dropped.total_files:
        lines.append(f"  dropped       {dropped.total_files} files, {mib(dropped.total_bytes)}:")
        for reason in sorted(dropped.files, key=lambda r: -dropped.sizes[r]):
            examples = ", ".join(dropped.examples[reason])
            lines.append(f"    {mib(dropped.sizes[reason]):>11}  {reason} ({dropped.files[reason]} files: {examples})")
    else:
        lines.append("  dropped       nothing")
    lines.extend(f"  warning: {w}" for w in report.warnings)
    return "\n".join(lines)
