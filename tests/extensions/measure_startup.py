"""What the SIGTERM internal extension adds to a cold start: spawn of ``python -m lambdaloop``
to its first ``/next``, with ``LAMBDALOOP_SIGTERM=0`` and without, interleaved.

    PYTHONDONTWRITEBYTECODE= python tests/extensions/measure_startup.py [RUNS]

Not a test (timings do not belong in pass/fail); the figure is quoted in the package docs.
A minimal Runtime API on loopback answers register with an identifier, keeps event/next
waiting, and notes when the first /next arrives.
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

FUNCTIONS = Path(__file__).resolve().parent / "functions"


class MiniApi:
    """``hold_next``: keep /next waiting (as the platform does between invokes) instead of
    closing it, which ends the runtime: the measurement wants the latter, the SIGTERM
    tests the former."""

    def __init__(self, hold_next: bool = False) -> None:
        self.hold_next = hold_next
        self.registered: list[bytes] = []
        self.server = socket.create_server(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self.server.getsockname()[1]}"
        self.first_next = threading.Event()
        self.first_next_at = 0.0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                data += chunk
            line = data.split(b"\r\n", 1)[0]
            if b"/invocation/next" in line:
                self.first_next_at = time.perf_counter()
                self.first_next.set()
                if self.hold_next:
                    conn.recv(65536)  # until the runtime goes away
                return  # closing ends the runtime: one sample done
            if b"/extension/register" in line:
                self.registered.append(data)
                body = b'{"functionName":"f","functionVersion":"$LATEST","handler":"h"}'
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\nLambda-Extension-Identifier: id-1\r\nContent-Length: %d\r\n\r\n%s"
                    % (len(body), body)
                )
                conn.recv(65536)  # event/next: never answered, as for an extension with no events
                return

    def close(self) -> None:
        self.server.close()


def sample(sigterm: bool) -> float:
    api = MiniApi()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "_LAMBDA"))}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(AWS_LAMBDA_RUNTIME_API=api.address, LAMBDALOOP_SIGTERM="1" if sigterm else "0")
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "lambdaloop", "noop.handler"],
        cwd=FUNCTIONS,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        if not api.first_next.wait(10):
            raise RuntimeError("no /next within 10 s")
        return (api.first_next_at - started) * 1000
    finally:
        proc.kill()
        proc.wait()
        api.close()


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    for warm in (True, False):
        sample(warm)  # fill the page cache and the .pyc files
    on: list[float] = []
    off: list[float] = []
    for _ in range(runs):
        off.append(sample(False))
        on.append(sample(True))
    for label, values in (("LAMBDALOOP_SIGTERM=0", off), ("SIGTERM extension on", on)):
        q = statistics.quantiles(values, n=4)
        print(f"{label:22s} median {statistics.median(values):6.2f} ms  (quartiles {q[0]:.2f} to {q[2]:.2f})")
    added = statistics.median(on) - statistics.median(off)
    print(f"added: {added:+.2f} ms (difference of the medians, {runs} runs each)")


if __name__ == "__main__":
    main()
