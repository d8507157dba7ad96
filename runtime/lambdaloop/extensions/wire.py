"""The Extensions API (2020-01-01) as data: request bytes out, answers and events in.

No sockets, no clock, no environment: the same functions serve external extensions, the
runtime's internal ones and the tests. ``json`` is imported only where a body must be
parsed, because the runtime's start-up path (registering its SIGTERM extension) uses
``register_request`` and ``extension_id_of`` and must not pay for ``json`` (and ``re``).
"""

from __future__ import annotations

from .. import protocol
from .events import (
    EVENT_TYPES,
    INVOKE,
    SHUTDOWN,
    Event,
    ExtensionAPIError,
    InvokeEvent,
    Registration,
    ShutdownEvent,
    Tracing,
)

API_PREFIX = "/2020-01-01/extension"
REGISTER_PATH = f"{API_PREFIX}/register"
EVENT_NEXT_PATH = f"{API_PREFIX}/event/next"
INIT_ERROR_PATH = f"{API_PREFIX}/init/error"
EXIT_ERROR_PATH = f"{API_PREFIX}/exit/error"

H_NAME = "Lambda-Extension-Name"
H_ACCEPT_FEATURE = "Lambda-Extension-Accept-Feature"
H_IDENTIFIER = "Lambda-Extension-Identifier"
H_ERROR_TYPE = "Lambda-Extension-Function-Error-Type"
# Answer headers, lower-cased as the transport hands them over.
H_IDENTIFIER_IN = "lambda-extension-identifier"
H_EVENT_IDENTIFIER_IN = "lambda-extension-event-identifier"

ACCOUNT_ID_FEATURE = "accountId"
KNOWN_FEATURES = (ACCOUNT_ID_FEATURE,)
MAX_NAME_LENGTH = 256  # generous; RAPID itself only refuses names it cannot place


def head(method: str, path: str, host: str, headers: list[tuple[str, str]], body: bytes = b"") -> bytes:
    """A whole HTTP/1.1 request (the Runtime API's head builder, plus Content-Length and the
    body). Header values come from users here (names, identifiers): one line each or refused."""
    for name, value in headers:
        if "\r" in value or "\n" in value:
            raise ValueError(f"header {name} must be one line: {value!r}")
    return protocol.request_head(method, path, host, [*headers, ("Content-Length", str(len(body)))]) + body


def check_name(name: str) -> str:
    """Refuse names that cannot even travel in a header, before asking the platform."""
    if not name or len(name) > MAX_NAME_LENGTH or not name.isprintable() or not name.isascii():
        raise ValueError(f"an extension name must be 1-{MAX_NAME_LENGTH} printable ASCII characters, not {name!r}")
    if "/" in name:
        raise ValueError(f"an extension name is a file name, not a path: {name!r}")
    return name


def check_events(events: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    unknown = [e for e in events if e not in EVENT_TYPES]
    if unknown:
        raise ValueError(f"unknown event type(s) {unknown}: the Extensions API knows {list(EVENT_TYPES)}")
    return tuple(dict.fromkeys(events))  # order kept, duplicates dropped


def register_request(
    host: str,
    name: str,
    events: tuple[str, ...] | list[str],
    user_agent: str,
    accept_features: tuple[str, ...] | list[str] = (),
) -> bytes:
    """``POST /extension/register``. The body is written by hand: event names are two fixed
    words, and the runtime's start-up path must not import ``json`` for them."""
    check_name(name)
    body = ('{"events":[' + ",".join(f'"{e}"' for e in check_events(events)) + "]}").encode("ascii")
    headers = [(H_NAME, name), ("User-Agent", user_agent), ("Content-Type", "application/json")]
    if accept_features:
        headers.append((H_ACCEPT_FEATURE, ",".join(accept_features)))
    return head("POST", REGISTER_PATH, host, headers, body)


def event_next_request(host: str, extension_id: str, user_agent: str) -> bytes:
    return head("GET", EVENT_NEXT_PATH, host, [(H_IDENTIFIER, extension_id), ("User-Agent", user_agent)])


def error_request(
    host: str,
    extension_id: str,
    user_agent: str,
    path: str,
    error_type: str,
    message: str,
    stack_trace: list[str] | None = None,
) -> bytes:
    """``POST /extension/init/error`` or ``/exit/error``. The platform wants the type as
    ``Extension.<Reason>``; a bare reason is prefixed rather than refused."""
    import json

    if not error_type.startswith("Extension."):
        error_type = f"Extension.{error_type}"
    error_type = "".join(c if c.isascii() and c.isprintable() else "?" for c in error_type)
    payload = {"errorMessage": message, "errorType": error_type, "stackTrace": stack_trace or []}
    body = json.dumps(payload).encode("utf-8")
    headers = [
        (H_IDENTIFIER, extension_id),
        (H_ERROR_TYPE, error_type),
        ("User-Agent", user_agent),
        ("Content-Type", "application/json"),
    ]
    return head("POST", path, host, headers, body)


def api_error(what: str, status: int, body: bytes) -> ExtensionAPIError:
    """Turn a refusal into an exception carrying the platform's errorType, when it sent one."""
    error_type, message = "", body[:1024].decode("utf-8", "replace")
    if body[:1] == b"{":
        # The C scanner, not json: a refused registration (every worker but the first under
        # Lambda Managed Instances) happens on the start-up path, where json costs ~3 ms.
        from ..marshal import loads_json

        try:
            parsed = loads_json(body.decode("utf-8", "replace"))
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            error_type = str(parsed.get("errorType") or "")
            message = str(parsed.get("errorMessage") or message)
    return ExtensionAPIError(what, status, error_type, message)


def extension_id_of(status: int, headers: dict[str, str], body: bytes) -> str:
    """The identifier from a register answer, or the platform's refusal as an exception."""
    if status != 200:
        raise api_error("register", status, body)
    extension_id = headers.get(H_IDENTIFIER_IN, "")
    if not extension_id:
        raise ExtensionAPIError("register", status, "", f"the answer has no {H_IDENTIFIER} header")
    return extension_id


def parse_register(status: int, headers: dict[str, str], body: bytes) -> Registration:
    extension_id = extension_id_of(status, headers, body)
    import json

    try:
        info = json.loads(body) if body.strip() else {}
    except ValueError:
        info = {}
    if not isinstance(info, dict):
        info = {}
    account_id = info.get("accountId")
    return Registration(
        extension_id=extension_id,
        function_name=str(info.get("functionName", "")),
        function_version=str(info.get("functionVersion", "")),
        handler=str(info.get("handler", "")),
        account_id=str(account_id) if account_id else None,
    )


def parse_event(status: int, headers: dict[str, str], body: bytes) -> Event:
    """An ``/event/next`` answer as an InvokeEvent or ShutdownEvent.

    Raises ExtensionAPIError for a refusal (403, 500: the extension must exit) and
    ValueError for an answer that is not one of the two documented events."""
    if status != 200:
        raise api_error("event/next", status, body)
    import json

    try:
        data = json.loads(body)
    except ValueError as exc:
        raise ValueError(f"event/next answered a body that is not JSON: {body[:200]!r}") from exc
    if not isinstance(data, dict):
        raise ValueError(f"event/next answered {type(data).__name__}, not an object")
    event_id = headers.get(H_EVENT_IDENTIFIER_IN) or None
    deadline = data.get("deadlineMs")
    deadline_ms = int(deadline) if isinstance(deadline, (int, float)) and not isinstance(deadline, bool) else 0
    kind = str(data.get("eventType", "")).upper()
    if kind == INVOKE:
        tracing_data = data.get("tracing")
        tracing = None
        if isinstance(tracing_data, dict) and tracing_data.get("value"):
            tracing = Tracing(str(tracing_data.get("type", "")), str(tracing_data["value"]))
        return InvokeEvent(
            request_id=str(data.get("requestId", "")),
            deadline_ms=deadline_ms,
            invoked_function_arn=str(data.get("invokedFunctionArn", "")),
            tracing=tracing,
            event_id=event_id,
        )
    if kind == SHUTDOWN:
        return ShutdownEvent(str(data.get("shutdownReason", "")), deadline_ms, event_id)
    raise ValueError(f"unknown eventType {data.get('eventType')!r}")
