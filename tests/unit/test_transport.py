"""The raw-socket HTTP/1.1 client, against a real listening socket on 127.0.0.1."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from lambdaloop.transport import Connection, TransportError, split_address


class ScriptedServer:
    """Answers each accepted connection's requests with the next canned byte strings."""

    def __init__(self, answers: list[list[bytes]]) -> None:
        self.answers = answers  # one list of answers per connection
        self.received: list[bytes] = []
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self.sock.getsockname()[1]}"
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        for per_connection in self.answers:
            conn, _ = self.sock.accept()
            with conn:
                for answer in per_connection:
                    data = b""
                    while b"\r\n\r\n" not in data:
                        chunk = conn.recv(65536)
                        if not chunk:
                            return
                        data += chunk
                    self.received.append(data)
                    conn.sendall(answer)


@pytest.fixture
def server() -> Iterator:
    servers: list[ScriptedServer] = []

    def make(answers: list[list[bytes]]) -> ScriptedServer:
        servers.append(ScriptedServer(answers))
        return servers[-1]

    yield make
    for s in servers:
        s.sock.close()


def test_content_length_and_keep_alive(server) -> None:
    srv = server(
        [
            [
                b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A:  b \r\n\r\nhello",
                b"HTTP/1.1 202 OK\r\nContent-Length: 0\r\n\r\n",
            ]
        ]
    )
    conn = Connection(srv.address)
    first = conn.request(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert (first.status, first.headers["x-a"], first.body) == (200, "b", b"hello")
    assert conn.request(b"GET /2 HTTP/1.1\r\nHost: x\r\n\r\n").status == 202
    assert len(srv.received) == 2  # both on the one connection


def test_chunked_answer_with_trailers(server) -> None:
    answer = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n4;x=y\r\ndefg\r\n0\r\nT: 1\r\n\r\n"
    srv = server([[answer]])
    assert Connection(srv.address).request(b"GET / HTTP/1.1\r\n\r\n").body == b"abcdefg"


def test_large_body_arrives_whole(server) -> None:
    payload = bytes(range(256)) * 20000
    srv = server([[b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(payload) + payload]])
    assert Connection(srv.address).request(b"GET / HTTP/1.1\r\n\r\n").body == payload


def test_peer_closed_keepalive_is_reopened_once(server) -> None:
    ok = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
    srv = server([[ok], [ok]])  # the first connection closes after one answer
    conn = Connection(srv.address)
    assert conn.request(b"GET / HTTP/1.1\r\n\r\n").body == b"ok"
    assert conn.request(b"GET / HTTP/1.1\r\n\r\n").body == b"ok"


def test_connection_close_header_closes(server) -> None:
    srv = server(
        [[b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\na"], [b"HTTP/1.1 204 No\r\n\r\n"]]
    )
    conn = Connection(srv.address)
    conn.request(b"GET / HTTP/1.1\r\n\r\n")
    assert conn.request(b"GET / HTTP/1.1\r\n\r\n").status == 204


def test_refused_and_garbage_are_transport_errors(server) -> None:
    closed = socket.create_server(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    with pytest.raises(TransportError, match="cannot connect"):
        Connection(f"127.0.0.1:{port}").request(b"GET / HTTP/1.1\r\n\r\n")
    srv = server([[b"SPAM\r\n\r\n"]])
    with pytest.raises(TransportError, match="status line"):
        Connection(srv.address).request(b"GET / HTTP/1.1\r\n\r\n")


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("127.0.0.1:9001", ("127.0.0.1", 9001)),
        ("[::1]:80", ("::1", 80)),
        ("http://localhost:8080/", ("localhost", 8080)),
    ],
)
def test_split_address(address: str, expected: tuple[str, int]) -> None:
    assert split_address(address) == expected


def test_bad_address() -> None:
    with pytest.raises(TransportError):
        split_address("nohostport")
