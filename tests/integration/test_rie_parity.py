"""The same invokes through ``python -m awslambdaric`` and through lambdaloop, both on the RIE,
must give the same answers byte for byte (request ids normalised)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rieharness import InvokeResult, RiePool, RieServer

pytestmark = pytest.mark.lambdaloop_only  # comparing awslambdaric with itself proves nothing


def normalised(res: InvokeResult) -> tuple[int, bytes]:
    # Each side gets its own request id; everything else must match exactly.
    return res.status, res.body.replace(res.request_id.encode(), b"<request-id>")


# lambdaloop never escapes non-ASCII (a documented difference, README); awslambdaric does the
# same only on managed python3.12+ runtimes, which it recognises by AWS_EXECUTION_ENV. Comparing
# in that setting keeps the comparison byte for byte; test_non_ascii_differs_only_in_escaping
# covers awslambdaric's default.
PARITY_ENV = {"AWS_EXECUTION_ENV": "AWS_Lambda_python3.12"}


def both(
    pool: RiePool, runtime: str, handler: str, task_root: Path | None = None, env: dict[str, str] | None = None
) -> tuple[RieServer, RieServer]:
    kwargs = {} if task_root is None else {"task_root": task_root}
    env = PARITY_ENV if env is None else env
    return pool.shared(runtime, handler, env, **kwargs), pool.shared("awslambdaric", handler, env, **kwargs)


INVOKE_CASES: dict[str, bytes] = {
    "dict": json.dumps({"case": "dict"}).encode(),
    "str": json.dumps({"case": "str"}).encode(),
    "empty_str": json.dumps({"case": "empty_str"}).encode(),
    "none": json.dumps({"case": "none"}).encode(),
    "bytes": json.dumps({"case": "bytes"}).encode(),
    "unicode": json.dumps({"case": "unicode"}).encode(),
    "decimal": json.dumps({"case": "decimal"}).encode(),
    "list": json.dumps({"case": "list"}).encode(),
    "int": json.dumps({"case": "int"}).encode(),
    "raise": json.dumps({"case": "raise", "message": "multi\nline \u00e9 message"}).encode(),
    "raise_default": json.dumps({"case": "raise"}).encode(),
    "unserializable": json.dumps({"case": "unserializable"}).encode(),
    "tuple": json.dumps({"case": "tuple"}).encode(),
    "set": json.dumps({"case": "set"}).encode(),
    "non_str_keys": json.dumps({"case": "non_str_keys"}).encode(),
    "big_int": json.dumps({"case": "big_int"}).encode(),
    "floats": json.dumps({"case": "floats"}).encode(),
    "datetime": json.dumps({"case": "datetime"}).encode(),
    "nested_decimal": json.dumps({"case": "nested_decimal"}).encode(),
    "control_chars": json.dumps({"case": "control_chars"}).encode(),
    "invalid_json": b"{not json",
    "echo_list": b'[1, 2.5, "three", null, true, {"k": []}]',
    "echo_string": b'"just \\u00e9 text"',
    "echo_number": b"3.25",
    "echo_nested": json.dumps({"case": "echo", "deep": [[{"x": 1.0, "y": -0.0, "z": 1e300}]]}).encode(),
}


@pytest.mark.parametrize("case", list(INVOKE_CASES))
def test_same_answer_as_awslambdaric(rie_pool: RiePool, runtime: str, case: str) -> None:
    ours, theirs = both(rie_pool, runtime, "app.handler")
    mine = ours.invoke(INVOKE_CASES[case])
    reference = theirs.invoke(INVOKE_CASES[case])
    assert normalised(mine) == normalised(reference)


@pytest.mark.parametrize("handler", ["app", "sys.handler", "importerr.handler", "app.nope", "initexc.handler"])
def test_same_init_error_as_awslambdaric(rie_pool: RiePool, runtime: str, handler: str) -> None:
    ours, theirs = both(rie_pool, runtime, handler)
    assert normalised(ours.invoke({})) == normalised(theirs.invoke({}))


def test_same_syntax_error_as_awslambdaric(
    rie_pool: RiePool, runtime: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    root = tmp_path_factory.mktemp("syntax")
    (root / "syntaxerr.py").write_text("x = 1\nif x\n    pass\n")
    ours, theirs = both(rie_pool, runtime, "syntaxerr.handler", root)
    assert normalised(ours.invoke({})) == normalised(theirs.invoke({}))


@pytest.mark.parametrize("case", ["unicode", "raise", "echo_string"])
def test_non_ascii_differs_only_in_escaping(rie_pool: RiePool, runtime: str, case: str) -> None:
    ours, theirs = both(rie_pool, runtime, "app.handler", env={})
    mine, reference = ours.invoke(INVOKE_CASES[case]), theirs.invoke(INVOKE_CASES[case])
    assert mine.status == reference.status == 200
    assert b"\\u00e9" in reference.body  # awslambdaric's default escapes
    assert b"\\u" not in mine.body and "\u00e9".encode() in mine.body
    mine_value, reference_value = mine.json(), reference.json()
    if isinstance(reference_value, dict) and "requestId" in reference_value:
        assert mine_value.pop("requestId") == mine.request_id
        assert reference_value.pop("requestId") == reference.request_id
    assert mine_value == reference_value


def test_same_context_as_awslambdaric(rie_pool: RiePool, runtime: str) -> None:
    from rieharness import b64_json

    ours, theirs = both(rie_pool, runtime, "app.describe_context")
    headers = {"X-Amz-Client-Context": b64_json({"custom": {"a": 1}, "env": {"b": 2}}), "X-Amz-Tenant-Id": "t-9"}
    mine, reference = ours.invoke({}, headers=headers).json(), theirs.invoke({}, headers=headers).json()
    # Values that differ by nature between two processes and two invokes.
    for volatile in ("aws_request_id", "remaining_ms", "pid"):
        mine.pop(volatile)
        reference.pop(volatile)
    assert mine == reference
