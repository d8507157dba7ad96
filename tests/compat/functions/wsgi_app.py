"""apig-wsgi with a Flask app and with a plain WSGI callable (pure sync, no event loop)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from apig_wsgi import make_lambda_handler
from flask import Flask, Response, jsonify, request

app = Flask(__name__)


@app.get("/hello")
def hello() -> Any:
    return jsonify(hello=request.args.get("name", "world"), path=request.path)


@app.post("/echo")
def echo() -> Any:
    response = jsonify(received=request.get_json(), content_type=request.content_type)
    response.set_cookie("a", "1")
    response.set_cookie("b", "2")
    return response


@app.get("/pixel")
def pixel() -> Response:
    # Binary bodies come back base64-encoded when binary_support is on.
    return Response(b"\x89PNG\r\n\x1a\n\x00\xff", mimetype="image/png")


handler = make_lambda_handler(app, binary_support=True)


def plain_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    body = f"{environ['REQUEST_METHOD']} {environ['PATH_INFO']}?{environ['QUERY_STRING']}".encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


plain_handler = make_lambda_handler(plain_app)
