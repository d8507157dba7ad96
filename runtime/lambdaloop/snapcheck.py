"""What a restored process holds that should differ between restores, for the emulator's
SnapStart uniqueness check (``lambdaloop invoke --snapstart``; Java has AWS's scanner, Python
had nothing).

Run in each restored process after the after-restore hooks and before the first invocation,
when the emulator asks (``_LAMBDALOOP_SNAPSTART_PROBE=DIR``): it writes ``DIR/PID.json``, its
findings ``{kind, where, digest, detail}`` and the time the check took. The emulator compares the restores: a
finding with the same digest in two of them is state that every environment restored from the
snapshot shares. Values are never written, only digests (``detail`` names an address at most).

Looked at: the function's own modules (files under the task root, not in a ``site-packages``
folder there), their globals and what
those hold up to three steps down (attributes, dict values, sequence items):

- ``random`` generators: ``random.Random`` instances and NumPy ``Generator``/``RandomState``
  (their state; the module-level ones are reseeded at restore by lambdaloop);
- ``uuid.UUID`` values of version 4 (made at init, so the same in every restore);

and, anywhere in the heap, connected sockets (opened before the snapshot and not reopened:
on Lambda their peer is gone after a restore) and botocore's static ``Credentials``.
"""

from __future__ import annotations

import gc
import hashlib
import json
import os
import sys
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_MAX_DEPTH = 3
_MAX_ITEMS = 200  # per container: a big cache must not make the check slow
_INSTALLED = f"{os.sep}site-packages{os.sep}"

Finding = dict[str, str]


def write_fingerprint(directory: str) -> None:
    """``DIR/PID.json``, whole or not at all (the emulator may read it at any moment after),
    with the time the check took, which the emulator leaves out of Restore Duration."""
    started = time.perf_counter()
    findings = fingerprint(os.environ.get("LAMBDA_TASK_ROOT") or os.getcwd())
    path = os.path.join(directory, f"{os.getpid()}.json")
    with open(path + ".part", "w") as f:
        json.dump({"findings": findings, "check_ms": (time.perf_counter() - started) * 1000}, f)
    os.replace(path + ".part", path)


def fingerprint(task_root: str) -> list[Finding]:
    walk = _Walk()
    root = os.path.join(os.path.realpath(task_root), "")
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if not isinstance(file, str) or name.partition(".")[0] == "lambdaloop":
            continue
        path = os.path.realpath(file)
        # A virtualenv inside the project folder is not the function's code.
        if not path.startswith(root) or _INSTALLED in path[len(root) :]:
            continue
        for attr, value in list(vars(module).items()):
            if not attr.startswith("__"):
                walk.visit(value, f"{name}.{attr}", 0)
    walk.heap()
    return walk.findings


def _digest(value: Any) -> str:
    return hashlib.sha256(_stable_bytes(value)).hexdigest()[:16]


def _stable_bytes(value: Any) -> bytes:
    """Bytes that change when the value does (``repr`` elides the middle of NumPy arrays)."""
    if isinstance(value, dict):
        items = sorted(value.items(), key=str)
        return b"{" + b",".join(_stable_bytes(k) + b":" + _stable_bytes(v) for k, v in items) + b"}"
    if isinstance(value, (list, tuple)):
        return b"[" + b",".join(_stable_bytes(v) for v in value) + b"]"
    tobytes = getattr(value, "tobytes", None)
    if callable(tobytes):
        return bytes(tobytes())
    return repr(value).encode()


class _Walk:
    def __init__(self) -> None:
        self.findings: list[Finding] = []
        self._seen: set[int] = set()
        self._random = sys.modules.get("random")
        self._uuid = sys.modules.get("uuid")
        self._socket = sys.modules.get("socket")

    def add(self, kind: str, where: str, state: Any, detail: str = "") -> None:
        self.findings.append({"kind": kind, "where": where, "digest": _digest(state), "detail": detail})

    def visit(self, value: Any, where: str, depth: int) -> None:
        try:
            self._visit(value, where, depth)
        except Exception:  # a proxy or a property that raises: that object is skipped, not the check
            return

    def _visit(self, value: Any, where: str, depth: int) -> None:
        if id(value) in self._seen or isinstance(value, (type, type(sys), type(_digest))):
            return
        self._seen.add(id(value))
        if self._classify(value, where):
            return
        if depth >= _MAX_DEPTH:
            return
        if isinstance(value, dict):
            for key, item in list(value.items())[:_MAX_ITEMS]:
                self.visit(item, f"{where}[{key!r}]", depth + 1)
        elif isinstance(value, (list, tuple, set, frozenset)):
            for index, item in enumerate(list(value)[:_MAX_ITEMS]):
                self.visit(item, f"{where}[{index}]", depth + 1)
        elif not isinstance(value, (str, bytes, int, float)):
            attributes = getattr(value, "__dict__", None)
            if isinstance(attributes, dict):
                for key, item in list(attributes.items())[:_MAX_ITEMS]:
                    self.visit(item, f"{where}.{key}", depth + 1)

    def _classify(self, value: Any, where: str) -> bool:
        """Record ``value`` if it is one of the kinds looked for; True if it was."""
        random = self._random
        if random is not None and isinstance(value, random.Random) and not isinstance(value, random.SystemRandom):
            self.add("random", where, value.getstate(), type(value).__name__)
            return True
        module = type(value).__module__ or ""
        if module.startswith("numpy.random"):
            if hasattr(value, "bit_generator"):
                self.add("random", where, value.bit_generator.state, "numpy.random.Generator")
                return True
            if hasattr(value, "get_state"):
                self.add("random", where, value.get_state(), "numpy.random.RandomState")
                return True
        if self._uuid is not None and isinstance(value, self._uuid.UUID) and value.version == 4:
            self.add("uuid", where, str(value))
            return True
        if self._socket is not None and isinstance(value, self._socket.socket):
            self._connected_socket(value, where)
            return True
        return False

    def _connected_socket(self, sock: Any, where: str | None) -> None:
        try:
            peer = sock.getpeername()
            identity = (sock.fileno(), sock.family, sock.type, sock.getsockname(), peer)
        except OSError:
            return  # closed, listening or never connected: nothing that breaks at a restore
        if where is None:
            where = f"a socket, file descriptor {identity[0]}"
        host_port = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) and len(peer) >= 2 else str(peer)
        self.add("socket", where, identity, host_port)

    def heap(self) -> None:
        """Sockets and static credentials held anywhere (a boto3 client's pool, an SDK's
        cache), not only where the function's globals lead."""
        credentials = getattr(sys.modules.get("botocore.credentials"), "Credentials", None)
        socket_type = getattr(self._socket, "socket", None)
        for obj in gc.get_objects():
            kind = type(obj)  # (never the object's own __class__: a proxy may raise there)
            try:
                if socket_type is not None and issubclass(kind, socket_type) and id(obj) not in self._seen:
                    self._seen.add(id(obj))
                    self._connected_socket(obj, None)
                elif credentials is not None and kind is credentials:
                    access_key = getattr(obj, "access_key", None)
                    if access_key:
                        self.add("credentials", f"botocore Credentials at 0x{id(obj):x}", access_key)
            except Exception:
                continue
