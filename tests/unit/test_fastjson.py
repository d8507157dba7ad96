"""The opt-in orjson codec: same values as the exact codec, compact bytes, exact fallbacks."""

from __future__ import annotations

import collections
import decimal
import pathlib
from typing import Any

import pytest
import simplejson

from lambdaloop.errors import FaultError
from lambdaloop.fastjson import dumps_result, loads_event
from lambdaloop.marshal import marshal_result, unmarshal_event


@pytest.mark.parametrize(
    "body",
    [b'{"a": [1, 2.5, null]}', b"18446744073709551615", b"123456789012345678901234567890",
     b'{"id": "12345678901234567890123", "n": 1}', b'"\\ud800"', b"1e400"],
)  # fmt: skip
def test_events_have_the_same_values(body: bytes) -> None:
    assert repr(loads_event(body, "application/json")) == repr(unmarshal_event(body, "application/json"))


def test_bad_events_keep_awslambdarics_message() -> None:
    with pytest.raises(FaultError, match="Unable to unmarshal input: Expecting"):
        loads_event(b'{"a" 1}', "application/json")
    assert loads_event(b"raw", "text/plain") == b"raw"


POINT = collections.namedtuple("POINT", "x y")


@pytest.mark.parametrize(
    "value",
    [{"a": 1, "b": [None, True, 0.1]}, {1: "k"}, decimal.Decimal("1.50"), POINT(1, 2), float("nan"), 2**70, "é"],
)
def test_results_have_the_same_json_values(value: Any) -> None:
    fast, content_type = dumps_result(value)
    exact, _ = marshal_result(value)
    assert content_type == "application/json"
    assert simplejson.loads(fast, use_decimal=True) == simplejson.loads(exact, use_decimal=True)
    assert b", " not in fast  # compact: the documented byte difference


def test_unserializable_results_keep_awslambdarics_message() -> None:
    with pytest.raises(FaultError, match="Object of type set is not JSON serializable"):
        dumps_result({1, 2})
    assert dumps_result(b"x") == (b"x", "application/unknown")


def test_without_orjson_the_error_says_how_to_get_it(tmp_path: pathlib.Path) -> None:
    # orjson is an extra (`lambdaloop[orjson]`): a stand-in that fails to import plays its absence.
    import os
    import subprocess
    import sys

    (tmp_path / "orjson.py").write_text("raise ImportError('No module named orjson')\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), *sys.path])}
    done = subprocess.run([sys.executable, "-c", "import lambdaloop.fastjson"], env=env, capture_output=True, text=True)
    assert done.returncode == 1
    assert "LAMBDALOOP_JSON=orjson needs orjson: pip install 'lambdaloop[orjson]'" in done.stderr
