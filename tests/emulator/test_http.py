"""The sans-IO HTTP/1.1 parser and renderers, with bytes only."""

from __future__ import annotations

import pytest

from lambdaloop.emulator import http


def _feed_bytewise(parser: http.Parser, data: bytes) -> list[http.Event]:
    events: list[http.Event] = []
    for i in range(len(data)):
        events.extend(parser.feed(data[i : i + 1]))
    return events


def _body(events: list[http.Event]) -> bytes:
    return b"".join(e.data for e in events if isinstance(e, http.Data))


def test_request_with_content_length_in_one_piece_and_byte_by_byte() -> None:
    raw = b"POST /a?x=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nX-Thing: v \r\n\r\nhello"
    for events in (http.Parser("request").feed(raw), _feed_bytewise(http.Parser("request"), raw)):
        head = events[0]
        assert isinstance(head, http.RequestHead)
        assert (head.method, head.target, head.path) == ("POST", "/a?x=1", "/a")
        assert head.headers.get("x-thing") == "v"
        assert _body(events) == b"hello"
        assert isinstance(events[-1], http.EndOfMessage)


def test_two_requests_back_to_back_on_one_connection() -> None:
    raw = b"GET /one HTTP/1.1\r\nHost: h\r\n\r\nGET /two HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"
    events = http.Parser("request").feed(raw)
    heads = [e for e in events if isinstance(e, http.RequestHead)]
    assert [h.path for h in heads] == ["/one", "/two"]
    assert [h.close for h in heads] == [False, True]
    assert sum(isinstance(e, http.EndOfMessage) for e in events) == 2


def test_chunked_body_with_extension_and_trailers() -> None:
    raw = (
        b"POST /r HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTrailer: Lambda-Runtime-Function-Error-Type\r\n\r\n"
        b"5;name=value\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\n"
        b"Lambda-Runtime-Function-Error-Type: Oops\r\nLambda-Runtime-Function-Error-Body: e30=\r\n\r\n"
    )
    for events in (http.Parser("request").feed(raw), _feed_bytewise(http.Parser("request"), raw)):
        assert _body(events) == b"hello world"
        end = events[-1]
        assert isinstance(end, http.EndOfMessage)
        assert end.trailers.get("lambda-runtime-function-error-type") == "Oops"
        assert end.trailers.get("Lambda-Runtime-Function-Error-Body") == "e30="


def test_data_is_handed_out_as_it_arrives() -> None:
    parser = http.Parser("request")
    parser.feed(b"POST /r HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n")
    assert parser.feed(b"a\r\n01234") == [http.Data(b"01234")]
    assert parser.feed(b"56789\r\n") == [http.Data(b"56789")]
    assert parser.feed(b"0\r\n\r\n") == [http.EndOfMessage()]
    assert parser.idle


@pytest.mark.parametrize(
    "raw",
    [
        b"POST /r HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",  # not hex
        b"POST /r HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n",  # longer than announced
        b"POST /r HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
        b"BROKEN\r\n\r\n",
        b"GET / HTTP/1.1\r\nno colon here\r\n\r\n",
    ],
)
def test_malformed_messages_raise(raw: bytes) -> None:
    with pytest.raises(http.HttpError):
        http.Parser("request").feed(raw)


def test_head_too_large_is_431() -> None:
    with pytest.raises(http.HttpError) as info:
        http.Parser("request").feed(b"GET / HTTP/1.1\r\nX: " + b"a" * (http.MAX_HEAD + 10))
    assert info.value.status == 431


def test_eof_inside_a_body_is_an_error_but_between_messages_is_not() -> None:
    parser = http.Parser("request")
    parser.feed(b"POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc")
    with pytest.raises(http.HttpError):
        parser.feed_eof()
    idle = http.Parser("request")
    idle.feed(b"GET / HTTP/1.1\r\n\r\n")
    assert idle.feed_eof() == []


def test_response_without_length_runs_until_close() -> None:
    parser = http.Parser("response")
    events = parser.feed(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\npart one ")
    assert isinstance(events[0], http.ResponseHead) and events[0].status == 200
    events += parser.feed(b"part two")
    events += parser.feed_eof()
    assert _body(events) == b"part one part two"
    assert isinstance(events[-1], http.EndOfMessage)


def test_response_to_204_has_no_body() -> None:
    events = http.Parser("response").feed(b"HTTP/1.1 204 No Content\r\n\r\n")
    assert isinstance(events[-1], http.EndOfMessage)


def test_rendered_chunks_parse_back_with_trailers() -> None:
    wire = http.render_head(http.status_line(200), [("Transfer-Encoding", "chunked")])
    wire += http.render_chunk(b"abc") + http.render_chunk(b"") + http.render_chunk(b"de")
    wire += http.render_last_chunk([("Lambda-Runtime-Function-Error-Type", "X")])
    events = http.Parser("response").feed(wire)
    assert _body(events) == b"abcde"
    end = events[-1]
    assert isinstance(end, http.EndOfMessage) and end.trailers.get("lambda-runtime-function-error-type") == "X"


def test_render_response_and_request() -> None:
    assert http.render_response(202, [("Content-Type", "application/json")], b"{}") == (
        b"HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
    )
    assert http.render_request("GET", "/x", [("Host", "h")]) == b"GET /x HTTP/1.1\r\nHost: h\r\n\r\n"


def test_headers_are_case_insensitive_and_repeated_fields_combine() -> None:
    headers = http.Headers([("Trailer", "A"), ("trailer", "B"), ("Content-Type", "x")])
    assert headers.get("TRAILER") == "A, B"
    assert "content-type" in headers
    assert headers.items[0] == ("Trailer", "A")


# -- the buffer interface (BufferedProtocol, recv_into) and how body bytes come out ----------


def _read_into(parser: http.Parser, data: bytes, piece: int) -> list[http.Event]:
    """What a transport does: write into ``get_buffer()``, report with ``buffer_updated``."""
    events: list[http.Event] = []
    offset = 0
    while offset < len(data):
        room = parser.get_buffer()
        assert len(room) > 0
        n = min(len(room), piece, len(data) - offset)
        room[:n] = data[offset : offset + n]
        offset += n
        events += parser.buffer_updated(n)  # the view is still held here, as uvloop does
    return events


def _chunked_request(pieces: list[bytes], trailers: list[tuple[str, str]] | None = None) -> bytes:
    wire = b"POST /r HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
    wire += b"".join(http.render_chunk(p) for p in pieces) + http.render_last_chunk(trailers)
    return wire


def test_each_chunk_is_its_own_data_event_even_within_one_read() -> None:
    events = http.Parser("request").feed(_chunked_request([b"ab", b"cd", b"ef"]))
    assert events[1:] == [http.Data(b"ab"), http.Data(b"cd"), http.Data(b"ef"), http.EndOfMessage()]


@pytest.mark.parametrize("piece", [1, 2, 3, 7, 100, 4096, 1 << 20])
def test_buffer_interface_agrees_with_feed_whatever_the_read_sizes(piece: int) -> None:
    pieces = [bytes([65 + i % 26]) * (i * 997 % 5000 + 1) for i in range(30)]
    wire = _chunked_request(pieces, [("Lambda-Runtime-Function-Error-Type", "E")]) * 2
    wire += b"GET /next HTTP/1.1\r\nContent-Length: 3\r\n\r\nxyz"
    for parser in (http.Parser("request", initial_buffer=16), http.Parser("request")):
        events = _read_into(parser, wire, piece)
        heads = [e for e in events if isinstance(e, http.RequestHead)]
        ends = [e for e in events if isinstance(e, http.EndOfMessage)]
        assert [h.path for h in heads] == ["/r", "/r", "/next"]
        assert [e.trailers.get("lambda-runtime-function-error-type") for e in ends] == ["E", "E", None]
        assert _body(events) == b"".join(pieces) * 2 + b"xyz"
        assert parser.idle


def test_chunk_size_lines_other_than_plain_hex_still_parse_and_still_fail() -> None:
    raw = b"POST /r HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n 3 \r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n"
    assert _body(http.Parser("request").feed(raw)) == b"abcde"
    for bad in (b"1_0\r\n", b"0x3\r\n", b"\r\n", b"-1\r\n"):
        with pytest.raises(http.HttpError):
            http.Parser("request").feed(b"POST /r HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" + bad)


def test_head_larger_than_the_initial_buffer() -> None:
    head = b"GET / HTTP/1.1\r\nX: " + b"a" * 50_000 + b"\r\n\r\n"
    events = _read_into(http.Parser("request", initial_buffer=1024), head, 4096)
    assert isinstance(events[0], http.RequestHead) and len(events[0].headers.get("x") or "") == 50_000
    with pytest.raises(http.HttpError) as info:
        _read_into(http.Parser("request", initial_buffer=1024), head[:-4] + b"a" * http.MAX_HEAD, 4096)
    assert info.value.status == 431
