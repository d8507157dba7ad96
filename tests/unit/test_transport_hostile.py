"""The transport's response reader against malformed and hostile answers.

Every answer the peer can send ends in a ``Response`` or a ``TransportError`` with a message:
never another exception (a traceback outside the loop's error funnel), never a hang, never an
allocation sized by the peer beyond ``MAX_BODY``. The peer here is one end of a real socket
pair: it writes the answer and closes, as a broken Runtime API would.
"""

from __future__ import annotations

import contextlib
import socket
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lambdaloop import transport
from lambdaloop.transport import Connection, Response, TransportError


class _PairConnection(Connection):
    """A Connection whose peer is a socket pair end that sends ``answer`` then closes."""

    def __init__(self, answer: bytes) -> None:
        super().__init__("127.0.0.1:9")
        self.answer = answer

    def _connect(self):  # type: ignore[override]
        ours, theirs = socket.socketpair()

        def serve() -> None:
            with theirs:
                theirs.recv(65536)
                # The reader may give up early (a bound was hit) and close its end.
                with contextlib.suppress(OSError):
                    theirs.sendall(self.answer)

        threading.Thread(target=serve, daemon=True).start()
        return ours


def exchange(answer: bytes) -> Response:
    conn = _PairConnection(answer)
    try:
        return conn.request(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    finally:
        conn.close()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400))
def test_any_bytes_give_a_response_or_a_transport_error(answer: bytes) -> None:
    try:
        exchange(answer)
    except TransportError as exc:
        assert str(exc)


_heads = st.builds(
    lambda status, headers: b"HTTP/1.1 " + status + b" X\r\n" + b"".join(n + b": " + v + b"\r\n" for n, v in headers),
    st.one_of(st.just(b"200"), st.binary(min_size=0, max_size=5)),
    st.lists(
        st.tuples(
            st.sampled_from([b"Content-Length", b"Transfer-Encoding", b"Connection", b"X-Other"]),
            st.one_of(
                st.sampled_from([b"chunked", b"gzip, chunked", b"chunked, gzip", b"close", b"5", b"-1", b"0x10"]),
                st.text(max_size=12).map(lambda t: t.encode("utf-8")),
            ),
        ),
        max_size=4,
    ),
)
_bodies = st.one_of(
    st.binary(max_size=64),
    st.lists(
        st.tuples(
            st.one_of(st.integers(0, 40).map(lambda n: b"%x" % n), st.binary(max_size=6)),
            st.binary(max_size=40),
        ),
        max_size=4,
    ).map(lambda chunks: b"".join(size + b"\r\n" + data + b"\r\n" for size, data in chunks)),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_heads, _bodies)
def test_http_shaped_answers_never_escape_as_other_exceptions(head: bytes, body: bytes) -> None:
    try:
        exchange(head + b"\r\n" + body)
    except TransportError as exc:
        assert str(exc)


@pytest.mark.parametrize(
    "status",
    [b"\xc2\xb200", b"2\xd9\xa10", b"20", b"2000", b"+20", b" 200", b"abc", b""],
    ids=["superscript-two", "arabic-indic-digit", "two-digits", "four-digits", "sign", "space", "letters", "empty"],
)
def test_status_code_must_be_three_ascii_digits(status: bytes) -> None:
    with pytest.raises(TransportError, match="status line"):
        exchange(b"HTTP/1.1 " + status + b" OK\r\nContent-Length: 0\r\n\r\n")


@pytest.mark.parametrize("length", [b"\xc2\xb2", b"-1", b"1e3", b" ", b"5, 5", b"0x10", b""])
def test_content_length_must_be_ascii_digits(length: bytes) -> None:
    with pytest.raises(TransportError, match="Content-Length"):
        exchange(b"HTTP/1.1 200 OK\r\nContent-Length: " + length + b"\r\n\r\nhello")


def test_announced_length_is_bounded_before_allocation(monkeypatch: pytest.MonkeyPatch) -> None:
    allocated: list[int] = []
    real = bytearray

    def watching(*args: object) -> bytearray:
        if args and isinstance(args[0], int):
            allocated.append(args[0])
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(transport, "bytearray", watching, raising=False)
    with pytest.raises(TransportError, match="larger than"):
        exchange(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000000000\r\n\r\nhello")
    with pytest.raises(TransportError, match="larger than"):
        exchange(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % (transport.MAX_BODY + 1))
    assert all(size <= transport.MAX_BODY for size in allocated)


@pytest.mark.parametrize("size", [b"-1", b"0x10", b" 1", b"", b"g", b"1" * 17, b"+5"])
def test_chunk_size_must_be_hex_digits(size: bytes) -> None:
    with pytest.raises(TransportError, match="chunk size"):
        exchange(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + size + b"\r\nabcde\r\n0\r\n\r\n")


def test_huge_chunk_is_refused_before_reading_it() -> None:
    with pytest.raises(TransportError, match="larger than"):
        exchange(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffff\r\nab\r\n0\r\n\r\n")


def test_chunk_extensions_and_bws_are_accepted() -> None:
    answer = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3 ;a=b\r\nabc\r\n1;x\r\nd\r\n0\r\n\r\n"
    assert exchange(answer).body == b"abcd"


def test_chunk_without_crlf_after_its_data_is_malformed() -> None:
    with pytest.raises(TransportError, match="CRLF"):
        exchange(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n")


def test_final_transfer_coding_decides_chunked() -> None:
    chunked = b"3\r\nabc\r\n0\r\n\r\n"
    answer = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, Chunked\r\nContent-Length: 1\r\n\r\n" + chunked
    assert exchange(answer).body == b"abc"
    # Chunked not last: the body runs to the end of the connection, as RFC 9112 6.3 says.
    answer = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n" + chunked
    assert exchange(answer).body == chunked


def test_non_utf8_header_bytes_survive_exactly() -> None:
    response = exchange(b"HTTP/1.1 200 OK\r\nX-Id: caf\xe9-\xff\r\nContent-Length: 0\r\n\r\n")
    assert response.headers["x-id"].encode("utf-8", "surrogateescape") == b"caf\xe9-\xff"
