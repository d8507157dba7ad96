"""One real RIE (classic mode) on loopback running a contender, and one kept-alive invoker.

Classic mode because it runs unprivileged and starts the command it is given; it is
single-concurrency (an overlapping invoke crashes it), so invokes here are strictly
sequential on one connection. The RIE starts the runtime lazily, at the first invoke.
"""

from __future__ import annotations

import http.client
from collections.abc import Sequence

from _proc import Child, free_port, memory_kib, wait_process_listening

INVOKE_PATH = "/2015-03-31/functions/function/invocations"


def rie_binary() -> str:
    from lambdaloop.rie import ensure_rie

    return str(ensure_rie())


class RieSession:
    def __init__(self, rie: str, argv: Sequence[str], env: dict[str, str], cwd: str, log_path: str) -> None:
        self.port = free_port()
        cmd = [
            rie,
            "--runtime-interface-emulator-address",
            f"127.0.0.1:{self.port}",
            "--runtime-api-address",
            f"127.0.0.1:{free_port()}",
            "--log-level",
            "error",
            *argv,
        ]
        self.child = Child(cmd, env, cwd, log_path)
        self.conn: http.client.HTTPConnection | None = None

    def wait_ready(self, limit: float = 10.0) -> None:
        wait_process_listening(self.child.proc, self.port, limit)

    def invoke(self, body: bytes) -> tuple[int, bytes]:
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        self.conn.request("POST", INVOKE_PATH, body=body, headers={"Content-Type": "application/json"})
        answer = self.conn.getresponse()
        return answer.status, answer.read()

    def runtime_memory(self) -> dict[str, int]:
        """RSS and PSS of everything under the RIE (the runtime's process tree)."""
        return memory_kib(self.child.remember()[1:])

    def stop(self) -> None:
        if self.conn is not None:
            self.conn.close()
        self.child.stop()
