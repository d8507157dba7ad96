"""Which endpoint a request line names, as a pure function (no state, no I/O).

Both emulator ports share it: the Runtime API port serves the runtime, extension and
telemetry routes; the invoke port serves the two invoke routes. A path that matches no
route maps to ``None`` and the server answers 404, as RAPID does.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote_to_bytes

from lambdaloop import protocol

EXTENSION_PREFIX = "/2020-01-01/extension"
REGISTER_PATH = f"{EXTENSION_PREFIX}/register"
EVENT_NEXT_PATH = f"{EXTENSION_PREFIX}/event/next"
EXTENSION_INIT_ERROR_PATH = f"{EXTENSION_PREFIX}/init/error"
EXTENSION_EXIT_ERROR_PATH = f"{EXTENSION_PREFIX}/exit/error"
TELEMETRY_PATH = "/2022-07-01/telemetry"
LOGS_PATH = "/2020-08-15/logs"
INVOKE_PATH = "/2015-03-31/functions/function/invocations"
STREAM_INVOKE_PATH = "/2021-11-15/functions/function/response-streaming-invocations"
_INVOCATION_PREFIX = f"{protocol.RUNTIME_PREFIX}/invocation/"


@dataclass(frozen=True, slots=True)
class Route:
    name: str
    request_id: str = ""


# (method, path) -> route name, for the fixed paths.
_FIXED = {
    ("GET", protocol.NEXT_PATH): "next",
    ("POST", protocol.INIT_ERROR_PATH): "init_error",
    ("GET", protocol.RESTORE_NEXT_PATH): "restore_next",
    ("POST", protocol.RESTORE_ERROR_PATH): "restore_error",
    ("POST", REGISTER_PATH): "ext_register",
    ("GET", EVENT_NEXT_PATH): "ext_next",
    ("POST", EXTENSION_INIT_ERROR_PATH): "ext_init_error",
    ("POST", EXTENSION_EXIT_ERROR_PATH): "ext_exit_error",
    ("PUT", TELEMETRY_PATH): "telemetry_subscribe",
    ("PUT", LOGS_PATH): "logs_subscribe",
    ("GET", "/ping"): "ping",
}


def runtime_route(method: str, path: str) -> Route | None:
    """Route a request on the Runtime API port."""
    name = _FIXED.get((method, path))
    if name is not None:
        return Route(name)
    if method == "POST" and path.startswith(_INVOCATION_PREFIX):
        request_id, sep, action = path[len(_INVOCATION_PREFIX) :].rpartition("/")
        if sep and request_id and "/" not in request_id and action in ("response", "error"):
            # The emulator keeps header bytes as latin-1 text; the runtime percent-encodes the
            # exact bytes it was sent, so the id decodes back to the same text.
            return Route(action, unquote_to_bytes(request_id).decode("latin-1"))
    return None


def invoke_route(method: str, path: str) -> Route | None:
    """Route a request on the invoke port. Like the classic RIE, any method invokes
    (tools send GET by mistake and expect an answer); the function name must be ``function``."""
    if path == INVOKE_PATH:
        return Route("invoke")
    if path == STREAM_INVOKE_PATH:
        return Route("invoke_stream")
    if method == "GET" and path == "/ping":
        return Route("ping")
    return None
