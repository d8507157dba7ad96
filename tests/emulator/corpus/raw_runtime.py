"""A hand-written Runtime API client that does exactly what each event asks, to exercise
what awslambdaric cannot: streamed responses, trailers, bad headers, double posts.

Each event is {"action": ..., ...}; every answer the runtime receives is appended as one
JSON line to $RAW_LOG, so tests can check what the Runtime API said.
"""

import base64
import json
import os
import signal
import socket
import sys
import threading
import time

HOST, PORT = os.environ["AWS_LAMBDA_RUNTIME_API"].rsplit(":", 1)
LOG = os.environ["RAW_LOG"]
PREFIX = "/2018-06-01/runtime"


def log(**fields):
    with open(LOG, "a") as f:
        f.write(json.dumps(fields) + "\n")


def on_sigterm(signum, frame):
    log(what="sigterm")
    sys.exit(0)


signal.signal(signal.SIGTERM, on_sigterm)


def read_answer(sock):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed")
        body += chunk
    return status, headers, body


def exchange(request):
    with socket.create_connection((HOST, int(PORT))) as sock:
        sock.sendall(request)
        return read_answer(sock)


def post(path, body, headers=()):
    head = f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers)
    status, _, answer = exchange(head.encode() + b"\r\n" + body)
    return status, answer.decode()


def stream(path, pieces, trailers=(), headers=(), gate=None):
    head = (
        f"POST {path} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
        "Lambda-Runtime-Function-Response-Mode: streaming\r\nContent-Type: text/plain\r\n"
        "Trailer: Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body\r\n"
    )
    head += "".join(f"{k}: {v}\r\n" for k, v in headers)
    with socket.create_connection((HOST, int(PORT))) as sock:
        sock.sendall(head.encode() + b"\r\n")
        for i, piece in enumerate(pieces):
            data = piece.encode()
            sock.sendall(b"%x\r\n%s\r\n" % (len(data), data))
            if i == 0 and gate:
                # Hold the rest back until the test has seen the first piece.
                while not os.path.exists(gate):
                    time.sleep(0.01)
        sock.sendall(b"0\r\n" + b"".join(f"{k}: {v}\r\n".encode() for k, v in trailers) + b"\r\n")
        status, _, answer = read_answer(sock)
    return status, answer.decode()


def register_internal():
    """Register as an internal extension the way SIGTERM enablers do: first (wrongly) for
    SHUTDOWN, which must be refused, then for no events, parked in /event/next."""

    def register(events):
        body = json.dumps({"events": events}).encode()
        head = "POST /2020-01-01/extension/register HTTP/1.1\r\nHost: x\r\nLambda-Extension-Name: inproc\r\n"
        return exchange(head.encode() + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)

    status, _, answer = register(["SHUTDOWN"])
    log(what="register_shutdown", status=status, answer=answer.decode())
    status, headers, answer = register([])
    log(what="register_none", status=status, answer=answer.decode())
    identifier = headers["lambda-extension-identifier"]

    def park():
        request = (
            f"GET /2020-01-01/extension/event/next HTTP/1.1\r\nHost: x\r\nLambda-Extension-Identifier: {identifier}"
        )
        exchange(request.encode() + b"\r\n\r\n")

    threading.Thread(target=park, daemon=True).start()


def main():
    if os.environ.get("RAW_REGISTER_INTERNAL"):
        register_internal()
    while True:
        status, headers, body = exchange(f"GET {PREFIX}/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        rid = headers["lambda-runtime-aws-request-id"]
        inv = headers.get("lambda-runtime-invocation-id", "")
        log(what="next", status=status, headers=headers)
        event = json.loads(body)
        action = event.get("action")
        echo = [("Lambda-Runtime-Invocation-Id", inv)] if inv else []
        response = f"{PREFIX}/invocation/{rid}/response"
        if action == "stream":
            result = stream(response, event["pieces"], headers=echo, gate=event.get("gate"))
        elif action == "stream_error":
            error = json.dumps({"errorMessage": "broke", "errorType": "StreamBroke", "stackTrace": []})
            trailers = [
                ("Lambda-Runtime-Function-Error-Type", "StreamBroke"),
                ("Lambda-Runtime-Function-Error-Body", base64.b64encode(error.encode()).decode()),
            ]
            result = stream(response, event["pieces"], trailers=trailers, headers=echo)
        elif action == "bad_mode":
            result = post(response, b"{}", [("Lambda-Runtime-Function-Response-Mode", "buffered"), *echo])
        elif action == "too_big":
            result = post(response, b"z" * (6 * 1024 * 1024 + 101), echo)
        elif action == "wrong_ids":
            log(what="unknown_id", answer=post(f"{PREFIX}/invocation/nope/response", b"{}"))
            log(what="stale", answer=post(response, b"{}", [("Lambda-Runtime-Invocation-Id", "not-" + inv)]))
            result = post(response, b'"fine"', echo)
            log(what="second", answer=post(response, b'"again"', echo))
        else:
            result = post(response, json.dumps({"seen": event}).encode(), echo)
        log(what="posted", action=action, answer=result)


if __name__ == "__main__":
    main()
