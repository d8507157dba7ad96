"""Fixtures for the packaging tests: the RIE, the layer built once per session, interpreters."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from types import ModuleType

import pytest
from lambda_sandbox import NOT_ROOT, ROOT, STRICT, can_unshare, load_build_module, unavailable


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "slow: builds container images with podman, runs SAM CLI (minutes); "
        "run with LAMBDALOOP_SLOW_TESTS=1 (always on with CI=true)",
    )


def slow_tests_enabled() -> bool:
    # A developer's quick run leaves the image and SAM tests out; CI runs them (CI=true), unless
    # LAMBDALOOP_SLOW_TESTS=0 says otherwise explicitly.
    wanted = os.environ.get("LAMBDALOOP_SLOW_TESTS")
    return wanted == "1" or (STRICT and wanted != "0")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if slow_tests_enabled():
        return
    skip = pytest.mark.skip(reason="slow (container images, SAM CLI); set LAMBDALOOP_SLOW_TESTS=1 to run")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def namespace() -> None:
    """Tests that build a Lambda-like root with `unshare -m` (root): skipped without, failed in CI."""
    if not can_unshare():
        unavailable(NOT_ROOT)


@pytest.fixture(scope="session")
def layer_build() -> ModuleType:
    return load_build_module()


@pytest.fixture(scope="session")
def rie() -> Path:
    from lambdaloop.rie import RieUnavailable, ensure_rie

    try:
        return ensure_rie()
    except RieUnavailable as exc:
        unavailable(f"no RIE: {exc}")


@pytest.fixture(scope="session")
def host_arch() -> str:
    from lambdaloop.rie import machine_arch

    return machine_arch()


@pytest.fixture(scope="session")
def interpreters(layer_build: ModuleType) -> dict[str, str]:
    """Target versions with an interpreter on this machine, as real executables (not pyenv shims,
    which need the caller's environment): these play AWS's /var/lang/bin/python3.X."""
    found: dict[str, str] = {}
    for version in layer_build.PYTHONS:
        path = layer_build.find_interpreter(version, {})
        if path:
            real = subprocess.run([path, "-c", "import sys; print(sys.executable)"], capture_output=True, text=True)
            found[version] = real.stdout.strip()
    return found


@pytest.fixture(scope="session")
def frozen_sources(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A copy of runtime/lambdaloop and bootstrap taken once: others edit the tree while tests run,
    and a reproducibility check must compare builds of the same inputs."""
    where = tmp_path_factory.mktemp("sources")
    shutil.copytree(ROOT / "runtime" / "lambdaloop", where / "lambdaloop", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(ROOT / "bootstrap", where / "bootstrap")
    return where / "lambdaloop", where / "bootstrap"


@pytest.fixture(scope="session")
def layer_dir(
    tmp_path_factory: pytest.TempPathFactory, layer_build: ModuleType, host_arch: str, frozen_sources: tuple[Path, Path]
) -> Path:
    """The layer for this machine's architecture, every Python version, built as release builds are."""
    out = tmp_path_factory.mktemp("layer")
    package, bootstrap = frozen_sources
    layer_build.build(out, [host_arch], list(layer_build.PYTHONS), {}, package=package, bootstrap=bootstrap)
    return out


@pytest.fixture(scope="session")
def layer_zip(layer_dir: Path, host_arch: str) -> Path:
    (zip_path,) = layer_dir.glob(f"lambdaloop-layer-*-{host_arch}.zip")
    return zip_path
