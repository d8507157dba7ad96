"""The same handlers, through the real RIE and through our emulator, give the same answers.

Both run awslambdaric as the runtime, and every invoke carries a fixed request id (both
platforms honour X-Amzn-RequestId), so bodies that mention it compare byte for byte.
"""

from __future__ import annotations

import json

import pytest

from lambdaloop.emulator import client

from .conftest import emulator, rie

CASES = {
    # handler: (timeout, invokes): two invokes where the second must start a fresh runtime
    "funcs.ok": (5.0, 2),
    "funcs.boom": (5.0, 2),
    "funcs.slow": (1.0, 2),
    "funcs.die": (5.0, 2),
    "funcs.big": (5.0, 1),
    "funcs.just_fits": (5.0, 1),
    "initerr.handler": (5.0, 2),
}


def _answers(address: str, invokes: int) -> list[tuple[int, str | None, bytes]]:
    answers = []
    for i in range(invokes):
        result = client.invoke(address, json.dumps({"i": i}).encode(), {"X-Amzn-RequestId": f"req-{i}"}, timeout=60)
        answers.append((result.status, result.headers.get("content-type"), result.body))
    return answers


@pytest.mark.parametrize("handler", sorted(CASES))
def test_same_answers_as_the_rie(rie_path: str, handler: str) -> None:
    timeout, invokes = CASES[handler]
    with rie(rie_path, handler, timeout_s=timeout) as real:
        expected = _answers(real.invoke_address, invokes)
    with emulator(handler, timeout_s=timeout) as ours:
        actual = _answers(ours.invoke_address, invokes)
    assert actual == expected


def test_what_the_runtime_sees_matches_except_the_trace_id(rie_path: str) -> None:
    headers = {
        "X-Amzn-RequestId": "req-ctx",
        "X-Amzn-Trace-Id": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
        "X-Amz-Client-Context": "eyJjdXN0b20iOnsiYSI6MX19",  # {"custom":{"a":1}}
        "X-Amz-Tenant-Id": "tenant-7",
    }
    with rie(rie_path, "funcs.context_seen") as real:
        expected = json.loads(client.invoke(real.invoke_address, b"{}", headers).body)
    with emulator("funcs.context_seen") as ours:
        actual = json.loads(client.invoke(ours.invoke_address, b"{}", headers).body)
    # The classic RIE drops X-Amzn-Trace-Id; Lambda (and we) pass it to the runtime.
    assert expected.pop("traceEnv") is None
    assert actual.pop("traceEnv") == headers["X-Amzn-Trace-Id"]
    assert actual == expected
    assert actual["clientContext"] == {"a": 1}
    assert actual["requestId"] == "req-ctx"
    assert actual["arn"] == "arn:aws:lambda:us-east-1:012345678912:function:test_function"


def test_next_headers_match_the_rie(rie_path: str, tmp_path) -> None:
    """What the runtime's /next answer carries, header by header, through both platforms."""
    from .conftest import RAW_RUNTIME, read_jsonl

    headers = {
        "X-Amzn-RequestId": "req-raw",
        "X-Amz-Client-Context": "eyJjdXN0b20iOnsiYSI6MX19",
        "X-Amz-Tenant-Id": "tenant-7",
        "X-Amzn-Trace-Id": "Root=1-abc",
    }
    seen = {}
    for name, start in (
        ("rie", lambda env: rie(rie_path, "x.y", RAW_RUNTIME, env=env)),
        ("ours", lambda env: emulator("x.y", RAW_RUNTIME, env=env)),
    ):
        log = tmp_path / f"{name}.jsonl"
        with start({"RAW_LOG": str(log)}) as running:
            result = client.invoke(running.invoke_address, b'{"action": "echo"}', headers)
            assert result.status == 200
        seen[name] = next(r for r in read_jsonl(log) if r["what"] == "next")["headers"]
    for platform in seen.values():
        platform.pop("date", None)
        deadline = int(platform.pop("lambda-runtime-deadline-ms"))
        assert deadline > 0
    # Our additions: the trace id the RIE drops, the invocation id of the 2026 protocol.
    assert seen["ours"].pop("lambda-runtime-trace-id") == "Root=1-abc"
    assert len(seen["ours"].pop("lambda-runtime-invocation-id")) == 36
    assert seen["ours"] == seen["rie"]
