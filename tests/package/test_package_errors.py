"""Bad input to `lambdaloop package`: one clear message, a non-zero exit, no traceback, and no
zip (a previous zip at --out is left as it was, and no partial file is left beside it)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import HERE_PYTHON, ORJSON, build, lambdaloop, make_function

PREVIOUS = b"the zip of the last good build"


def failed_cleanly(result: object, out: Path) -> str:
    assert result.returncode == 1, (result.stdout, result.stderr)  # type: ignore[attr-defined]
    stderr: str = result.stderr  # type: ignore[attr-defined]
    assert "Traceback" not in stderr
    assert out.read_bytes() == PREVIOUS, "the previous zip must be untouched"
    assert sorted(p.name for p in out.parent.iterdir()) == [out.name], "a partial file was left behind"
    return stderr


@pytest.fixture
def out(tmp_path: Path) -> Path:
    where = tmp_path / "out"
    where.mkdir()
    path = where / "fn.zip"
    path.write_bytes(PREVIOUS)
    return path


def test_a_source_only_requirement_has_no_wheel_for_the_target(tmp_path: Path, out: Path) -> None:
    # docopt 0.6.2 exists on PyPI only as a source distribution.
    project = make_function(tmp_path, requirements="docopt==0.6.2\n")
    stderr = failed_cleanly(build(project, out, "arm64", HERE_PYTHON), out)
    assert f"no wheel of docopt==0.6.2 for Python {HERE_PYTHON} on arm64" in stderr


def test_a_requirement_with_no_build_for_that_python(tmp_path: Path, out: Path) -> None:
    # orjson 3.9.0 (2023) predates Python 3.13: no cp313 wheel, and binary-only forbids building one.
    project = make_function(tmp_path, requirements="orjson==3.9.0\n")
    stderr = failed_cleanly(build(project, out, "x86_64", "3.13"), out)
    assert "no wheel of orjson==3.9.0 for Python 3.13 on x86_64" in stderr


def test_a_hash_that_does_not_match(tmp_path: Path, out: Path) -> None:
    project = make_function(tmp_path, requirements=f"orjson==3.13.0 --hash=sha256:{'0' * 64}\n")
    stderr = failed_cleanly(build(project, out, "x86_64", HERE_PYTHON), out)
    assert "does not match the hash in requirements.txt" in stderr


def orjson_hash(tmp_path: Path) -> str:
    """The sha256 of the x86_64 orjson wheel for this Python, as a lock file would carry it."""
    from lambdaloop.package.targets import parse_target
    from lambdaloop.package.wheels import pip_target_args

    where = tmp_path / "wheel"
    cmd = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", str(where), ORJSON]
    subprocess.run([*cmd, *pip_target_args(parse_target("x86_64", HERE_PYTHON))], check=True, capture_output=True)
    (wheel,) = where.glob("*.whl")
    return hashlib.sha256(wheel.read_bytes()).hexdigest()


def test_hashes_are_required_for_every_requirement_once_one_has_them(tmp_path: Path, out: Path) -> None:
    digest = orjson_hash(tmp_path)
    project = make_function(tmp_path, requirements=f"{ORJSON} --hash=sha256:{digest}\nsimplejson\n")
    stderr = failed_cleanly(build(project, out, "x86_64", HERE_PYTHON), out)
    assert "carries hashes, so every requirement (dependencies too) needs a pinned version and a hash" in stderr
    # With the hash alone, the same file builds.
    (project / "requirements.txt").write_text(f"{ORJSON} --hash=sha256:{digest}\n")
    result = build(project, out, "x86_64", HERE_PYTHON)
    assert result.returncode == 0, result.stderr
    assert "requirements  requirements.txt (hashes enforced)" in result.stdout


@pytest.mark.parametrize(
    ("arch", "python", "message"),
    [
        ("aarch64", "3.12", "unknown architecture 'aarch64': Lambda runs x86_64 and arm64"),
        ("amd64", "3.12", "unknown architecture 'amd64'"),
        ("x86_64", "3.9", "unknown Python '3.9': Lambda's Python runtimes are 3.10, 3.11, 3.12, 3.13, 3.14"),
        ("arm64", "3.15", "unknown Python '3.15'"),
        ("arm64", "python3.12", "unknown Python 'python3.12'"),
    ],
)
def test_unknown_architecture_or_python(tmp_path: Path, out: Path, arch: str, python: str, message: str) -> None:
    project = make_function(tmp_path, requirements="")
    stderr = failed_cleanly(build(project, out, arch, python), out)
    assert stderr.strip() == f"lambdaloop package: {message}" or message in stderr


def test_over_lambdas_unzipped_limit_fails_before_writing(tmp_path: Path, out: Path) -> None:
    project = make_function(tmp_path, requirements="")
    with open(project / "model.bin", "wb") as f:  # sparse: 251 MiB that cost no disk
        f.truncate(251 * 1024 * 1024)
    stderr = failed_cleanly(build(project, out, "x86_64", HERE_PYTHON, "--no-pyc"), out)
    assert "over Lambda's 250 MiB limit" in stderr
    assert "no zip written" in stderr
    assert "model.bin 251.00 MiB" in stderr


def test_missing_project_folder(tmp_path: Path, out: Path) -> None:
    stderr = failed_cleanly(build(tmp_path / "nowhere", out, "x86_64", HERE_PYTHON), out)
    assert "is not a folder" in stderr


def test_a_pyproject_that_is_not_toml(tmp_path: Path, out: Path) -> None:
    project = make_function(tmp_path)
    (project / "requirements.txt").unlink()
    (project / "pyproject.toml").write_text("[project\ndependencies = [")
    stderr = failed_cleanly(build(project, out, "x86_64", HERE_PYTHON), out)
    assert "pyproject.toml is not valid TOML" in stderr


def test_a_zip_inside_the_project_is_not_packaged_into_itself(tmp_path: Path) -> None:
    project = make_function(tmp_path, requirements="")
    out = project / "function.zip"
    for _ in range(2):
        result = lambdaloop("package", str(project), "--arch", "arm64", "--python", HERE_PYTHON, "--out", str(out))
        assert result.returncode == 0, result.stderr
    import zipfile

    with zipfile.ZipFile(out) as zf:
        assert "function.zip" not in zf.namelist()
    assert not [p for p in os.listdir(project) if p.endswith(".part")]
