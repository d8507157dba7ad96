"""One run per (scenario, runtime), shared by every test that looks at it, started early.

Collection tells us which scenarios the selected tests need; they are all submitted to a
small pool as soon as the first test asks for a result, so runtimes run while earlier
results are being compared. Each scenario runs its two runtimes at the same time.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor

import pytest

from .runner import RunResult, Scenario, run_runtime

BOTH = ("awslambdaric", "lambdaloop")
_Key = tuple[str, str, tuple[tuple[str, str], ...]]


class ScenarioRuns:
    def __init__(self, prefetch: list[Scenario]) -> None:
        # Two scenarios at a time, two runtimes each: four processes on a 2-core machine,
        # most of them waiting on sockets.
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="conformance")
        self._futures: dict[_Key, Future[RunResult]] = {}
        self._scenarios: dict[str, Scenario] = {}
        self._prefetch = prefetch

    def _submit(
        self, runtime: str, scenario: Scenario, extra_env: Mapping[str, str] | None = None
    ) -> Future[RunResult]:
        known = self._scenarios.setdefault(scenario.id, scenario)
        assert known == scenario, f"two different scenarios are called {scenario.id!r}"
        key = (runtime, scenario.id, tuple(sorted((extra_env or {}).items())))
        if key not in self._futures:
            self._futures[key] = self._pool.submit(run_runtime, runtime, scenario, extra_env)
        return self._futures[key]

    def start_prefetch(self) -> None:
        for scenario in self._prefetch:
            for runtime in BOTH:
                self._submit(runtime, scenario)
        self._prefetch = []

    def one(self, runtime: str, scenario: Scenario, extra_env: Mapping[str, str] | None = None) -> RunResult:
        self.start_prefetch()
        result = self._submit(runtime, scenario, extra_env).result()
        assert not result.recorder_errors, f"the recorder failed: {result.recorder_errors}"
        return result

    def both(self, scenario: Scenario) -> tuple[RunResult, RunResult]:
        self.start_prefetch()
        futures = [self._submit(runtime, scenario) for runtime in BOTH]
        results = [future.result() for future in futures]
        for result in results:
            assert not result.recorder_errors, f"the recorder failed: {result.recorder_errors}"
        return results[0], results[1]

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    wanted: dict[str, Scenario] = {}
    for item in items:
        callspec = getattr(item, "callspec", None)
        for value in callspec.params.values() if callspec else ():
            if isinstance(value, Scenario):
                wanted.setdefault(value.id, value)
        for marker in item.iter_markers("scenarios"):
            for scenario in marker.args:
                wanted.setdefault(scenario.id, scenario)
    config.stash[_PREFETCH] = list(wanted.values())


_PREFETCH = pytest.StashKey[list[Scenario]]()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "scenarios(*scenarios): runtime runs a test reads (started early)")


@pytest.fixture(scope="session")
def runs(request: pytest.FixtureRequest) -> Iterator[ScenarioRuns]:
    cache = ScenarioRuns(request.config.stash.get(_PREFETCH, []))
    try:
        yield cache
    finally:
        cache.close()
