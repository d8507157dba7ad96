"""Where forwarded lines go: a file (appended, flushed per batch) or a UDP socket (one datagram
per line, as statsd-style collectors expect). Chosen by LOG_FORWARDER_TARGET:

    file:///tmp/forwarded.jsonl     (the default is file:///tmp/log-forwarder.jsonl)
    udp://127.0.0.1:8125
"""

from __future__ import annotations

import contextlib
import socket
import threading
from typing import Protocol


class Sink(Protocol):
    def write(self, lines: list[bytes]) -> None: ...

    def close(self) -> None: ...


class FileSink:
    def __init__(self, path: str) -> None:
        self._file = open(path, "ab")  # noqa: SIM115 - kept open for the extension's life
        # INVOKE events (the extension's main thread) and telemetry batches (the listener's
        # thread) write concurrently; a batch stays together, and nothing writes after close.
        self._lock = threading.Lock()

    def write(self, lines: list[bytes]) -> None:
        with self._lock:
            if self._file.closed:
                return
            self._file.write(b"".join(line + b"\n" for line in lines))
            self._file.flush()  # the environment may be frozen right after this batch

    def close(self) -> None:
        with self._lock:
            self._file.close()


class UdpSink:
    def __init__(self, host: str, port: int) -> None:
        self._address = (host, port)
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

    def write(self, lines: list[bytes]) -> None:
        for line in lines:
            # A collector that is not there must not stop the function's logs.
            with contextlib.suppress(OSError):
                self._sock.sendto(line, self._address)

    def close(self) -> None:
        self._sock.close()


def open_sink(target: str) -> Sink:
    if target.startswith("file://"):
        return FileSink(target[len("file://") :])
    if target.startswith("udp://"):
        host, _, port = target[len("udp://") :].rpartition(":")
        return UdpSink(host or "127.0.0.1", int(port))
    raise ValueError(f"LOG_FORWARDER_TARGET must be file://PATH or udp://HOST:PORT, not {target!r}")
