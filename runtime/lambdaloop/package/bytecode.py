"""Precompiled .pyc for the target Python, so a read-only /var/task does not compile at every
cold start. Unchecked-hash .pyc: never compared with the source's mtime, which the zip round trip
does not keep; PYTHONHASHSEED=0: set constants marshal in a fixed order (reproducible bytes).
Bytecode is version-specific, so only an interpreter of the target version can make it."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
from pathlib import Path

# Where Lambda unzips the function: the path baked into each code object (tracebacks show it).
TASK_ROOT = "/var/task"


def find_interpreter(version: str) -> str | None:
    """A real executable of Python X.Y: this one, pythonX.Y on PATH, or one of pyenv's builds."""
    if f"{sys.version_info[0]}.{sys.version_info[1]}" == version:
        return sys.executable
    pyenv = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    candidates = [f"python{version}", *sorted(glob.glob(f"{pyenv}/versions/{version}.*/bin/python{version}"))]
    for candidate in candidates:
        path = shutil.which(candidate)
        if not path:
            continue
        probe = subprocess.run(
            [path, "-c", "import sys; print('%d.%d' % sys.version_info[:2]); print(sys.executable)"],
            capture_output=True,
            text=True,
        )
        lines = probe.stdout.split()
        if probe.returncode == 0 and len(lines) == 2 and lines[0] == version:
            return lines[1]  # the real binary, not a pyenv shim
    return None


def compile_tree(interpreter: str, stage: Path) -> list[str]:
    """Compile every .py under stage in place; returns the files that did not compile (they
    would fail the same way at import on that Python, so they are reported, not fatal)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["PYTHONHASHSEED"] = "0"
    cmd = [
        interpreter, "-m", "compileall", "-q", "-f", "-r", "1000", "-j", "0",
        "--invalidation-mode", "unchecked-hash", "-d", TASK_ROOT, str(stage),
    ]  # fmt: skip
    result = subprocess.run(cmd, capture_output=True, text=True, env=env)
    failed = []
    for line in result.stdout.splitlines():
        if line.startswith("*** Error compiling "):
            name = line[len("*** Error compiling ") :].strip().strip("'.")
            failed.append(os.path.relpath(name, stage) if os.path.isabs(name) else name)
    if result.returncode != 0 and not failed:
        failed.append(f"compileall failed: {(result.stderr or result.stdout).strip()[-500:]}")
    return failed
