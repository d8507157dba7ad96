"""The Lambda Python versions, and where this machine has each one (shared by the tests that
run the runtime under every version: tests/loop and tests/extensions)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

VERSIONS = ["3.10", "3.11", "3.12", "3.13", "3.14"]


def find_python(version: str) -> str | None:
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    for candidate in sorted(pyenv.glob(f"{version}.*"), reverse=True):
        binary = candidate / "bin" / f"python{version}"
        if binary.exists():
            return str(binary)
    found = shutil.which(f"python{version}")
    # A pyenv shim answers for versions it does not have; only a real interpreter counts.
    if found and "/shims/" not in found:
        return found
    return None
