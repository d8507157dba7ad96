"""Events in, results out: awslambdaric's bytes, at C speed, with nothing imported at start.

Measured choices (BENCHMARKS.md, "JSON serialization"):

- Results are encoded with CPython's own C encoder (``_json.make_encoder``) set up exactly
  as simplejson is in awslambdaric (``", "`` / ``": "`` separators), so the Runtime API gets
  the same bytes in about 0.7x simplejson's time (1 MB document; 0.6x for an API Gateway event),
  and ``_json`` costs nothing to import.
  orjson is faster still but writes compact JSON (other bytes) and its import pulls in
  uuid, dataclasses, datetime and enum: about 17 ms of cold start on this machine.
- Events are parsed with the C scanner behind ``json.loads`` (``_json.make_scanner``)
  without importing ``json`` itself (which pulls in ``re``): same values as simplejson
  (big integers exact, lone surrogates kept, NaN refused).
- Whatever the fast path refuses (Decimal, bad JSON, unserializable values) goes to
  simplejson, configured as awslambdaric configures it, so values and error messages match.
- A namedtuple is written as an object, as simplejson does: the C encoder would make it an
  array, so a result that is not made of builtin types only is checked for one first.

Differences on purpose, documented in the README: non-ASCII is never escaped (awslambdaric
escapes it unless AWS_EXECUTION_ENV names python3.12+); NaN and Infinity become ``null``
(awslambdaric sends ``NaN``, which is not JSON).
"""

from __future__ import annotations

import _json
from marshal import dumps as _marshal_dumps

from .errors import MARSHAL_ERROR, UNMARSHAL_ERROR, FaultError
from .protocol import BYTES_CONTENT_TYPE, JSON_CONTENT_TYPE

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class _ScanContext:
    """The attributes ``_json.make_scanner`` reads, as ``json.JSONDecoder`` sets them."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    memo: dict[str, str]

    def __init__(self) -> None:
        self.memo = {}

    @staticmethod
    def parse_constant(name: str) -> float:
        # simplejson >= 3.19 (awslambdaric's) refuses NaN and Infinity in events; so do we,
        # through the slow path, for its exact message.
        raise ValueError(f"{name} is not JSON")


# typeshed types the argument as a JSONDecoder; make_scanner reads only the attributes above.
_scan = _json.make_scanner(_ScanContext())  # type: ignore[arg-type]
_CONTAINER_TYPES = (dict, list, tuple)
_WHITESPACE = " \t\n\r"


def loads_json(text: str) -> Any:
    start = len(text) - len(text.lstrip(_WHITESPACE))
    value, end = _scan(text, start)
    if text[end:].strip(_WHITESPACE):
        raise ValueError("extra data")
    return value


def unmarshal_event(body: bytes, content_type: str | None) -> Any:
    """The event the handler receives: JSON only for exactly ``application/json``, as
    awslambdaric does; anything else (``; charset=utf-8`` included) stays bytes."""
    if content_type != JSON_CONTENT_TYPE:
        return body
    try:
        return loads_json(body.decode("utf-8"))
    except Exception:
        pass
    # Slow path, exact: simplejson decides, and its message is the one users know.
    import simplejson

    try:
        return simplejson.loads(body)
    except Exception as exc:
        raise FaultError(UNMARSHAL_ERROR, f"Unable to unmarshal input: {exc}") from None


def _refuse(value: object) -> Any:
    raise TypeError(f"Object of type {value.__class__.__name__} is not JSON serializable")


def _c_encoder(ascii_only: bool) -> Any:
    encode_string = _json.encode_basestring_ascii if ascii_only else _json.encode_basestring
    # markers={} turns on the circular-reference check, as simplejson's check_circular does.
    return _json.make_encoder({}, _refuse, encode_string, None, ": ", ", ", False, False, False)


def to_json(value: Any, ascii_only: bool = False) -> str:
    """``value`` as awslambdaric's simplejson encoder writes it (see the module notes)."""
    if _only_builtin_types(value) or not _has_namedtuple(value):
        try:
            return "".join(_c_encoder(ascii_only)(value, 0))
        except Exception:
            pass
    return _simplejson_dumps(value, ascii_only)


def json_bytes(value: Any) -> bytes:
    """``to_json(value)`` as UTF-8. A lone surrogate can only sit inside a JSON string, where
    "\\udXXX" is its valid escape (awslambdaric raises UnicodeEncodeError there, posting nothing)."""
    return to_json(value).encode("utf-8", "backslashreplace")


def _only_builtin_types(value: Any) -> bool:
    """True when ``value`` is made of exact dicts, lists, tuples, str, int, float, bool and None
    only: then the C encoder writes simplejson's bytes. ``marshal`` answers it in C (it refuses
    any subclass, a namedtuple among them); measured at about 0.3 us for an API Gateway response
    and about 13% of the C encoder's time on a 1 MB numeric document (BENCHMARKS.md)."""
    try:
        _marshal_dumps(value)
    except Exception:
        return False
    return True


def _has_namedtuple(value: Any) -> bool:
    """Whether a namedtuple (a tuple with ``_asdict``) is anywhere in ``value``: the C encoder
    would write it as an array, simplejson (awslambdaric) as an object. Breadth-first through
    the dicts, lists and tuples an encoder descends into (``gc.get_referents`` lists their
    items in C; an object's class or attributes are not followed); bounded, since a cycle never
    ends (the encoders refuse those anyway)."""
    import gc

    level = [value]
    for _depth in range(1000):
        kinds = set(map(type, level))
        containers = set()
        for kind in kinds:
            if issubclass(kind, tuple) and kind is not tuple and callable(getattr(kind, "_asdict", None)):
                return True
            if kind in _CONTAINER_TYPES or issubclass(kind, _CONTAINER_TYPES):
                containers.add(kind)
        if not containers:
            return False
        level = gc.get_referents(*[item for item in level if type(item) in containers])
    return True  # deeper than any encoder goes: let the exact path decide


def _simplejson_dumps(value: Any, ascii_only: bool) -> str:
    import decimal

    import simplejson

    def default(obj: object) -> Any:
        if isinstance(obj, decimal.Decimal):
            if not obj.is_finite():
                return None
            return simplejson.RawJSON(str(obj))
        raise TypeError(f"Object of type {obj.__class__.__name__} is not JSON serializable")

    encoder = simplejson.JSONEncoder(use_decimal=False, ensure_ascii=ascii_only, allow_nan=False, default=default)
    try:
        finite = _finite(value)
    except RecursionError:
        finite = value  # circular: simplejson names the problem ("Circular reference detected")
    return encoder.encode(finite)


def _finite(value: Any) -> Any:
    """A copy of ``value`` with NaN and infinities replaced by None (JSON has no such numbers),
    and namedtuples as the objects simplejson makes of them (its ``namedtuple_as_object``)."""
    if isinstance(value, float):
        return value if value - value == 0.0 else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_finite(item) for item in value]
    if isinstance(value, tuple):
        asdict = getattr(value, "_asdict", None)
        if callable(asdict):
            return _finite(asdict())
        return [_finite(item) for item in value]
    return value


def marshal_result(value: Any) -> tuple[bytes, str]:
    """The /response body and content type for what the handler returned."""
    if isinstance(value, bytes):
        return value, BYTES_CONTENT_TYPE
    try:
        return json_bytes(value), JSON_CONTENT_TYPE
    except Exception as exc:
        raise FaultError(MARSHAL_ERROR, f"Unable to marshal response: {exc}") from None
