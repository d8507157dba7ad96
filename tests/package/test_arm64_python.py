"""arm64 executed end to end under qemu: an arm64 zip from `lambdaloop package` (orjson's
aarch64 build inside) invoked by the arm64 RIE, the lambdaloop runtime running on an arm64
Python 3.11 (Debian 12's, unpacked by debootstrap), all under qemu-aarch64 user emulation."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from .arm64_sysroot import PYTHON_VERSION, ensure_sysroot
from .conftest import build, lambdaloop, make_function
from .test_arm64_rie import STRICT, arm64_rie  # noqa: F401 (a fixture)
from .test_package_runs import unzip

APP = """import platform
import sys

import orjson


def handler(event, context):
    return {"machine": platform.machine(), "python": sys.version.split()[0], "orjson": orjson.__file__,
            "echo": orjson.loads(orjson.dumps(event))}
"""


def unavailable(reason: str) -> None:
    if STRICT:
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def arm64_python() -> Path:
    if os.geteuid() != 0 or not shutil.which("debootstrap"):
        unavailable("needs root and debootstrap to unpack an arm64 Debian root (.ci/run installs it)")
    try:
        return ensure_sysroot()
    except (RuntimeError, OSError) as exc:
        unavailable(f"no arm64 Debian root: {exc}")
    raise AssertionError("unreachable")


def test_an_arm64_zip_runs_on_arm64_python_under_the_arm64_rie(
    tmp_path: Path,
    arm64_python: Path,
    arm64_rie: Path,  # noqa: F811
) -> None:
    project = make_function(tmp_path)
    (project / "app.py").write_text(APP)
    out = tmp_path / "fn-arm64.zip"
    result = build(project, out, "arm64", PYTHON_VERSION)
    assert result.returncode == 0, result.stderr
    task_root = unzip(out, tmp_path / "task")
    qemu = shutil.which("qemu-aarch64-static") or shutil.which("qemu-aarch64")
    runtime_dir = Path(__file__).resolve().parents[2] / "runtime"
    runtime = tmp_path / "arm64-runtime"
    runtime.write_text(
        "#!/bin/sh\n"
        f'export PYTHONPATH="{runtime_dir}"\n'
        f'exec "{qemu}" -L "{arm64_python}" "{arm64_python}/usr/bin/python{PYTHON_VERSION}" -m lambdaloop "$@"\n'
    )
    runtime.chmod(0o755)
    result = lambdaloop(
        "invoke", "app.handler", "--task-root", str(task_root), "--event", '{"n": [1, 2]}',
        "--rie", str(arm64_rie), "--bootstrap", str(runtime), "--timeout", "120",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["machine"] == "aarch64"
    assert body["python"].startswith(PYTHON_VERSION)
    assert body["orjson"] == str(task_root / "orjson" / "__init__.py")
    assert body["echo"] == {"n": [1, 2]}
    assert "INIT REPORT(durationMs:" in result.stderr
