"""Standing checks that belong in every run: lint, and what the start-up path imports."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# What a sync handler's cold start must never pay for (asyncio, uvloop and httpx above all).
HEAVY = {"asyncio", "uvloop", "httpx", "http.client", "ssl", "email", "json", "re", "logging", "orjson", "simplejson",
         "dataclasses", "typing", "inspect", "enum", "socket", "decimal", "traceback"}  # fmt: skip


def test_ruff_is_clean() -> None:
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed (./dev installs it)")
    # --no-cache: a test never writes into the work tree.
    result = subprocess.run([ruff, "check", "--no-cache", "."], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_is_clean(tmp_path: Path) -> None:
    """The package ships py.typed: its types must hold, or users' own type checks fail on them."""
    mypy = shutil.which("mypy", path=str(Path(sys.executable).parent)) or shutil.which("mypy")
    if mypy is None:
        pytest.skip("mypy is not installed (./dev installs it)")
    result = subprocess.run([mypy, "--cache-dir", str(tmp_path)], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_sync_start_up_path_imports_nothing_heavy() -> None:
    # -X importtime lists every module imported, with its parent chain, on stderr.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    code = "import lambdaloop.bootstrap, lambdaloop.entry, lambdaloop.loop, lambdaloop.__main__"
    result = subprocess.run([sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    imported = {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines() if "|" in line}
    assert "lambdaloop.loop" in imported  # the check itself works
    assert imported & HEAVY == set()
