"""Drive a whole durable execution on this machine: ``lambdaloop invoke HANDLER --durable``.

A durable function (AWS's ``aws-durable-execution-sdk-python``) is not invoked once: the
durable execution service invokes it, the SDK checkpoints each step and wait through the
Lambda API (``CheckpointDurableExecution``, ``GetDurableExecutionState``), and when the
handler suspends (a wait, a retry delay) the service invokes it again later with the
operations so far, and the handler replays to where it stopped. Locally, AWS's testing
package (``aws-durable-execution-sdk-python-testing``) plays that service: its
``dex-local-runner`` is a web server that takes the checkpoints and, for each invocation,
calls a Lambda invoke endpoint. Here that endpoint is lambdaloop's emulator, so every
invocation runs through the real runtime loop, and the function's SDK is pointed at the
service with ``AWS_ENDPOINT_URL_LAMBDA``.

Everything runs on 127.0.0.1; nothing reaches AWS. The service runs in its own process, with
fake credentials of its own (it signs its invokes of the emulator, which ignores signatures).
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any

SDK = "aws_durable_execution_sdk_python"
SERVICE_PACKAGE = "aws_durable_execution_sdk_python_testing"
SERVICE_PIP_NAME = "aws-durable-execution-sdk-python-testing"
API = "/2025-12-01/durable-executions"
REGION = "us-east-1"
ACCOUNT = "123456789012"
# The emulator serves one function, under the RIE's fixed name in the invoke path.
FUNCTION_NAME = "function"
TERMINAL = frozenset({"SUCCEEDED", "FAILED", "TIMED_OUT", "STOPPED"})

# The service signs its invokes of the local endpoint; these keys never leave the machine.
_SERVICE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "AKIDLOCALDURABLE0000",
    "AWS_SECRET_ACCESS_KEY": "local-durable-service",
    "AWS_SESSION_TOKEN": "local",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",
}


class DurableError(Exception):
    """The local service could not be started or did not answer as expected."""


def missing_packages() -> list[str]:
    """The pip names of what ``--durable`` needs and this Python lacks."""
    wanted = {SDK: "aws-durable-execution-sdk-python", SERVICE_PACKAGE: SERVICE_PIP_NAME}
    return [pip_name for module, pip_name in wanted.items() if importlib.util.find_spec(module) is None]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class CheckpointService:
    """AWS's local durable execution service (``dex-local-runner start-server``) in a child
    process on 127.0.0.1, and a small client for the parts of its API a driver needs."""

    def __init__(self, *, skip_waits: bool = False, invocation_timeout_s: float = 900, python: str = sys.executable):
        self.skip_waits = skip_waits
        self.invocation_timeout_s = invocation_timeout_s
        self.python = python
        self.endpoint = ""
        self._process: subprocess.Popen[bytes] | None = None
        self._output: IO[bytes] | None = None

    def start(self, attempts: int = 5, ready_timeout_s: float = 30.0) -> CheckpointService:
        # The service takes a port number, not a bound socket: pick a free one, and try
        # another if something else took it before the service could.
        for _ in range(attempts):
            port = _free_port()
            if self._spawn(port, ready_timeout_s):
                self.endpoint = f"http://127.0.0.1:{port}"
                return self
        raise DurableError(f"the local durable service did not start: {self.output()[-2000:]}")

    def _spawn(self, port: int, ready_timeout_s: float) -> bool:
        self.close()
        if self._output is not None:
            self._output.close()
        # Lives as long as the service (it writes here until closed), so not a with-block.
        self._output = tempfile.TemporaryFile()  # noqa: SIM115
        command = [
            self.python, "-m", f"{SERVICE_PACKAGE}.cli", "start-server",
            "--host", "127.0.0.1", "--port", str(port), "--log-level", "WARNING",
            "--local-runner-region", REGION,
            # Every execution names its own endpoint (LambdaEndpoint); this default is unused.
            "--lambda-endpoint", "http://127.0.0.1:9",
            "--invocation-timeout", str(max(1, int(self.invocation_timeout_s + 0.999))),
            "--skip-time" if self.skip_waits else "--no-skip-time",
        ]  # fmt: skip
        env = {**os.environ, **_SERVICE_CREDENTIALS, "AWS_DEX_LOCAL_RUNNER_ENDPOINT": f"http://127.0.0.1:{port}"}
        self._process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=self._output, stderr=subprocess.STDOUT, env=env
        )
        deadline = time.monotonic() + ready_timeout_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                return False
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as answer,
            ):
                if answer.status == 200:
                    return True
            time.sleep(0.05)
        raise DurableError(f"the local durable service did not answer within {ready_timeout_s:g} s")

    def output(self) -> str:
        """What the service process wrote (its own warnings and errors)."""
        if self._output is None:
            return ""
        self._output.seek(0)
        return self._output.read().decode("utf-8", "replace")

    def function_env(self) -> dict[str, str]:
        """What the function's environment needs so its SDK checkpoints here."""
        return {"AWS_ENDPOINT_URL_LAMBDA": self.endpoint}

    # ---- the service's API ------------------------------------------------------------

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.endpoint + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                return json.loads(answer.read() or b"null")
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode("utf-8", "replace")
            raise DurableError(f"{method} {path}: HTTP {exc.code}: {detail}") from None

    def start_execution(
        self, function_address: str, payload: bytes, *, name: str | None = None, timeout_s: int = 900
    ) -> str:
        """Start an execution of the function served at ``function_address`` (host:port of
        an invoke API); returns its ARN."""
        answer = self._call(
            "POST",
            "/start-durable-execution",
            {
                "AccountId": ACCOUNT,
                "FunctionName": FUNCTION_NAME,
                "FunctionQualifier": "$LATEST",
                "ExecutionName": name or f"local-{uuid.uuid4()}",
                "ExecutionTimeoutSeconds": timeout_s,
                "ExecutionRetentionPeriodDays": 1,
                "InvocationId": str(uuid.uuid4()),
                "Input": payload.decode("utf-8"),
                "LambdaEndpoint": f"http://{function_address}",
            },
        )
        return str(answer["ExecutionArn"])

    def _path(self, arn: str, tail: str = "") -> str:
        return f"{API}/{urllib.parse.quote(arn, safe='')}{tail}"

    def execution(self, arn: str) -> dict[str, Any]:
        """``GetDurableExecution``: its status, and its result or error once it has ended."""
        return dict(self._call("GET", self._path(arn)))

    def history(self, arn: str) -> list[dict[str, Any]]:
        """``GetDurableExecutionHistory``, every page, with payloads."""
        events: list[dict[str, Any]] = []
        marker = ""
        while True:
            query = "?IncludeExecutionData=true" + (f"&Marker={urllib.parse.quote(marker)}" if marker else "")
            page = self._call("GET", self._path(arn, "/history") + query)
            events.extend(page.get("Events", []))
            marker = page.get("NextMarker") or ""
            if not marker:
                return events

    def close(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)

    def __enter__(self) -> CheckpointService:
        return self.start() if not self.endpoint else self

    def __exit__(self, *exc: object) -> None:
        self.close()
        if self._output is not None:
            self._output.close()
            self._output = None


@dataclass
class Outcome:
    """How a durable execution ended, and everything its history recorded."""

    arn: str
    status: str
    result: str | None = None
    error: dict[str, Any] | None = None
    events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def invocations(self) -> int:
        return sum(1 for event in self.events if event.get("EventType") == "InvocationCompleted")


def follow(
    service: CheckpointService,
    arn: str,
    on_event: Callable[[dict[str, Any]], None] = lambda event: None,
    *,
    timeout_s: float = 900,
    poll_s: float = 0.05,
) -> Outcome:
    """Watch ``arn`` until it ends, passing each new history event to ``on_event`` as it
    appears; the service itself invokes the function again after every suspension."""
    seen = 0
    deadline = time.monotonic() + timeout_s
    while True:
        described = service.execution(arn)
        events = service.history(arn)
        for event in events[seen:]:
            on_event(event)
        seen = len(events)
        status = str(described.get("Status", ""))
        if status in TERMINAL:
            return Outcome(arn, status, described.get("Result"), described.get("Error"), events)
        if time.monotonic() > deadline:
            raise DurableError(f"the execution was still {status or 'running'} after {timeout_s:g} s")
        time.sleep(poll_s)


SHOWN_PAYLOAD = 300  # characters of a result or error shown per event line


def _payload(details: dict[str, Any], key: str) -> Any:
    value = details.get(key)
    return value.get("Payload") if isinstance(value, dict) else None


def _shown(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    if len(text) > SHOWN_PAYLOAD:
        text = f"{text[:SHOWN_PAYLOAD]}... ({len(text)} characters)"
    return text


def describe_event(event: Any) -> str:
    """One line for a history event, as ``--durable`` prints it. The history comes from
    another process and holds the function's own results and error messages, so any shape
    gives one line."""
    if not isinstance(event, dict):
        return f"? {_shown(event)}"
    kind = str(event.get("EventType", "?"))
    name = event.get("Name")
    details: dict[str, Any] = next(
        (v for k, v in event.items() if str(k).endswith("Details") and isinstance(v, dict)), {}
    )
    parts = [kind, *([_shown(name)] if name and not kind.startswith("Execution") else [])]
    if kind.endswith("Succeeded"):
        result = _payload(details, "Result")
        if result is not None:
            parts.append(f"-> {_shown(result)}")
    if kind.endswith("Failed"):
        error = _payload(details, "Error")
        if isinstance(error, dict):
            parts.append(_shown(f"{error.get('ErrorType') or ''}: {error.get('ErrorMessage') or ''}".strip(": ")))
        elif error is not None:
            parts.append(_shown(error))
        retry = details.get("RetryDetails")
        if isinstance(retry, dict) and retry.get("CurrentAttempt") is not None:
            # The SDK retries after at least one second, so no delay means no retry.
            delay = retry.get("NextAttemptDelaySeconds")
            then = f", retry in {_shown(delay)} s" if delay else ", no retry"
            parts.append(f"(attempt {_shown(retry['CurrentAttempt'])}{then})")
    if kind == "WaitStarted" and "Duration" in details:
        parts.append(f"{_shown(details['Duration'])} s")
    line = "  ".join(parts)
    return line.replace("\r", "\\r").replace("\n", "\\n")


def _credentials_found() -> bool:
    """Whether boto3 in the function would find credentials without instance metadata (the
    SDK's client signs its checkpoints and fails without any)."""
    import botocore.session

    session = botocore.session.Session()
    resolver = session.get_component("credential_provider")
    for slow in ("container-role", "iam-role"):
        with contextlib.suppress(Exception):
            resolver.remove(slow)
    try:
        return resolver.load_credentials() is not None
    except Exception:
        return False


def drive(
    function_env: dict[str, str],
    start_function: Callable[[dict[str, str]], Any],
    payload: bytes,
    *,
    skip_waits: bool,
    invocation_timeout_s: float,
    execution_timeout_s: int,
    err: IO[str],
) -> tuple[Outcome, str]:
    """Start the service, then the function (``start_function(extra_env)`` returns an object
    with ``invoke_address`` and ``close()``), run one execution to its end, printing each event.
    Returns the outcome and the service's own output."""
    with CheckpointService(skip_waits=skip_waits, invocation_timeout_s=invocation_timeout_s) as service:
        extra = service.function_env()
        if not any(name in function_env for name in ("AWS_ACCESS_KEY_ID", "AWS_PROFILE")) and not _credentials_found():
            # Nothing to sign the checkpoints with: local keys, which only the service sees.
            extra.update({k: v for k, v in _SERVICE_CREDENTIALS.items() if k.startswith("AWS_") and "FILE" not in k})
        function = start_function(extra)
        try:
            arn = service.start_execution(function.invoke_address, payload, timeout_s=execution_timeout_s)

            def say(text: str) -> None:
                # One write per line: the emulator's thread prints the function's lines meanwhile.
                err.write(f"lambdaloop durable: {text}\n")
                err.flush()

            say(f"execution {arn}")

            def show(event: dict[str, Any]) -> None:
                say(describe_event(event))

            outcome = follow(service, arn, show, timeout_s=execution_timeout_s + 60)
        finally:
            function.close()
        return outcome, service.output()
