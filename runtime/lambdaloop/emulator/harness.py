"""A function under test: a handler running in the real lambdaloop loop on the emulator,
driven synchronously. The pytest plugin's ``lambda_function`` fixture hands these out; any
script can use it too::

    with LocalFunction.start("app.handler", task_root="src") as fn:
        assert fn.invoke({"x": 1}) == {"ok": True}
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from lambdaloop.emulator import client
from lambdaloop.emulator.app import BackgroundEmulator, Echo, LogLine
from lambdaloop.emulator.config import EmulatorConfig


class InvokeError(Exception):
    """The function failed: ``error_type`` and the error document (``error``, parsed JSON
    when it is JSON) say how."""

    def __init__(self, error_type: str, body: bytes) -> None:
        self.error_type = error_type
        self.body = body
        try:
            self.error: Any = json.loads(body)
        except ValueError:
            self.error = body.decode("utf-8", "replace")
        message = self.error.get("errorMessage", "") if isinstance(self.error, dict) else self.error
        super().__init__(f"{error_type}: {message}")


def encode_event(event: Any) -> bytes:
    if isinstance(event, bytes | bytearray):
        return bytes(event)
    return json.dumps(event).encode()


def _error_type(result: client.InvokeResult, body: bytes) -> str:
    try:
        doc = json.loads(body)
    except ValueError:
        doc = None
    if isinstance(doc, dict) and isinstance(doc.get("errorType"), str):
        return doc["errorType"]
    return result.function_error or "Unhandled"


class LocalFunction:
    def __init__(self, config: EmulatorConfig, echo: Echo | None = None) -> None:
        self.config = config
        self._emulator = BackgroundEmulator(config, echo)

    @classmethod
    def start(
        cls,
        handler: str,
        *,
        task_root: str | None = None,
        timeout: float = 30.0,
        env: dict[str, str] | None = None,
        command: list[str] | None = None,
        extensions_dir: str | None = None,
        memory_mb: int = 3008,
        function_name: str = "test_function",
        snapstart: bool = False,
        echo: Echo | None = None,
    ) -> LocalFunction:
        """``snapstart``: init once and restore each new environment from that snapshot
        (see ``new_environment`` and ``uniqueness_warnings``)."""
        config = EmulatorConfig(
            handler=handler,
            command=command,
            env=dict(env or {}),
            timeout_s=timeout,
            extensions_dir=extensions_dir,
            memory_mb=memory_mb,
            function_name=function_name,
            snapstart=snapstart,
        )
        if task_root is not None:
            config.task_root = str(task_root)
        function = cls(config, echo)
        function._emulator.start()
        return function

    @property
    def address(self) -> str:
        """host:port of the invoke API, for tests that want to speak HTTP themselves."""
        return self._emulator.invoke_address

    def invoke_raw(self, event: Any = None, headers: dict[str, str] | None = None) -> client.InvokeResult:
        result = client.invoke(self.address, encode_event({} if event is None else event), headers)
        self._emulator.wait_idle()
        return result

    def invoke(self, event: Any = None, headers: dict[str, str] | None = None) -> Any:
        """The handler's result, decoded from JSON (raw bytes if it is not JSON). Raises
        InvokeError when the function failed."""
        result = self.invoke_raw(event, headers)
        if result.function_error is not None:
            raise InvokeError(_error_type(result, result.body), result.body)
        try:
            return json.loads(result.body)
        except ValueError:
            return result.body

    def invoke_stream(self, event: Any = None, headers: dict[str, str] | None = None) -> Iterator[bytes]:
        """The response's chunks as the runtime sends them; raises InvokeError at the end if
        the function failed (mid-stream errors arrive as trailers)."""
        stream = client.invoke_stream(self.address, encode_event({} if event is None else event), headers)
        try:
            if stream.result.headers.get("x-amz-function-error"):
                body = b"".join(stream.chunks())
                raise InvokeError(_error_type(stream.result, body), body)
            yield from stream.chunks()
        finally:
            stream.close()
        error_type = stream.result.trailers.get("lambda-runtime-function-error-type")
        if error_type:
            raise InvokeError(error_type, stream.result.error_body or b"")
        self._emulator.wait_idle()

    def new_environment(self) -> None:
        """End the current execution environment: the next invoke starts a new one (with
        ``snapstart``, a new restore of the same snapshot), as Lambda scaling out would."""
        self._emulator.retire()

    @property
    def uniqueness_warnings(self) -> list[str]:
        """With ``snapstart``: state found the same in two restores that should differ per
        environment (a random generator seeded at init, a uuid4, a connection, credentials)."""
        return list(self._emulator.uniqueness_warnings)

    @property
    def log_lines(self) -> list[LogLine]:
        return list(self._emulator.logs)

    @property
    def logs(self) -> list[str]:
        """What the runtime wrote to stdout and stderr, line by line."""
        return [entry.line for entry in self._emulator.logs if entry.source == "runtime"]

    @property
    def platform_lines(self) -> list[str]:
        """START / END / REPORT and INIT_REPORT lines."""
        return [entry.line for entry in self._emulator.logs if entry.source == "platform"]

    @property
    def telemetry(self) -> list[dict[str, Any]]:
        """Every Telemetry API record emitted so far (``{"time", "type", "record"}``)."""
        return list(self._emulator.telemetry)

    def close(self) -> None:
        self._emulator.close()

    def __enter__(self) -> LocalFunction:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
