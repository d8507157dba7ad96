"""The emulator assembled: two listening ports, one sandbox, one log sink.

``Emulator`` is the asyncio object; ``BackgroundEmulator`` runs one on its own event loop in
a thread, for synchronous callers (the CLI, the pytest plugin), and is a context manager
that always ends every process it started.
"""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

from lambdaloop.emulator.config import EmulatorConfig
from lambdaloop.emulator.invoke_api import InvokeApi
from lambdaloop.emulator.runtime_api import RuntimeApi
from lambdaloop.emulator.sandbox import Sandbox
from lambdaloop.emulator.server import Listener

Echo = Callable[[str, str], None]
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class LogLine:
    source: str  # "platform", "runtime" or an extension's name
    line: str


def print_to(stream_name: str) -> Echo:
    """An echo that prints lines to stdout or stderr (looked up at call time, so pytest's
    capture and CLI redirections see them)."""

    def echo(source: str, line: str) -> None:
        stream = sys.stdout if stream_name == "stdout" else sys.stderr
        # One write per line: print() writes the text and the newline separately, and a line
        # another thread prints (the CLI's own reports) could land between them.
        stream.write(line + "\n")
        stream.flush()

    return echo


class Emulator:
    def __init__(self, config: EmulatorConfig, echo: Echo | None = None) -> None:
        self.config = config
        self.logs: list[LogLine] = []
        self._echo = echo
        self.sandbox = Sandbox(config, self._sink)
        self._runtime_listener = Listener(RuntimeApi(self.sandbox).dispatch)
        self._invoke_listener = Listener(InvokeApi(self.sandbox).dispatch)
        self.runtime_port = 0
        self.invoke_port = 0

    def _sink(self, source: str, line: str) -> None:
        self.logs.append(LogLine(source, line))
        if source == "runtime":
            self.sandbox.hub.emit("function", line)
        elif source != "platform":
            self.sandbox.hub.emit("extension", line)
        if self._echo is not None:
            self._echo(source, line)

    @property
    def invoke_address(self) -> str:
        return f"{self.config.host}:{self.invoke_port}"

    @property
    def runtime_api(self) -> str:
        return f"{self.config.host}:{self.runtime_port}"

    async def start(self) -> None:
        config = self.config
        self.runtime_port = await self._runtime_listener.start(config.host, config.runtime_port)
        try:
            self.invoke_port = await self._invoke_listener.start(config.host, config.invoke_port)
        except OSError:
            await self._runtime_listener.close()
            raise
        self.sandbox.runtime_api = self.runtime_api
        self.sandbox.start()

    async def close(self) -> None:
        # Stop taking invokes, then shut the environment down while the Runtime API still
        # accepts connections: extensions open new ones to receive SHUTDOWN and report back.
        self._invoke_listener.stop_accepting()
        await self.sandbox.close()
        await self._invoke_listener.close()
        await self._runtime_listener.close()

    async def serve_forever(self) -> None:
        await self.start()
        try:
            await asyncio.Event().wait()
        finally:
            await self.close()


def new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop when it is installed (imported only here, when an emulator actually starts)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


class LoopThread:
    """An event loop running in a daemon thread, for synchronous callers."""

    def __init__(self, name: str) -> None:
        self.loop = new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def call(self, coroutine_factory: Callable[[], Coroutine[Any, Any, T]], timeout: float | None = None) -> T:
        """Run a coroutine on the loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coroutine_factory(), self.loop).result(timeout)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        if not self._thread.is_alive():
            self.loop.close()


class BackgroundEmulator:
    """An Emulator on a private event loop in a daemon thread."""

    def __init__(self, config: EmulatorConfig, echo: Echo | None = None) -> None:
        self.emulator = Emulator(config, echo)
        self._thread = LoopThread("lambdaloop-emulator")
        self._started = False

    @property
    def invoke_address(self) -> str:
        return self.emulator.invoke_address

    @property
    def logs(self) -> list[LogLine]:
        return self.emulator.logs

    @property
    def telemetry(self) -> list[dict[str, object]]:
        return self.emulator.sandbox.hub.records

    def start(self) -> BackgroundEmulator:
        self._thread.start()
        self._thread.call(self.emulator.start, 10)
        self._started = True
        return self

    def wait_idle(self, timeout: float = 30.0) -> None:
        self._thread.call(self.emulator.sandbox.wait_idle, timeout)

    def retire(self, timeout: float = 30.0) -> None:
        """End the current environment once idle; the next invoke starts a new one (with
        SnapStart, a new restore of the same snapshot)."""
        self._thread.call(self.emulator.sandbox.retire, timeout)

    @property
    def uniqueness_warnings(self) -> list[str]:
        """SnapStart: what restores of the snapshot were found to share (see uniqueness.py)."""
        return self.emulator.sandbox.uniqueness_warnings

    def close(self) -> None:
        if not self._thread.running:
            return
        try:
            if self._started:
                self._thread.call(self.emulator.close, 30)
        finally:
            self._thread.stop()

    def __enter__(self) -> BackgroundEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
