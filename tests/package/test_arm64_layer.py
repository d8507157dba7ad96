"""The arm64 layer zip (``layer/build.py --arch arm64``) executed: unzipped as /opt would be,
its ``bootstrap`` run by the arm64 RIE, on an arm64 Python 3.11, all under qemu-aarch64 user
emulation; the function imports orjson from the layer's own aarch64 build."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from .arm64_sysroot import PYTHON_VERSION
from .conftest import lambdaloop
from .test_arm64_python import arm64_python  # noqa: F401 (a fixture)
from .test_arm64_rie import arm64_rie  # noqa: F401 (a fixture)

ROOT = Path(__file__).resolve().parents[2]
APP = """import platform

import lambdaloop
import orjson


def handler(event, context):
    return {"machine": platform.machine(), "orjson": orjson.__file__, "lambdaloop": lambdaloop.__file__}
"""


def test_the_arm64_layer_runs_under_the_arm64_rie(
    tmp_path: Path,
    arm64_python: Path,  # noqa: F811
    arm64_rie: Path,  # noqa: F811
) -> None:
    built = subprocess.run(
        [sys.executable, str(ROOT / "layer" / "build.py"), "--out", str(tmp_path / "dist"), "--arch", "arm64",
         "--python", PYTHON_VERSION],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    (layer_zip,) = (tmp_path / "dist").glob("lambdaloop-layer-*-arm64.zip")
    opt = tmp_path / "opt"
    with zipfile.ZipFile(layer_zip) as archive:
        archive.extractall(opt)
    for member in ("bootstrap",):  # zipfile drops the mode bits
        (opt / member).chmod(0o755)
    task = tmp_path / "task"
    task.mkdir()
    (task / "app.py").write_text(APP)
    qemu = shutil.which("qemu-aarch64-static") or shutil.which("qemu-aarch64")
    python = tmp_path / "python3-arm64"
    interpreter = f"{arm64_python}/usr/bin/python{PYTHON_VERSION}"
    python.write_text(f'#!/bin/sh\nexec "{qemu}" -L "{arm64_python}" "{interpreter}" "$@"\n')
    python.chmod(0o755)
    result = lambdaloop(
        "invoke", "app.handler", "--task-root", str(task), "--rie", str(arm64_rie),
        "--bootstrap", str(opt / "bootstrap"), "--env", f"LAMBDALOOP_PYTHON={python}", "--timeout", "120",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["machine"] == "aarch64"
    layer_deps = opt / "python" / "lib" / f"python{PYTHON_VERSION}" / "site-packages"
    assert body["orjson"] == str(layer_deps / "orjson" / "__init__.py")  # the layer's aarch64 build
    assert body["lambdaloop"] == str(opt / "python" / "lambdaloop" / "__init__.py")
    assert "INIT REPORT(durationMs:" in result.stderr
