"""The recording fake Runtime API itself: byte-exact records, keep-alive, chunked bodies, holding."""

from __future__ import annotations

import http.client
import socket
import threading

from .recorder import NEXT_PATH, NextAnswer, RecordingRuntimeAPI


def _raw_exchange(sock: socket.socket, request: bytes) -> bytes:
    sock.sendall(request)
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(4096)
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(
        next(line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length"))
    )
    while len(body) < length:
        body += sock.recv(4096)
    return head + b"\r\n\r\n" + body


def test_keep_alive_records_byte_exact_requests() -> None:
    with RecordingRuntimeAPI([NextAnswer("r1", b'{"a":1}', tenant_id="t")]) as api:
        with socket.create_connection(("127.0.0.1", api.port)) as sock:
            answer = _raw_exchange(sock, f"GET {NEXT_PATH} HTTP/1.1\r\nHost: x\r\nUser-Agent: ua\r\n\r\n".encode())
            assert answer.startswith(b"HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: r1\r\n")
            assert b"Lambda-Runtime-Aws-Tenant-Id: t\r\n" in answer and answer.endswith(b'\r\n\r\n{"a":1}')
            post = (
                b"POST /2018-06-01/runtime/invocation/r1/response HTTP/1.1\r\nhost: x\r\ncontent-length: 3\r\n\r\nabc"
            )
            assert _raw_exchange(sock, post).endswith(b'{"status":"OK"}')
        requests = api.requests
    assert [r.connection for r in requests] == [0, 0]
    assert requests[1].request_line == b"POST /2018-06-01/runtime/invocation/r1/response HTTP/1.1"
    assert requests[1].header_lines == (b"host: x", b"content-length: 3")
    assert requests[1].body == b"abc" and not requests[1].chunked


def test_chunked_body_and_new_connection() -> None:
    with RecordingRuntimeAPI([]) as api:
        conn = http.client.HTTPConnection(api.address)
        conn.request("POST", "/2018-06-01/runtime/init/error", body=iter([b"hello ", b"world"]), encode_chunked=True)
        assert conn.getresponse().status == 202
        conn.close()
        with socket.create_connection(("127.0.0.1", api.port)) as sock:
            _raw_exchange(
                sock, b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n0\r\nT: 1\r\n\r\n"
            )
        requests = api.requests
    assert [(r.connection, r.body, r.chunked) for r in requests] == [(0, b"hello world", True), (1, b"abc", True)]


def test_exhausted_script_holds_next_until_close() -> None:
    api = RecordingRuntimeAPI([])
    api.start()
    sock = socket.create_connection(("127.0.0.1", api.port))
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(sock.recv(100)))
    try:
        sock.sendall(f"GET {NEXT_PATH} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        assert api.exhausted.wait(5)
        reader.start()
        reader.join(0.2)
        assert reader.is_alive(), "the held /next was answered"
    finally:
        api.close()
        reader.join(5)
        sock.close()
    assert got == [b""]  # closed without an answer
