"""An arm64 Debian 12 Python, runnable here under qemu-aarch64 user emulation, built once and
cached under ~/.cache/lambdaloop: debootstrap's first stage (download and unpack, nothing run)
plus the Python packages unpacked with dpkg-deb. No binfmt_misc and no second stage: qemu is
named on the command line with -L pointing at the root, so the dynamic loader and the standard
library come from it. About 25 s and 230 MB on a cold cache."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

SUITE = "bookworm"  # Debian 12: Python 3.11
PYTHON_VERSION = "3.11"
PACKAGES = "python3-minimal,libpython3.11-stdlib"


def cache_root() -> Path:
    root = os.environ.get("LAMBDALOOP_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "lambdaloop"
    )
    return Path(root) / f"arm64-sysroot-{SUITE}"


def debian_mirror() -> str:
    """The Debian mirror this machine's apt uses (deb822 .sources or a sources.list line)."""
    candidates = [*sorted(Path("/etc/apt/sources.list.d").glob("*.sources")), Path("/etc/apt/sources.list")]
    for path in candidates:
        try:
            text = path.read_text()
        except OSError:
            continue
        for match in re.finditer(r"^URIs:\s*(\S+)", text, re.M):
            if "security" not in match.group(1):
                return match.group(1)
        for match in re.finditer(r"^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)", text, re.M):
            if "security" not in match.group(1) and match.group(2).startswith(SUITE):
                return match.group(1)
    raise RuntimeError("no Debian mirror in /etc/apt sources")


def ensure_sysroot() -> Path:
    """The root folder; its python is root/usr/bin/python3.11 (aarch64)."""
    root = cache_root()
    if (root / ".complete").exists():
        return root
    root.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="arm64-sysroot-", dir=root.parent) as tmp:
        stage = Path(tmp) / "root"
        cmd = [
            "debootstrap", "--arch", "arm64", "--foreign", "--variant=minbase", f"--include={PACKAGES}",
            SUITE, str(stage), debian_mirror(),
        ]  # fmt: skip
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
        if result.returncode != 0:
            raise RuntimeError(f"debootstrap failed:\n{result.stdout[-1500:]}{result.stderr[-1500:]}")
        for deb in sorted((stage / "var" / "cache" / "apt" / "archives").glob("*.deb")):
            subprocess.run(["dpkg-deb", "-x", str(deb), str(stage)], check=True, capture_output=True)
        (stage / ".complete").write_text("")
        shutil.rmtree(root, ignore_errors=True)
        stage.rename(root)
    return root
