"""pytest plugin: run Lambda handlers through the real lambdaloop loop on the local emulator.

    def test_hello(lambda_function):
        fn = lambda_function("examples/hello.handler")
        assert fn.invoke({"rawPath": "/x"})["statusCode"] == 200
        assert any(line.startswith("REPORT") for line in fn.platform_lines)

``lambda_function(handler, **options)`` starts one execution environment per call (options:
``task_root``, ``timeout``, ``env``, ``command``, ``extensions_dir``, ``memory_mb``,
``function_name``) and returns a ``LocalFunction`` with ``invoke``, ``invoke_stream``,
``invoke_raw``, ``logs``, ``platform_lines`` and ``telemetry``. Every process is ended when
the test finishes, pass or fail.

pytest imports this module in every session of every project that has lambdaloop
installed, so it imports nothing beyond pytest itself: the emulator (asyncio, uvloop)
loads when a test first asks for the fixture.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from lambdaloop.emulator.harness import LocalFunction


@pytest.fixture
def lambda_function(request: pytest.FixtureRequest) -> Iterator[Callable[..., LocalFunction]]:
    from lambdaloop.emulator.harness import LocalFunction

    started: list[LocalFunction] = []
    default_root = str(request.config.rootpath)

    def start(handler: str, **options: Any) -> LocalFunction:
        options.setdefault("task_root", default_root)
        function = LocalFunction.start(handler, **options)
        started.append(function)
        return function

    try:
        yield start
    finally:
        for function in reversed(started):
            function.close()
