"""Results and events: byte-identical to awslambdaric's simplejson where that is valid JSON."""

from __future__ import annotations

import collections
import decimal
import math
import sys
from typing import Any

import pytest
import simplejson
from hypothesis import given, settings
from hypothesis import strategies as st

from lambdaloop.errors import FaultError
from lambdaloop.marshal import marshal_result, to_json, unmarshal_event


def awslambdaric_bytes(value: Any) -> bytes:
    # awslambdaric's Encoder on a python3.12+ managed runtime (ensure_ascii=False).
    from awslambdaric.lambda_runtime_marshaller import Encoder

    enc = Encoder()
    enc.ensure_ascii = False
    return enc.encode(value).encode("utf-8")


SAME_AS_AWSLAMBDARIC = [
    None, True, 0, -1, 2**70, 1.5, 1e16, 1e-7, 0.1, "", "plain", "wörld \u2603 \U0001f600",
    "quote \" back \\ nl \n tab \t", "\x00\x1f\x7f", [], {}, [1, [2, [3]]], {"a": {"b": [None, True, 1.0]}},
    {1: "int key", False: "f", None: "n", 2.5: "f"},
    (1, 2), decimal.Decimal("1.50"), {"price": decimal.Decimal("-0.000001"), "big": decimal.Decimal("1E+30")},
    [decimal.Decimal("3.14159265358979323846264338327950288")], "x" * 100_000,
    {"records": [{"id": i, "name": f"n{i}", "v": i / 7} for i in range(2000)]},
]  # fmt: skip


@pytest.mark.parametrize("value", SAME_AS_AWSLAMBDARIC, ids=lambda v: repr(v)[:40])
def test_result_bytes_equal_awslambdaric(value: Any) -> None:
    body, content_type = marshal_result(value)
    assert content_type == "application/json"
    assert body == awslambdaric_bytes(value)


def test_bytes_are_sent_as_is() -> None:
    assert marshal_result(b"\x00\xff raw") == (b"\x00\xff raw", "application/unknown")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (float("nan"), b"null"),
        ([float("inf"), -math.inf, 1.0], b"[null, null, 1.0]"),
        ({"d": decimal.Decimal("NaN"), "e": decimal.Decimal("2.5")}, b'{"d": null, "e": 2.5}'),
    ],
)
def test_non_finite_numbers_become_null_not_invalid_json(value: Any, expected: bytes) -> None:
    body, _ = marshal_result(value)
    assert body == expected
    simplejson.loads(body, allow_nan=False)  # valid JSON, unlike awslambdaric's NaN


def test_namedtuple_is_an_object_as_simplejson_writes_it_whatever_sits_beside_it() -> None:
    point = collections.namedtuple("point", "x y")
    assert marshal_result(point(1, 2))[0] == b'{"x": 1, "y": 2}'
    assert marshal_result([point(1, 2), decimal.Decimal("1.5")])[0] == b'[{"x": 1, "y": 2}, 1.5]'
    assert marshal_result({"p": [point(point(1, 2), (3, 4))]})[0] == b'{"p": [{"x": {"x": 1, "y": 2}, "y": [3, 4]}]}'
    assert marshal_result([point(float("nan"), 1)])[0] == b'[{"x": null, "y": 1}]'
    assert marshal_result(sys.version_info[:2])[0] == b"[%d, %d]" % sys.version_info[:2]  # a plain tuple
    assert marshal_result(sys.version_info)[0].startswith(b"[")  # a struct sequence: no _asdict, an array


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({1, 2}, "Unable to marshal response: Object of type set is not JSON serializable"),
        (object(), "Unable to marshal response: Object of type object is not JSON serializable"),
        (bytearray(b"x"), "Unable to marshal response: Object of type bytearray is not JSON serializable"),
    ],
)
def test_unserializable_result_is_a_marshal_error_with_awslambdarics_message(value: Any, message: str) -> None:
    with pytest.raises(FaultError) as info:
        marshal_result(value)
    assert info.value.error_type == "Runtime.MarshalError"
    assert info.value.message == message


def test_circular_result_is_a_marshal_error() -> None:
    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(FaultError, match="Circular reference detected"):
        marshal_result(loop)


def test_lone_surrogate_is_escaped_not_a_crash() -> None:
    body, _ = marshal_result("a\ud800b")
    assert simplejson.loads(body) == "a\ud800b"


def test_error_header_json_can_be_ascii_only() -> None:
    assert to_json({"m": "é"}, ascii_only=True) == '{"m": "\\u00e9"}'


@pytest.mark.parametrize(
    "body",
    [b'{"a": [1, 2.5, null, true]}', b"  [1]  ", b"123456789012345678901234567890", b'"\\ud800"', b"1.0",
     '{"ü": "✓"}'.encode(), b'{"a": 1, "a": 2}', b"1e400"],
)  # fmt: skip
def test_events_parse_like_simplejson(body: bytes) -> None:
    got = unmarshal_event(body, "application/json")
    want = simplejson.loads(body)
    assert repr(got) == repr(want)


@pytest.mark.parametrize("body", [b'{"a" 1}', b"{", b"", b"[1] x", b"\xff\xfe", b"NaN", b"[-Infinity]"])
def test_bad_json_event_is_an_unmarshal_error_with_simplejsons_message(body: bytes) -> None:
    with pytest.raises(FaultError) as info:
        unmarshal_event(body, "application/json")
    try:
        simplejson.loads(body)
    except Exception as exc:
        expected = f"Unable to unmarshal input: {exc}"
    assert info.value.error_type == "Runtime.UnmarshalError"
    assert info.value.message == expected


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", "text/plain", None])
def test_other_content_types_reach_the_handler_as_bytes(content_type: str | None) -> None:
    assert unmarshal_event(b'{"a":1}', content_type) == b'{"a":1}'


_Point = collections.namedtuple("_Point", "x y")
_Row = collections.namedtuple("_Row", ["id", "tags", "extra"])
_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)
_values = st.recursive(
    _leaves,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.lists(inner, max_size=4).map(tuple),
        st.dictionaries(st.text(max_size=8), inner, max_size=4),
        st.tuples(inner, inner).map(lambda xy: _Point(*xy)),
        st.tuples(inner, st.lists(inner, max_size=3), inner).map(lambda fields: _Row(*fields)),
    ),
    max_leaves=25,
)


@settings(max_examples=400, deadline=None)
@given(_values)
def test_results_are_awslambdarics_bytes_namedtuples_included(value: Any) -> None:
    assert marshal_result(value)[0] == awslambdaric_bytes(value)
