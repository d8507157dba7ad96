"""boto3 clients made at init and reused across invokes, against a DynamoDB stand-in on
127.0.0.1, compared with awslambdaric: same answers, one client, one kept-alive connection."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from .conftest import RUNTIMES, Functions

pytest.importorskip("boto3", reason="boto3 is not installed (pip install -e '.[compat]')")


class FakeDynamoDB(ThreadingHTTPServer):
    """PutItem and GetItem of DynamoDB's JSON protocol, in memory, recording which client
    port (TCP connection) each request came on."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.items: dict[str, Any] = {}
        self.requests: list[tuple[int, str, str | None]] = []  # (client port, target, signature?)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as DynamoDB's endpoint
    server: FakeDynamoDB

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        target = self.headers.get("X-Amz-Target", "")
        auth = self.headers.get("Authorization")
        self.server.requests.append((self.client_address[1], target, auth and auth.split(" ", 1)[0]))
        if target.endswith(".PutItem"):
            self.server.items[body["Item"]["pk"]["S"]] = body["Item"]
            answer: dict[str, Any] = {}
        elif target.endswith(".GetItem"):
            answer = {"Item": self.server.items[body["Key"]["pk"]["S"]]}
        else:
            self.send_error(400)
            return
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-amz-json-1.0")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def fake_dynamodb() -> Iterator[FakeDynamoDB]:
    server = FakeDynamoDB()
    thread = threading.Thread(target=server.serve_forever, name="fake-dynamodb", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


EVENTS = [{"id": "a", "n": 1}, {"id": "b", "n": 2}, {"id": "c", "n": 3}]


@pytest.mark.parametrize("runtime", list(RUNTIMES))
def test_client_from_init_is_reused(functions: Functions, fake_dynamodb: FakeDynamoDB, runtime: str) -> None:
    env = {"COMPAT_AWS_ENDPOINT": f"http://127.0.0.1:{fake_dynamodb.server_address[1]}"}
    session = functions.session("boto_app.handler", runtime, EVENTS, env)
    assert all(c.ok for c in session.calls), session.calls
    assert [(c.result["id"], c.result["n"]) for c in session.calls] == [("a", 1), ("b", 2), ("c", 3)]
    assert len({c.result["client"] for c in session.calls}) == 1, "one client, made at init"
    ports = [port for port, _, _ in fake_dynamodb.requests]
    assert len(ports) == 6
    assert len(set(ports)) == 1, f"the connection was not kept across invokes: {ports}"
    assert {sig for _, _, sig in fake_dynamodb.requests} == {"AWS4-HMAC-SHA256"}  # signed with the fake keys


def test_async_handler_shares_the_client(functions: Functions, fake_dynamodb: FakeDynamoDB) -> None:
    env = {"COMPAT_AWS_ENDPOINT": f"http://127.0.0.1:{fake_dynamodb.server_address[1]}"}
    session = functions.session("boto_app.async_handler", "lambdaloop", EVENTS, env)
    assert [(c.result["id"], c.result["n"]) for c in session.calls] == [("a", 1), ("b", 2), ("c", 3)]
    assert len({port for port, _, _ in fake_dynamodb.requests}) == 1
