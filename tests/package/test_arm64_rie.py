"""The arm64 RIE (from the same pinned aws-sam-cli wheel) executed under qemu-aarch64 user
emulation: it starts lambdaloop and serves an invoke of a packaged function. A first step of
arm64 executed here: the runtime and the function still run on this machine's x86_64 Python
(an arm64 Python sysroot under qemu is not set up yet). No binfmt_misc needed: qemu is named."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from .conftest import lambdaloop
from .test_package_runs import EVENT, unzip

STRICT = os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


@pytest.fixture(scope="session")
def arm64_rie(tmp_path_factory: pytest.TempPathFactory) -> Path:
    qemu = shutil.which("qemu-aarch64-static") or shutil.which("qemu-aarch64")
    if qemu is None:
        reason = "no qemu-aarch64-static (Debian: qemu-user-static; .ci/run installs it)"
        if STRICT:
            pytest.fail(reason)
        pytest.skip(reason)
    from lambdaloop.rie import ensure_rie

    binary = ensure_rie("arm64")
    wrapper = tmp_path_factory.mktemp("rie-arm64") / "aws-lambda-rie-arm64"
    wrapper.write_text(f'#!/bin/sh\nexec "{qemu}" "{binary}" "$@"\n')
    wrapper.chmod(0o755)
    return wrapper


def test_the_arm64_rie_under_qemu_serves_a_packaged_function(
    tmp_path: Path, zips: dict[str, Path], arm64_rie: Path
) -> None:
    task_root = unzip(zips["x86_64"], tmp_path / "task")
    result = lambdaloop(
        "invoke", "app.handler", "--task-root", str(task_root), "--event", EVENT, "--rie", str(arm64_rie)
    )
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["echo"] == {"n": [1, 2, 3], "s": "\u00e9"}
    assert body["orjson"] == str(task_root / "orjson" / "__init__.py")
    assert "INIT REPORT(durationMs:" in result.stderr, "the RIE's own log: it was the RIE that ran"
