"""Shared machinery for the compatibility suite: run a real function (a module under
``functions/``) in a real runtime process on lambdaloop's emulator, invoke it as Lambda
would, and read back what the invoker got and what the logs hold.

Each function runs under ``python -m lambdaloop`` and, where the library works there, under
``python -m awslambdaric`` (4.2.2) too, with the same events, so a test compares the two.
The emulator is used instead of the classic RIE because the RIE drops ``X-Amzn-Trace-Id``
(the X-Ray and OpenTelemetry tests need it) and cannot pass a client context.

No test reaches the network: AWS credentials are fake, IMDS is off, and every library's
endpoint is a server on 127.0.0.1 started here, or a transport that writes to a file.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from lambdaloop.emulator.harness import InvokeError, LocalFunction

FUNCTIONS = Path(__file__).resolve().parent / "functions"
EVENTS = Path(__file__).resolve().parents[2] / "runtime" / "lambdaloop" / "events"

# The handler modules are function code, not tests.
collect_ignore = ["functions"]

RUNTIMES: dict[str, list[str]] = {
    "lambdaloop": [sys.executable, "-m", "lambdaloop"],
    "awslambdaric": [sys.executable, "-m", "awslambdaric"],
}

# What every function sees on top of the emulator's Lambda variables. The emulator passes the
# test process's environment through, so a developer's real credentials or profile must be
# overridden here, never used.
BASE_ENV: dict[str, str] = {
    "AWS_ACCESS_KEY_ID": "AKIDTESTTESTTESTTEST",
    "AWS_SECRET_ACCESS_KEY": "test-secret",
    "AWS_SESSION_TOKEN": "test-token",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",
    "PYTHONDONTWRITEBYTECODE": "1",
}


@dataclass
class Call:
    """One invocation as the invoker saw it."""

    ok: bool
    result: Any = None
    error_type: str | None = None
    error: Any = None


@dataclass
class Session:
    """A function's whole life under one runtime: its calls, then its logs (read after the
    process has ended, so nothing written late is missing)."""

    runtime: str
    calls: list[Call] = field(default_factory=list)
    logs: list[str] = field(default_factory=list)

    def json_logs(self) -> list[dict[str, Any]]:
        """Log lines that are JSON objects (Powertools, EMF, Datadog metrics, spans)."""
        records = []
        for line in self.logs:
            text = line.strip()
            if text.startswith("{"):
                try:
                    value = json.loads(text)
                except ValueError:
                    continue
                if isinstance(value, dict):
                    records.append(value)
        return records

    def text(self) -> str:
        return "\n".join(self.logs)


def with_ids(events: list[Any], prefix: str) -> list[tuple[Any, dict[str, str]]]:
    """Events paired with the request id to invoke them with (``X-Amzn-RequestId``), so a
    test can check that each log record names the invocation that wrote it."""
    return [(event, {"X-Amzn-RequestId": f"{prefix}-{n}"}) for n, event in enumerate(events, 1)]


def call(fn: LocalFunction, event: Any, headers: dict[str, str] | None = None) -> Call:
    try:
        return Call(True, fn.invoke(event, headers))
    except InvokeError as exc:
        return Call(False, error_type=exc.error_type, error=exc.error)


class Functions:
    """Starts functions and ends every one of them, whatever the test did."""

    def __init__(self) -> None:
        self.started: list[LocalFunction] = []

    def start(
        self,
        handler: str,
        runtime: str = "lambdaloop",
        env: Mapping[str, str] | None = None,
        *,
        task_root: Path = FUNCTIONS,
        pass_handler: bool = True,
        wrap: list[str] | None = None,
        timeout: float = 20.0,
    ) -> LocalFunction:
        """``pass_handler=False`` starts the runtime with no argument, so it reads ``_HANDLER``
        as Lambda's bootstrap does (handler redirection by APM layers). ``wrap`` goes in front
        of the command (a namespace that makes the task root read-only)."""
        command = [*(wrap or []), *RUNTIMES[runtime], *([handler] if pass_handler else [])]
        fn = LocalFunction.start(
            handler,
            task_root=str(task_root),
            timeout=timeout,
            env={**BASE_ENV, **(env or {})},
            command=command,
            extensions_dir=None,
        )
        self.started.append(fn)
        return fn

    def session(
        self,
        handler: str,
        runtime: str,
        events: list[Any | tuple[Any, dict[str, str]]],
        env: Mapping[str, str] | None = None,
        **options: Any,
    ) -> Session:
        """Start, invoke each event in turn (an event may come with invoke headers), end."""
        fn = self.start(handler, runtime, env, **options)
        session = Session(runtime)
        try:
            for item in events:
                event, headers = item if isinstance(item, tuple) else (item, None)
                session.calls.append(call(fn, event, headers))
        finally:
            fn.close()
        session.logs = fn.logs
        return session

    def both(
        self, handler: str, events: list[Any | tuple[Any, dict[str, str]]], env: Mapping[str, str] | None = None
    ) -> dict[str, Session]:
        """The same function and events under each runtime."""
        return {runtime: self.session(handler, runtime, events, env) for runtime in RUNTIMES}

    def close(self) -> None:
        errors = []
        for fn in reversed(self.started):
            try:
                fn.close()
            except Exception as exc:  # one bad close must not leave the others running
                errors.append(exc)
        self.started.clear()
        if errors:
            raise errors[0]


@pytest.fixture(scope="module")
def functions() -> Iterator[Functions]:
    """Module-scoped: the tests of one library share its function processes."""
    started = Functions()
    try:
        yield started
    finally:
        started.close()


def sample_event(name: str, **changes: Any) -> dict[str, Any]:
    """One of lambdaloop's sample events (``lambdaloop events``), top-level keys replaced."""
    event: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text())
    event.update(changes)
    return event


def http_event(kind: str, method: str, path: str, body: str | None = None, query: str = "") -> dict[str, Any]:
    """An API Gateway REST (``apigw-v1``), HTTP API (``apigw-v2``) or Function URL event."""
    params = dict(pair.split("=", 1) for pair in query.split("&") if pair) or None
    if kind == "apigw-v1":
        event = sample_event("apigw-v1", path=path, resource=path, httpMethod=method, body=body)
        event["queryStringParameters"] = params
        event["multiValueQueryStringParameters"] = {k: [v] for k, v in params.items()} if params else None
        event["requestContext"] = {**event["requestContext"], "httpMethod": method, "path": f"/prod{path}"}
        if body is not None:
            event["headers"] = {**event["headers"], "Content-Type": "application/json"}
            event["multiValueHeaders"] = {**event["multiValueHeaders"], "Content-Type": ["application/json"]}
        return event
    event = sample_event(kind, rawPath=path, rawQueryString=query, body=body, queryStringParameters=params)
    context = dict(event["requestContext"])
    context["http"] = {**context["http"], "method": method, "path": path}
    if kind == "apigw-v2":
        context["routeKey"] = "$default"
    event["requestContext"] = context
    if body is not None:
        event["headers"] = {**event["headers"], "content-type": "application/json"}
    return event


# ---- local stand-ins for the services libraries talk to --------------------------------


class UdpCollector:
    """A UDP socket on 127.0.0.1 that keeps every datagram (the X-Ray daemon's role)."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.address = f"127.0.0.1:{self.sock.getsockname()[1]}"
        self.datagrams: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="udp-collector", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data, _ = self.sock.recvfrom(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            self.datagrams.append(data)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()


@pytest.fixture
def udp_collector() -> Iterator[UdpCollector]:
    collector = UdpCollector()
    try:
        yield collector
    finally:
        collector.close()


@pytest.fixture
def record_file() -> Iterator[Path]:
    """A file a function appends JSON lines to (the local transport of Sentry, say)."""
    fd, name = tempfile.mkstemp(prefix="compat-record-", suffix=".jsonl")
    os.close(fd)
    path = Path(name)
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


def read_records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


# ---- packages one environment cannot hold twice ----------------------------------------

# Older releases of a library whose current release is installed by the ``compat`` extra,
# fetched with pip into lambdaloop's cache (as the RIE is), pinned and hash-checked.
PINNED_OLD_RELEASES: dict[tuple[str, str], str] = {
    ("mangum", "0.19.0"): "e500b35f495d5e68ac98bc97334896d6101523f2ee2c57ba6a61893b65266e59",
    ("mangum", "0.20.0"): "c945eadc41916f73b6086c0c69935ef4b1d23d27de8dc74ed47b20e204335407",
}


def old_release(name: str, version: str) -> Path:
    """A folder to put in front of ``PYTHONPATH`` so a function imports ``name==version``
    instead of the installed one. Skips the test (with pip's reason) if it cannot be fetched."""
    from lambdaloop.rie import cache_dir

    target = cache_dir() / "compat" / f"{name}-{version}"
    if (target / name / "__init__.py").exists():
        return target
    digest = PINNED_OLD_RELEASES[(name, version)]
    partial = target.with_name(target.name + ".part")
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as req:
        req.write(f"{name}=={version} --hash=sha256:{digest}\n")
    cmd = [
        sys.executable, "-m", "pip", "install", "--no-deps", "--only-binary=:all:", "--require-hashes",
        "--disable-pip-version-check", "-q", "--target", str(partial), "-r", req.name,
    ]  # fmt: skip
    try:
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    finally:
        os.unlink(req.name)
    if result.returncode != 0:
        pytest.skip(f"cannot fetch {name}=={version} from PyPI (pip exit {result.returncode}): {result.stderr[-500:]}")
    if target.exists():  # another run finished first
        subprocess.run(["rm", "-rf", str(partial)], check=False)
        return target
    partial.rename(target)
    return target
