"""Logging as it reaches the RIE's output (the runtime's stdout and stderr pass through the RIE)."""

from __future__ import annotations

import json
import re
import uuid

from rieharness import RiePool

TEXT_TS = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"
# awslambdaric's JSON timestamps have whole seconds; a fraction would be a documented improvement.
JSON_TS = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z"


def test_text_logging_with_level_info(rie_pool: RiePool, runtime: str) -> None:
    server = rie_pool.shared(runtime, "app.logs", {"AWS_LAMBDA_LOG_LEVEL": "INFO"})
    tag = uuid.uuid4().hex
    mark = server.output_mark()
    res = server.invoke({"tag": tag})
    assert (res.status, res.json()) == (200, {"logged": tag}), res
    text = server.wait_output(f"print line {tag}", mark)
    text = server.wait_output(f"warning line {tag}", mark)
    rid = re.escape(res.request_id)
    assert re.search(rf"^\[INFO\]\t{TEXT_TS}\t{rid}\tinfo line {tag}$", text, re.M), text
    assert re.search(rf"^\[WARNING\]\t{TEXT_TS}\t{rid}\twarning line {tag}$", text, re.M), text
    assert f"debug line {tag}" not in text  # below the configured level
    assert re.search(rf"^print line {tag}$", text, re.M), text


def test_default_level_drops_info(rie_pool: RiePool, runtime: str) -> None:
    # Without AWS_LAMBDA_LOG_LEVEL the root logger stays at Python's default, WARNING.
    server = rie_pool.shared(runtime, "app.logs")
    tag = uuid.uuid4().hex
    mark = server.output_mark()
    res = server.invoke({"tag": tag})
    assert res.status == 200, res
    text = server.wait_output(f"warning line {tag}", mark)
    assert re.search(rf"^\[WARNING\]\t{TEXT_TS}\t{re.escape(res.request_id)}\twarning line {tag}$", text, re.M), text
    # Let the print (written last) arrive too, so an info line would have had its chance.
    text = server.wait_output(f"print line {tag}", mark)
    assert f"info line {tag}" not in text, text


def test_json_logging(rie_pool: RiePool, runtime: str) -> None:
    server = rie_pool.shared(runtime, "app.logs", {"AWS_LAMBDA_LOG_FORMAT": "JSON", "AWS_LAMBDA_LOG_LEVEL": "INFO"})
    tag = uuid.uuid4().hex
    mark = server.output_mark()
    res = server.invoke({"tag": tag})
    assert res.status == 200, res
    server.wait_output(f"print line {tag}", mark)
    text = server.wait_output(f"warning line {tag}", mark)
    records = [json.loads(line) for line in text.splitlines() if line.startswith("{") and tag in line]
    by_message = {r.get("message"): r for r in records}
    assert set(by_message) == {f"info line {tag}", f"warning line {tag}"}, text
    for level, record in (("INFO", by_message[f"info line {tag}"]), ("WARNING", by_message[f"warning line {tag}"])):
        # awslambdaric's key order for a plain record without a tenant.
        assert list(record) == ["timestamp", "level", "message", "logger", "requestId"], record
        assert record["level"] == level
        assert record["logger"] == "root"
        assert record["requestId"] == res.request_id
        assert re.fullmatch(JSON_TS, record["timestamp"]), record
    # print() is never reformatted.
    assert re.search(rf"^print line {tag}$", text, re.M), text


def test_json_logging_of_a_handler_error(rie_pool: RiePool, runtime: str) -> None:
    server = rie_pool.shared(runtime, "app.handler", {"AWS_LAMBDA_LOG_FORMAT": "JSON"})
    mark = server.output_mark()
    res = server.invoke({"case": "raise", "message": "json-logged failure"})
    assert res.json()["errorType"] == "ValueError"
    text = server.wait_output("json-logged failure", mark)
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{") and "json-logged failure" in line]
    assert len(lines) == 1, text
    record = lines[0]
    assert list(record) == ["timestamp", "level", "errorMessage", "errorType", "requestId", "stackTrace"], record
    assert (record["level"], record["errorType"], record["requestId"]) == ("ERROR", "ValueError", res.request_id)
    assert record["stackTrace"] == res.json()["stackTrace"]


def test_json_logging_carries_the_tenant_id(rie_pool: RiePool, runtime: str) -> None:
    server = rie_pool.shared(runtime, "app.logs", {"AWS_LAMBDA_LOG_FORMAT": "JSON", "AWS_LAMBDA_LOG_LEVEL": "INFO"})
    tag = uuid.uuid4().hex
    mark = server.output_mark()
    res = server.invoke({"tag": tag}, headers={"X-Amz-Tenant-Id": "tenant-log"})
    assert res.status == 200, res
    text = server.wait_output(f"print line {tag}", mark)
    text = server.wait_output(f"warning line {tag}", mark)
    records = [json.loads(line) for line in text.splitlines() if line.startswith("{") and tag in line]
    assert len(records) == 2, text
    for record in records:
        assert list(record) == ["timestamp", "level", "message", "logger", "requestId", "tenantId"], record
        assert (record["requestId"], record["tenantId"]) == (res.request_id, "tenant-log")
    # The tenant belongs to that invoke only.
    tag2 = uuid.uuid4().hex
    mark = server.output_mark()
    res2 = server.invoke({"tag": tag2})
    text = server.wait_output(f"warning line {tag2}", mark)
    later = [json.loads(line) for line in text.splitlines() if line.startswith("{") and tag2 in line]
    assert later and all("tenantId" not in r and r["requestId"] == res2.request_id for r in later), text
