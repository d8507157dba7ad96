"""The scaffolding the tests' fake Runtime APIs share: a TCP server on 127.0.0.1 that serves
each accepted connection on a daemon thread until ``close``."""

from __future__ import annotations

import socket
import threading
from typing import Any


class ThreadedServer:
    """Subclasses set their own state, then call ``super().__init__()`` (which starts
    accepting), and implement ``_serve(conn, number)``; ``number`` counts connections from 1."""

    def __init__(self) -> None:
        self.connections = 0
        self._stop = threading.Event()
        self._server = socket.create_server(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self._server.getsockname()[1]}"
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._server.close()

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._server.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn, self.connections), daemon=True).start()

    def _serve(self, conn: socket.socket, number: int) -> None:
        raise NotImplementedError
