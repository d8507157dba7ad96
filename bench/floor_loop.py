"""The floor: the least a pure-Python Runtime API loop can do, to judge runtimes against.

One kept-alive raw socket, HTTP/1.1 written and read by hand, stdlib ``json``, the handler
called with no context; no error handling, no logging, no headers beyond the request id.
``_socket`` rather than ``socket`` so its start-up does not pay for ``enum``/``selectors``.
Reads Content-Length and chunked answers (the RIE chunks large events). Env: as Lambda's
(AWS_LAMBDA_RUNTIME_API, _HANDLER, LAMBDA_TASK_ROOT).
"""

import _socket
import json
import os
import sys
from importlib import import_module


# 64 KiB reads: a 1 MiB recv buffer is malloc'd by mmap and unmapped again on every call,
# which cost ~20 µs per invoke here (an earlier version of this floor was slower than lambdaloop).
class Reader:
    def __init__(self, sock: _socket.socket) -> None:
        self.sock, self.buf = sock, b""

    def until(self, mark: bytes) -> bytes:
        while (end := self.buf.find(mark)) < 0:
            self.buf += self.sock.recv(65536) or sys.exit("Runtime API closed the connection")
        out, self.buf = self.buf[:end], self.buf[end + len(mark) :]
        return out

    def take(self, n: int) -> bytes:
        while len(self.buf) < n:
            self.buf += self.sock.recv(65536) or sys.exit("Runtime API closed the connection")
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def answer(self) -> tuple[dict[bytes, bytes], bytes]:
        lines = self.until(b"\r\n\r\n").split(b"\r\n")
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(b":") for line in lines[1:])}
        if b"content-length" in headers:
            return headers, self.take(int(headers[b"content-length"]))
        chunks = []
        while size := int(self.until(b"\r\n").split(b";")[0], 16):
            chunks.append(self.take(size))
            self.until(b"\r\n")
        while self.until(b"\r\n"):  # trailers, then an empty line
            pass
        return headers, b"".join(chunks)


def main() -> None:
    host, _, port = os.environ["AWS_LAMBDA_RUNTIME_API"].rpartition(":")
    sys.path.insert(0, os.environ.get("LAMBDA_TASK_ROOT", os.getcwd()))
    module, _, name = os.environ["_HANDLER"].rpartition(".")
    handler = getattr(import_module(module), name)
    sock = _socket.socket(_socket.AF_INET, _socket.SOCK_STREAM)
    sock.setsockopt(_socket.IPPROTO_TCP, _socket.TCP_NODELAY, 1)
    sock.connect((host, int(port)))
    reader = Reader(sock)
    host_line = f"Host: {host}:{port}\r\n".encode()
    get_next = b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\n" + host_line + b"\r\n"
    while True:
        sock.sendall(get_next)
        headers, event = reader.answer()
        body = json.dumps(handler(json.loads(event), None)).encode()
        request_id = headers[b"lambda-runtime-aws-request-id"]
        head = b"POST /2018-06-01/runtime/invocation/%s/response HTTP/1.1\r\n%sContent-Length: %d\r\n\r\n"
        sock.sendall(head % (request_id, host_line, len(body)) + body)
        reader.answer()


if __name__ == "__main__":
    main()
