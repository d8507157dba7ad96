"""Fixtures for the integration tests over the real RIE.

LAMBDALOOP_IT_RUNTIME selects the runtime under test (default ``bootstrap``, i.e.
/work/main/bootstrap; ``module`` runs ``python -m lambdaloop HANDLER``; ``awslambdaric`` runs
the reference runtime, to validate the harness and the expectations themselves). Tests of
lambdaloop-only behaviour carry the ``lambdaloop_only`` marker and are skipped in that mode.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest

# The harness is a plain module next to this file; make it importable under any --import-mode.
_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from rieharness import RUNTIMES, RiePool, RieServer  # noqa: E402

# The functions directory holds handler modules, not tests.
collect_ignore = ["functions"]


def selected_runtime() -> str:
    runtime = os.environ.get("LAMBDALOOP_IT_RUNTIME", "bootstrap")
    if runtime not in RUNTIMES:
        raise pytest.UsageError(f"LAMBDALOOP_IT_RUNTIME={runtime!r}; expected one of {RUNTIMES}")
    return runtime


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "lambdaloop_only: behaviour lambdaloop adds over awslambdaric")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if selected_runtime() != "awslambdaric":
        return
    skip = pytest.mark.skip(reason="lambdaloop-only behaviour; LAMBDALOOP_IT_RUNTIME=awslambdaric")
    for item in items:
        if item.get_closest_marker("lambdaloop_only"):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def runtime() -> str:
    """The runtime flavour under test."""
    return selected_runtime()


def _finish(pool: RiePool) -> None:
    problems = pool.stop_all()
    assert not problems, "processes left behind:\n" + "\n".join(problems)


@pytest.fixture(scope="module")
def rie_pool(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RiePool]:
    """RIEs shared by the tests of one module (one per runtime/handler/env); ended at module end."""
    pool = RiePool(tmp_path_factory.mktemp("rie"))
    yield pool
    _finish(pool)


@pytest.fixture
def rie_fresh(tmp_path: Path) -> Iterator[RiePool]:
    """RIEs for one test only (restarts, exits, timeouts): ended, and checked for leftovers, at test end."""
    pool = RiePool(tmp_path)
    yield pool
    _finish(pool)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, None, None]:
    outcome = yield
    report = outcome.get_result()
    if not report.failed:
        return
    # Attach the RIE's and the runtime's output (they share one log) of every server the test could use.
    funcargs = getattr(item, "funcargs", {})
    servers: list[RieServer] = []
    for value in funcargs.values():
        if isinstance(value, RiePool):
            servers.extend(value.servers)
        elif isinstance(value, RieServer):
            servers.append(value)
    for server in servers:
        text = server.output()
        if len(text) > 20000:
            text = "[... earlier output cut ...]\n" + text[-20000:]
        report.sections.append((f"RIE output {server.name} ({server.log_path})", text))
