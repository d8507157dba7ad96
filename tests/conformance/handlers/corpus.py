"""The main corpus: one handler, dispatching on the request id (so the event can be anything).

Every case is a function ``case_<id with - as _>(event, context)``; the tests script a
``/next`` answer whose request id is the case id. Line numbers matter (they are in stack
traces), but they only need to be the same for both runtimes, which run this same file.
"""

from __future__ import annotations

import collections
import datetime
import decimal
import enum
import os
import sys
from typing import Any

from helpers import deep

# ---- results: JSON values -------------------------------------------------------------


def case_return_dict(event: Any, context: Any) -> Any:
    return {"a": 1, "b": [1, 2, {"c": None}], "t": True, "f": False, "empty": {}, "none": None}


def case_return_list(event: Any, context: Any) -> Any:
    return [1, "two", 3.5, None, [], {}]


def case_return_tuple(event: Any, context: Any) -> Any:
    return (1, (2, 3), "x")


def case_return_str(event: Any, context: Any) -> Any:
    return "hello"


def case_return_empty_str(event: Any, context: Any) -> Any:
    return ""


def case_return_str_escapes(event: Any, context: Any) -> Any:
    return 'quote " backslash \\ slash / tab \t newline \n cr \r bell \x07 formfeed \f backspace \b'


def case_return_none(event: Any, context: Any) -> Any:
    return None


def case_return_true(event: Any, context: Any) -> Any:
    return True


def case_return_int(event: Any, context: Any) -> Any:
    return 42


def case_return_big_ints(event: Any, context: Any) -> Any:
    return [2**70, -(2**70), 0, -1, 10**40]


def case_return_floats(event: Any, context: Any) -> Any:
    return [3.14, 1e300, -0.0, 0.1 + 0.2, 1e-7, 1e16, 123456789.123456789, 5e-324, 2.0]


def case_return_float(event: Any, context: Any) -> Any:
    return 0.5


def case_return_decimal(event: Any, context: Any) -> Any:
    return decimal.Decimal("1.50")


def case_return_decimals(event: Any, context: Any) -> Any:
    return {
        "price": decimal.Decimal("1.50"),
        "large": decimal.Decimal("12345678901234567890.123456789012345678901234567890"),
        "negative_zero": decimal.Decimal("-0.00"),
        "exponent": decimal.Decimal("1E+3"),
        "tiny": decimal.Decimal("1E-30"),
        "int_like": decimal.Decimal(7),
        "in_list": [decimal.Decimal("0.1"), decimal.Decimal("-2.500")],
        "infinity_is_not_here": "see the NaN test",
    }


def case_return_bytes(event: Any, context: Any) -> Any:
    return b"\x00\x01binary\xff\xfe payload"


def case_return_empty_bytes(event: Any, context: Any) -> Any:
    return b""


def case_return_bytearray(event: Any, context: Any) -> Any:
    # Not bytes, so both must treat it as a JSON value (simplejson cannot: MarshalError).
    return bytearray(b"abc")


def case_return_unicode(event: Any, context: Any) -> Any:
    return {
        "latin": "héllo wörld ünïcödé ñ ß",
        "emoji": "😀🎉👩‍💻",
        "cjk": "日本語 中文 한국어",
        "rtl": "مرحبا שלום",
        "keys_äöü": "values",
        "nbsp": "a\u00a0b",
        "line_separators": "a\u2028b\u2029c",
        "bom": "\ufeff",
    }


def case_return_control_chars(event: Any, context: Any) -> Any:
    return "".join(chr(i) for i in range(32)) + "\x7f\x80\x9f"


def case_return_nested(event: Any, context: Any) -> Any:
    value: Any = {"leaf": ["x", 1, None]}
    for depth in range(60):
        value = {"depth": depth, "child": value, "list": [value] if depth % 10 == 0 else []}
    return value


def case_return_non_str_keys(event: Any, context: Any) -> Any:
    return {7: "int", None: "none", False: "bool", 2.5: "float", "s": "str"}


def case_return_key_order(event: Any, context: Any) -> Any:
    return {"z": 1, "a": 2, "m": 3, "0": 4, "é": 5}


def case_return_1mb(event: Any, context: Any) -> Any:
    return {"data": "x" * 1_000_000}


def case_return_5mb(event: Any, context: Any) -> Any:
    # Many small, varied objects: exercises the encoder, not one long string.
    return [
        {"id": i, "name": f"item-{i}", "price": i * 0.25, "tags": ["a", "ü", "😀"], "ok": i % 3 == 0, "n": None}
        for i in range(60_000)
    ]


def case_large_event_summary(event: Any, context: Any) -> Any:
    return {"size": len(event["blob"]), "head": event["blob"][:20], "keys": sorted(event)}


class Colour(enum.IntEnum):
    RED = 1


class Mode(str, enum.Enum):
    FAST = "fast"


class MyDict(dict):  # type: ignore[type-arg]
    pass


Point = collections.namedtuple("Point", ["x", "y"])


def case_return_int_enum(event: Any, context: Any) -> Any:
    return {"colour": Colour.RED}


def case_return_str_enum(event: Any, context: Any) -> Any:
    return {"mode": Mode.FAST}


def case_return_dict_subclass(event: Any, context: Any) -> Any:
    return MyDict(a=1, nested=collections.OrderedDict([("z", 1), ("a", 2)]))


def case_return_namedtuple(event: Any, context: Any) -> Any:
    # simplejson (awslambdaric) writes namedtuples as objects ({"x": 1, "y": 2}).
    return {"point": Point(1, 2), "points": [Point(3, 4)]}


# ---- results that cannot be serialized --------------------------------------------------


def case_unserializable_set(event: Any, context: Any) -> Any:
    return {"s": {1, 2}}


def case_unserializable_object(event: Any, context: Any) -> Any:
    return [object()]


def case_unserializable_datetime(event: Any, context: Any) -> Any:
    return {"when": datetime.datetime(2026, 11, 23, 10, 0, 0)}


def case_unserializable_tuple_key(event: Any, context: Any) -> Any:
    return {(1, 2): "tuple key"}


def case_unserializable_nested_deep(event: Any, context: Any) -> Any:
    return {"a": [1, 2, {"b": frozenset([1])}]}


def case_unserializable_circular(event: Any, context: Any) -> Any:
    value: dict[str, Any] = {"name": "loop"}
    value["self"] = value
    return value


def case_unserializable_circular_list(event: Any, context: Any) -> Any:
    items: list[Any] = [1]
    items.append(items)
    return {"items": items}


# ---- NaN and Infinity: compared by their own test (awslambdaric sends invalid JSON) -------


def case_nan_float(event: Any, context: Any) -> Any:
    return {"nan": float("nan")}


def case_infinity_float(event: Any, context: Any) -> Any:
    return [float("inf"), float("-inf")]


def case_nan_decimal(event: Any, context: Any) -> Any:
    return {"nan": decimal.Decimal("NaN"), "snan": decimal.Decimal("sNaN")}


# ---- events that are not JSON ------------------------------------------------------------


def describe_event(event: Any, context: Any) -> Any:
    if isinstance(event, bytes):
        return {"type": "bytes", "hex": event.hex()}
    return {"type": type(event).__name__, "event": event}


# ---- exceptions ----------------------------------------------------------------------------


class PaymentDeclined(Exception):
    pass


class CardExpired(PaymentDeclined):
    def __init__(self, card: str, month: int) -> None:
        super().__init__(card, month)

    def __str__(self) -> str:
        return f"card {self.args[0]} expired in month {self.args[1]}"


def case_raise_value_error_multiline(event: Any, context: Any) -> Any:
    raise ValueError("bad thing\nsecond line\n\tthird, indented")


def case_raise_custom(event: Any, context: Any) -> Any:
    raise PaymentDeclined("insufficient funds")


def case_raise_custom_str(event: Any, context: Any) -> Any:
    raise CardExpired("4111", 7)


def case_raise_no_message(event: Any, context: Any) -> Any:
    raise RuntimeError()


def case_raise_assert(event: Any, context: Any) -> Any:
    assert event == "never", "assertion with message"


def case_raise_chained(event: Any, context: Any) -> Any:
    try:
        {}["missing"]
    except KeyError as exc:
        raise RuntimeError("wrapped failure") from exc


def case_raise_implicit_chain(event: Any, context: Any) -> Any:
    try:
        print(1 / 0)
    except ZeroDivisionError:
        raise TypeError("while handling another") from None


def case_raise_during_handling(event: Any, context: Any) -> Any:
    try:
        int("x")
    except ValueError:
        return [][1]


def case_raise_deep(event: Any, context: Any) -> Any:
    return deep.level_one({"k": "v"})


def case_raise_non_ascii(event: Any, context: Any) -> Any:
    raise ValueError('échec: 日本語 😀 "quoted" \\ back')


def case_raise_key_error(event: Any, context: Any) -> Any:
    return event["no-such-key"]


def case_raise_lambda_and_comprehension(event: Any, context: Any) -> Any:
    fail = lambda x: x / 0  # noqa: E731
    return [fail(i) for i in range(3)]


def case_raise_zero_division(event: Any, context: Any) -> Any:
    return 1 / 0


def case_raise_huge_message(event: Any, context: Any) -> Any:
    # An X-Ray cause of 1 MiB or more is dropped by awslambdaric (the header is left out).
    raise ValueError("y" * (1024 * 1024 + 10))


def case_raise_os_error(event: Any, context: Any) -> Any:
    return open(os.path.join("/nonexistent-dir-conformance", "file.txt"))


def case_raise_repeated_frames(event: Any, context: Any) -> Any:
    # A fixed depth, not RecursionError: the frames below the handler differ between runtimes,
    # so "[Previous line repeated N more times]" at the recursion limit would too.
    def down(n: int) -> int:
        if n == 40:
            raise OverflowError("deep enough")
        return down(n + 1) + 1

    return down(0)


# ---- context ----------------------------------------------------------------------------------


def _client_context(context: Any) -> Any:
    cc = context.client_context
    if cc is None:
        return None
    client = cc.client
    return {
        "custom": cc.custom,
        "env": cc.env,
        "client": None
        if client is None
        else {
            "installation_id": client.installation_id,
            "app_title": client.app_title,
            "app_version_name": client.app_version_name,
            "app_version_code": client.app_version_code,
            "app_package_name": client.app_package_name,
        },
    }


def case_context(event: Any, context: Any) -> Any:
    remaining = context.get_remaining_time_in_millis()
    return {
        "aws_request_id": context.aws_request_id,
        "function_name": context.function_name,
        "function_version": context.function_version,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "memory_limit_type": type(context.memory_limit_in_mb).__name__,
        "invoked_function_arn": context.invoked_function_arn,
        "log_group_name": context.log_group_name,
        "log_stream_name": context.log_stream_name,
        "tenant_id": context.tenant_id,
        "identity": {
            "cognito_identity_id": context.identity.cognito_identity_id,
            "cognito_identity_pool_id": context.identity.cognito_identity_pool_id,
        },
        "identity_type": type(context.identity).__name__,
        "client_context": _client_context(context),
        "w3c": context.w3c(),
        "remaining_positive": remaining > 0,
        "remaining_type": type(remaining).__name__,
        "trace_env": os.environ.get("_X_AMZN_TRACE_ID"),
        "telemetry_env": os.environ.get("_LAMBDA_TELEMETRY_LOG_FD"),
        "repr": repr(context),
    }


# Both runtimes must give the same answer for the same context case; the id names the variant.
case_context_full = case_context
case_context_minimal = case_context
case_context_w3c_filtered = case_context
case_context_unicode = case_context
case_context_null_client_context = case_context
# Never reached: the context cannot be built.
case_bad_client_context = case_context
case_bad_cognito_identity = case_context


def case_context_deadline(event: Any, context: Any) -> Any:
    remaining = context.get_remaining_time_in_millis()
    return {"remaining_positive": remaining > 0, "remaining_type": type(remaining).__name__}


def case_context_invocation_id(event: Any, context: Any) -> Any:
    return {"request": context.aws_request_id}


def case_context_error_with_invocation_id(event: Any, context: Any) -> Any:
    raise ValueError("error with invocation id")


def case_sys_exit(event: Any, context: Any) -> Any:
    sys.exit(3)


def case_keyboard_interrupt(event: Any, context: Any) -> Any:
    raise KeyboardInterrupt


def case_return_lone_surrogate(event: Any, context: Any) -> Any:
    return {"s": "\ud800"}


class BadStr(Exception):
    def __str__(self) -> str:
        raise RuntimeError("__str__ itself fails")


def case_raise_bad_str(event: Any, context: Any) -> Any:
    raise BadStr("unprintable")


# Cases that only describe the event they got (for unmarshal-* the handler is never reached).
DESCRIBE_EVENT_PREFIXES = ("echo-", "event-", "unmarshal-")


def handler(event: Any, context: Any) -> Any:
    case_id = context.aws_request_id
    if case_id.startswith(DESCRIBE_EVENT_PREFIXES):
        return describe_event(event, context)
    return globals()["case_" + case_id.replace("-", "_")](event, context)


NOT_CALLABLE = 42
