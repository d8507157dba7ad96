"""An external extension for the tests: registers under its file name for INVOKE and
SHUTDOWN, subscribes to the Telemetry API with a loopback listener, and appends everything
it sees to $EXT_LOG as JSON lines. With $EXT_DELAY it takes that long before asking for the
next event after an INVOKE (to prove the platform waits for it)."""

import http.server
import json
import os
import socket
import sys
import threading
import time
import urllib.request

API = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"]
LOG = os.environ["EXT_LOG"]
NAME = os.path.basename(sys.argv[0])
lock = threading.Lock()


def log(**fields):
    with lock, open(LOG, "a") as f:
        f.write(json.dumps(fields) + "\n")


class Listener(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        log(what="telemetry", batch=json.loads(body))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def call(method, path, body=None, headers=None):
    request = urllib.request.Request(API + path, data=body, method=method, headers=headers or {})
    with urllib.request.urlopen(request) as answer:
        return answer.status, dict(answer.headers), answer.read()


def main():
    status, headers, body = call(
        "POST",
        "/2020-01-01/extension/register",
        json.dumps({"events": ["INVOKE", "SHUTDOWN"]}).encode(),
        {"Lambda-Extension-Name": NAME, "Lambda-Extension-Accept-Feature": "accountId"},
    )
    identifier = headers["Lambda-Extension-Identifier"]
    log(what="registered", status=status, body=json.loads(body), env_handler=os.environ.get("_HANDLER"))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = http.server.HTTPServer(("127.0.0.1", port), Listener)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    subscription = {
        "schemaVersion": "2022-12-13",
        "types": ["platform", "function"],
        "buffering": {"maxItems": 1000, "maxBytes": 262144, "timeoutMs": 25},
        "destination": {"protocol": "HTTP", "URI": f"http://sandbox.localdomain:{port}/telemetry"},
    }
    status, _, body = call(
        "PUT",
        "/2022-07-01/telemetry",
        json.dumps(subscription).encode(),
        {"Lambda-Extension-Identifier": identifier, "Content-Type": "application/json"},
    )
    log(what="subscribed", status=status, body=body.decode())
    delay = float(os.environ.get("EXT_DELAY") or 0)
    while True:
        _, _, body = call("GET", "/2020-01-01/extension/event/next", None, {"Lambda-Extension-Identifier": identifier})
        event = json.loads(body)
        log(what="event", event=event)
        if event["eventType"] == "SHUTDOWN":
            return
        if delay:
            time.sleep(delay)
            log(what="back")


if __name__ == "__main__":
    main()
