"""Fixtures: the runtime as a real ``python -m lambdaloop`` subprocess against a fake
Runtime API; every process and server is ended at teardown, whatever the test did."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from runtime_process import RuntimeProcess as SharedRuntimeProcess  # tests/runtime_process.py

from .fakeapi import StreamingFakeAPI

FUNCTIONS = Path(__file__).parent / "functions"


class RuntimeProcess(SharedRuntimeProcess):
    """The runtime with this directory's handlers as its task root."""

    def __init__(self, address: str, handler: str, env: dict[str, str] | None = None) -> None:
        super().__init__(address, handler, FUNCTIONS, env)


@pytest.fixture
def start() -> Iterator[Callable[..., tuple[StreamingFakeAPI, RuntimeProcess]]]:
    started: list[tuple[StreamingFakeAPI, RuntimeProcess]] = []

    def _start(
        events: list[tuple[dict[str, str], bytes]], handler: str, env: dict[str, str] | None = None, **api: Any
    ) -> tuple[StreamingFakeAPI, RuntimeProcess]:
        fake = StreamingFakeAPI(events, **api)
        runtime = RuntimeProcess(fake.address, handler, env)
        started.append((fake, runtime))
        return fake, runtime

    yield _start
    for fake, runtime in started:
        runtime.stop()
        fake.close()
