"""The zip runs: unzipped as Lambda does, its handler invoked through lambdaloop's loop on the
built-in emulator and through AWS's RIE, importing its native dependency from the zip (not from
the test's virtualenv, which has orjson too)."""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import pytest
from procs import unzip  # tests/procs.py

from .conftest import HERE_PYTHON, build, lambdaloop, make_function

EVENT = '{"n": [1, 2, 3], "s": "\\u00e9"}'


def invoked(result: object) -> dict[str, object]:
    assert result.returncode == 0, result.stderr  # type: ignore[attr-defined]
    return json.loads(result.stdout)  # type: ignore[attr-defined,no-any-return]


@pytest.fixture(scope="session")
def rie_path() -> str:
    from lambdaloop.rie import RieUnavailable, ensure_rie

    try:
        return str(ensure_rie())
    except RieUnavailable as exc:  # ./dev test fetches it; only an offline developer has none
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"no RIE: {exc}")
        pytest.skip(f"no RIE: {exc}")


@pytest.mark.parametrize("backend", ["emulator", "rie"])
def test_the_zip_runs_and_imports_its_own_wheel(
    tmp_path: Path, zips: dict[str, Path], backend: str, rie_path: str
) -> None:
    task_root = unzip(zips["x86_64"], tmp_path / "task")
    args = ["invoke", "app.handler", "--task-root", str(task_root), "--event", EVENT]
    if backend == "rie":
        args += ["--rie", rie_path]
    body = invoked(lambdaloop(*args))
    assert body["echo"] == {"n": [1, 2, 3], "s": "\u00e9"}
    assert body["orjson"] == str(task_root / "orjson" / "__init__.py")
    assert body["app"] == str(task_root / "app.py")
    # The .pyc from the zip is the one Python found (not one it would have to write).
    assert body["app_cached"] == str(task_root / "__pycache__" / f"app.cpython-{HERE_PYTHON.replace('.', '')}.pyc")


def test_with_runtime_the_zip_runs_without_lambdaloop_installed(tmp_path: Path, rie_path: str) -> None:
    """--with-runtime: the zip's own bootstrap and lambdaloop serve the invoke (provided.al2023)."""
    project = make_function(tmp_path)
    out = tmp_path / "fn.zip"
    result = build(project, out, "x86_64", HERE_PYTHON, "--with-runtime")
    assert result.returncode == 0, result.stderr
    with zipfile.ZipFile(out) as zf:
        names = set(zf.namelist())
        bootstrap_mode = (zf.getinfo("bootstrap").external_attr >> 16) & 0o777
    assert bootstrap_mode == 0o755
    assert {"lambdaloop/__init__.py", "lambdaloop/loop.py", "lambdaloop/bootstrap.py"} <= names
    assert not names & {"lambdaloop/cli.py", "lambdaloop/rie.py", "lambdaloop/package/__init__.py"}
    assert not any(name.startswith(("lambdaloop/emulator/", "lambdaloop/profile/")) for name in names)
    task_root = unzip(out, tmp_path / "task")
    body = invoked(
        lambdaloop(
            "invoke",
            "app.handler",
            "--task-root",
            str(task_root),
            "--event",
            EVENT,
            "--rie",
            rie_path,
            "--bootstrap",
            str(task_root / "bootstrap"),
        )
    )
    assert body["lambdaloop"] == str(task_root / "lambdaloop" / "__init__.py")
    assert body["orjson"] == str(task_root / "orjson" / "__init__.py")
