"""The telemetry listener on a real socket: keep-alive, chunked bodies, size limits, and
callbacks that fail without taking the listener down."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from lambdaloop.extensions.listener import Listener


@pytest.fixture
def received() -> Iterator[tuple[Listener, list[bytes]]]:
    bodies: list[bytes] = []

    def on_body(body: bytes) -> None:
        if body == b"[boom]":
            raise RuntimeError("callback failure")
        bodies.append(body)

    listener = Listener(on_body, host="127.0.0.1")
    listener.start()
    yield listener, bodies
    listener.close()


def read_answer(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def test_batches_on_one_keep_alive_connection(received: tuple[Listener, list[bytes]]) -> None:
    listener, bodies = received
    with socket.create_connection(("127.0.0.1", listener.port), timeout=5) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: sandbox.localdomain\r\nContent-Length: 5\r\n\r\n[1,2]")
        assert read_answer(sock).startswith(b"HTTP/1.1 200 ")
        sock.sendall(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n[3\r\n1\r\n]\r\n0\r\n\r\n")
        assert read_answer(sock).startswith(b"HTTP/1.1 200 ")
    assert bodies == [b"[1,2]", b"[3]"]
    assert listener.batches == 2 and listener.last_batch_at > 0


def test_a_failing_callback_is_counted_and_answered(received: tuple[Listener, list[bytes]]) -> None:
    listener, bodies = received
    with socket.create_connection(("127.0.0.1", listener.port), timeout=5) as sock:
        # 200 all the same: a refused batch would be retried and fail again, forever.
        sock.sendall(b"POST / HTTP/1.1\r\nContent-Length: 6\r\n\r\n[boom]")
        assert read_answer(sock).startswith(b"HTTP/1.1 200 ")
        sock.sendall(b"POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\n[7]")
        assert read_answer(sock).startswith(b"HTTP/1.1 200 ")
    assert bodies == [b"[7]"]
    assert (listener.batches, listener.errors) == (2, 1)


def test_oversized_batches_are_refused(received: tuple[Listener, list[bytes]]) -> None:
    listener, bodies = received
    with socket.create_connection(("127.0.0.1", listener.port), timeout=5) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n")
        assert read_answer(sock).startswith(b"HTTP/1.1 413 ")
    assert bodies == []
