"""Fixtures for `lambdaloop package`: a small function with a native dependency (orjson), and
its zips for both architectures, built once per session. pip fetches from PyPI (its cache is
usually warm); the wheels are pinned so the builds are comparable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ORJSON = "orjson==3.13.0"
HERE_PYTHON = f"{sys.version_info[0]}.{sys.version_info[1]}"

APP = """import os
import sys

import orjson


def handler(event, context):
    return {
        "echo": orjson.loads(orjson.dumps(event)),
        "orjson": orjson.__file__,
        "app": __file__,
        "app_cached": __cached__,
        "lambdaloop": getattr(sys.modules.get("lambdaloop"), "__file__", None),
        "python": "%d.%d" % sys.version_info[:2],
        "cwd": os.getcwd(),
    }
"""


def lambdaloop(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The real CLI, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "lambdaloop.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        timeout=600,
    )


def make_function(where: Path, requirements: str = ORJSON + "\n") -> Path:
    """A function folder as a user has it: code, requirements, and the clutter that must not ship."""
    project = where / "my-function"
    project.mkdir(parents=True)
    (project / "app.py").write_text(APP)
    (project / "requirements.txt").write_text(requirements)
    (project / "tests").mkdir()
    (project / "tests" / "test_app.py").write_text("def test_nothing():\n    pass\n")
    (project / "__pycache__").mkdir()
    (project / "__pycache__" / "app.cpython-311.pyc").write_bytes(b"stale bytecode from the developer's machine")
    (project / ".git").mkdir()
    (project / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (project / ".pytest_cache").mkdir()
    (project / ".pytest_cache" / "README.md").write_text("cache\n")
    (project / "lib").mkdir()
    (project / "lib" / "__init__.py").write_text("")
    (project / "lib" / "test").mkdir()  # a sub-package called "test" is code, not a test folder
    (project / "lib" / "test" / "__init__.py").write_text("VALUE = 1\n")
    return project


def build(project: Path, out: Path, arch: str, python: str, *extra: str) -> subprocess.CompletedProcess[str]:
    result = lambdaloop("package", str(project), "--arch", arch, "--python", python, "--out", str(out), *extra)
    return result


@pytest.fixture(scope="session")
def function_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_function(tmp_path_factory.mktemp("function"))


@pytest.fixture(scope="session")
def zips(tmp_path_factory: pytest.TempPathFactory, function_dir: Path) -> dict[str, Path]:
    """The function's zip for x86_64 and arm64, for this machine's Python (so it can run here)."""
    out = tmp_path_factory.mktemp("zips")
    built = {}
    for arch in ("x86_64", "arm64"):
        path = out / f"fn-{arch}.zip"
        result = build(function_dir, path, arch, HERE_PYTHON)
        assert result.returncode == 0, result.stderr
        built[arch] = path
    return built
