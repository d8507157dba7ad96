"""What `lambdaloop package` puts in the zip: the right wheels for each architecture, .pyc for
the target Python, the clutter left out, the same bytes every time."""

from __future__ import annotations

import importlib.util
import marshal
import os
import shutil
import struct
import zipfile
from pathlib import Path

from .conftest import HERE_PYTHON, build, make_function

EM_X86_64 = 62
EM_AARCH64 = 183


def elf_machine(data: bytes) -> int:
    assert data[:4] == b"\x7fELF", "not an ELF file"
    assert data[5] == 1, "expected a little-endian ELF"
    return struct.unpack_from("<H", data, 18)[0]


def native_modules(zip_path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(zip_path) as zf:
        return {name: zf.read(name) for name in zf.namelist() if name.endswith(".so")}


def test_each_architecture_gets_its_own_native_wheel(zips: dict[str, Path]) -> None:
    tag = "cpython-" + HERE_PYTHON.replace(".", "")
    for arch, machine, expected in (("x86_64", "x86_64", EM_X86_64), ("arm64", "aarch64", EM_AARCH64)):
        modules = native_modules(zips[arch])
        assert list(modules) == [f"orjson/orjson.{tag}-{machine}-linux-gnu.so"], arch
        (data,) = modules.values()
        assert elf_machine(data) == expected, arch


def test_two_builds_are_byte_identical(tmp_path: Path, function_dir: Path, zips: dict[str, Path]) -> None:
    # A copy of the project with every mtime moved: timestamps must not leak into the zip.
    copy = tmp_path / "my-function"
    shutil.copytree(function_dir, copy, symlinks=True)
    for path in copy.rglob("*"):
        os.utime(path, (1_700_000_000, 1_700_000_000))
    again = tmp_path / "again.zip"
    result = build(copy, again, "arm64", HERE_PYTHON)
    assert result.returncode == 0, result.stderr
    assert again.read_bytes() == zips["arm64"].read_bytes()


def test_entries_are_sorted_with_fixed_times_and_modes(zips: dict[str, Path]) -> None:
    with zipfile.ZipFile(zips["x86_64"]) as zf:
        infos = zf.infolist()
    names = [info.filename for info in infos]
    assert names == sorted(names)
    assert {info.date_time for info in infos} == {(1980, 1, 1, 0, 0, 0)}
    modes = {info.filename: (info.external_attr >> 16) & 0o777 for info in infos}
    assert modes["app.py"] == 0o644
    assert all(mode == 0o755 for name, mode in modes.items() if name.endswith((".so", "/")))


def test_clutter_is_dropped_and_code_is_kept(zips: dict[str, Path]) -> None:
    with zipfile.ZipFile(zips["x86_64"]) as zf:
        names = set(zf.namelist())
    assert {"app.py", "requirements.txt", "lib/__init__.py", "lib/test/__init__.py", "orjson/__init__.py"} <= names
    for dropped in ("tests/", ".git/", ".pytest_cache/", "bin/"):
        assert not any(name.startswith(dropped) for name in names), dropped
    assert not any(name.endswith(("REQUESTED", "direct_url.json")) for name in names)
    # The developer's stale .pyc is gone; the one in the zip is freshly compiled (below).
    with zipfile.ZipFile(zips["x86_64"]) as zf:
        assert b"stale bytecode" not in zf.read(f"__pycache__/app.cpython-{HERE_PYTHON.replace('.', '')}.pyc")


def test_pyc_are_unchecked_hash_for_the_target_with_lambda_paths(zips: dict[str, Path]) -> None:
    tag = HERE_PYTHON.replace(".", "")
    with zipfile.ZipFile(zips["arm64"]) as zf:
        pycs = [name for name in zf.namelist() if name.endswith(".pyc")]
        data = zf.read(f"__pycache__/app.cpython-{tag}.pyc")
    assert f"orjson/__pycache__/__init__.cpython-{tag}.pyc" in pycs
    assert f"lib/test/__pycache__/__init__.cpython-{tag}.pyc" in pycs
    assert data[:4] == importlib.util.MAGIC_NUMBER
    flags = struct.unpack_from("<I", data, 4)[0]
    assert flags == 0b01, "hash-based (bit 0), not checked against the source (bit 1 clear)"
    code = marshal.loads(data[16:])
    assert code.co_filename == "/var/task/app.py"


def test_report_names_sizes_limits_packages_and_drops(
    zips: dict[str, Path], function_dir: Path, tmp_path: Path
) -> None:
    result = build(function_dir, tmp_path / "r.zip", "x86_64", HERE_PYTHON)
    assert result.returncode == 0, result.stderr
    report = result.stdout
    assert "of the 50 MiB direct upload limit" in report
    assert "of the 250 MiB limit" in report
    assert "orjson" in report.split("largest:")[1]
    assert f"Python {HERE_PYTHON}, unchecked-hash" in report
    dropped = report.split("dropped")[1]
    for reason in ("tests (", "version control (", "caches ("):
        assert reason in dropped, reason
    assert "Traceback" not in result.stderr
    # Progress lines only, each one saying what it does.
    assert all(line.startswith("lambdaloop package: ") for line in result.stderr.splitlines())


def test_pyproject_dependencies_when_there_is_no_requirements_txt(tmp_path: Path) -> None:
    project = make_function(tmp_path)
    (project / "requirements.txt").unlink()
    (project / "pyproject.toml").write_text(
        '[project]\nname = "fn"\nversion = "1"\ndependencies = ["orjson==3.13.0"]\n'
    )
    out = tmp_path / "fn.zip"
    result = build(project, out, "arm64", HERE_PYTHON)
    assert result.returncode == 0, result.stderr
    assert "requirements  pyproject.toml" in result.stdout
    (so,) = native_modules(out).values()
    assert elf_machine(so) == EM_AARCH64


def test_no_interpreter_for_the_target_says_so_and_ships_sources(tmp_path: Path) -> None:
    project = make_function(tmp_path, requirements="")
    out = tmp_path / "fn.zip"
    # An empty PATH and PYENV_ROOT: no Python 3.10 to be found (unless it is the one running).
    target = "3.13" if HERE_PYTHON == "3.10" else "3.10"
    from .conftest import lambdaloop

    result = lambdaloop(
        "package", str(project), "--arch", "x86_64", "--python", target, "--out", str(out),
        env={"PATH": "/nonexistent", "PYENV_ROOT": str(tmp_path / "no-pyenv")},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert f"none: no Python {target} interpreter found here" in result.stdout
    assert f"warning: no Python {target} interpreter here" in result.stdout
    with zipfile.ZipFile(out) as zf:
        assert not [name for name in zf.namelist() if name.endswith(".pyc")]
