"""Fetch AWS's Runtime Interface Emulator the only way this project allows: from the
``aws-sam-cli`` wheel on PyPI, pinned and hash-checked, cached, never committed.

Used by ``lambdaloop invoke --rie auto``, the test suite and the benchmarks.
``python -m lambdaloop.rie`` prints the path of the cached binary (fetching it if needed).
"""

from __future__ import annotations

import hashlib
import os
import platform
import subprocess
import sys
import zipfile
from pathlib import Path

SAM_CLI_VERSION = "1.170.0"
WHEEL_NAME = f"aws_sam_cli-{SAM_CLI_VERSION}-py3-none-any.whl"
WHEEL_SHA256 = "24ebaf5ecba38dc1758089968cb89ab61e124b84e92a344fc7a2771a47f4d0bf"
# The binaries inside that wheel (checked on 2026-11-23).
RIE_SHA256 = {
    "x86_64": "6b1e686e62ab2baf5759c412c4864276ef2a88b094fca53ec070637ccba9b9a5",
    "arm64": "ec2e5d09633d853834c008b1ef264bf834b258a94d551d2b2074966494b39a21",
}


class RieUnavailable(RuntimeError):
    pass


def cache_dir() -> Path:
    root = os.environ.get("LAMBDALOOP_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "lambdaloop"
    )
    return Path(root)


def machine_arch() -> str:
    machine = platform.machine().lower()
    if machine in ("x86_64", "amd64"):
        return "x86_64"
    if machine in ("aarch64", "arm64"):
        return "arm64"
    raise RieUnavailable(f"the RIE is built for x86_64 and arm64 only, not {machine}")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _download_wheel(dest: Path) -> Path:
    wheel = dest / WHEEL_NAME
    if wheel.exists() and _sha256(wheel) == WHEEL_SHA256:
        return wheel
    dest.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
        "--disable-pip-version-check", "-q", f"aws-sam-cli=={SAM_CLI_VERSION}", "-d", str(dest),
    ]  # fmt: skip
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0 or not wheel.exists():
        raise RieUnavailable(f"pip download aws-sam-cli=={SAM_CLI_VERSION} failed:\n{result.stderr[-2000:]}")
    actual = _sha256(wheel)
    if actual != WHEEL_SHA256:
        wheel.unlink()
        raise RieUnavailable(f"{WHEEL_NAME} has sha256 {actual}, expected {WHEEL_SHA256}")
    return wheel


def ensure_rie(arch: str | None = None) -> Path:
    """Path to a verified RIE binary for ``arch`` (default: this machine), fetching it once."""
    arch = arch or machine_arch()
    expected = RIE_SHA256[arch]
    target = cache_dir() / f"aws-lambda-rie-{arch}-{SAM_CLI_VERSION}"
    if target.exists() and _sha256(target) == expected:
        return target
    wheel = _download_wheel(cache_dir() / "wheels")
    with zipfile.ZipFile(wheel) as zf:
        data = zf.read(f"samcli/local/rapid/aws-lambda-rie-{arch}")
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected:
        raise RieUnavailable(f"aws-lambda-rie-{arch} in {WHEEL_NAME} has sha256 {actual}, expected {expected}")
    partial = target.with_suffix(".part")
    partial.write_bytes(data)
    partial.chmod(0o755)
    partial.replace(target)
    return target


if __name__ == "__main__":
    try:
        print(ensure_rie())
    except RieUnavailable as exc:
        print(f"lambdaloop.rie: {exc}", file=sys.stderr)
        sys.exit(1)
