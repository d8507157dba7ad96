"""apig-wsgi (Flask and a plain WSGI app) through the real loop, compared with awslambdaric."""

from __future__ import annotations

import base64
import json

import pytest

from .conftest import Functions, http_event

pytest.importorskip("apig_wsgi", reason="apig-wsgi is not installed (pip install -e '.[compat]')")
pytest.importorskip("flask", reason="flask is not installed (pip install -e '.[compat]')")


def test_flask_behind_apig_wsgi(functions: Functions) -> None:
    events = [
        http_event("apigw-v1", "GET", "/hello", query="name=ann"),
        http_event("apigw-v2", "POST", "/echo", body=json.dumps({"x": [1, 2]})),
        http_event("apigw-v1", "POST", "/echo", body=json.dumps({"y": None})),
        http_event("apigw-v2", "GET", "/pixel"),
        http_event("apigw-v1", "GET", "/nowhere"),
    ]
    sessions = functions.both("wsgi_app.handler", events)
    ours, theirs = sessions["lambdaloop"], sessions["awslambdaric"]
    assert all(c.ok for c in ours.calls), ours.calls
    assert [c.result for c in ours.calls] == [c.result for c in theirs.calls]
    hello, echo_v2, echo_v1, pixel, missing = (c.result for c in ours.calls)
    assert json.loads(hello["body"]) == {"hello": "ann", "path": "/hello"}
    assert json.loads(echo_v2["body"])["received"] == {"x": [1, 2]}
    assert sorted(echo_v2["cookies"]) == ["a=1; Path=/", "b=2; Path=/"]  # HTTP API v2 shape
    assert sorted(echo_v1["multiValueHeaders"]["Set-Cookie"]) == ["a=1; Path=/", "b=2; Path=/"]
    assert pixel["isBase64Encoded"] is True
    assert base64.b64decode(pixel["body"]) == b"\x89PNG\r\n\x1a\n\x00\xff"
    assert missing["statusCode"] == 404


def test_plain_wsgi_app(functions: Functions) -> None:
    events = [http_event("apigw-v1", "GET", "/a/b", query="k=v"), http_event("apigw-v2", "DELETE", "/c")]
    sessions = functions.both("wsgi_app.plain_handler", events)
    ours, theirs = sessions["lambdaloop"], sessions["awslambdaric"]
    assert [c.result for c in ours.calls] == [c.result for c in theirs.calls]
    assert [c.result["body"] for c in ours.calls] == ["GET /a/b?k=v", "DELETE /c?"]
