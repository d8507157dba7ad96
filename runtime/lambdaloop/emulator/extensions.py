"""The Extensions API's bookkeeping: who registered, for what, and who is waiting.

Validation is pure (``check_registration``) and mirrors RAPID's classic rules: names of
executables found in the extensions directory are external, any other name is internal;
internal extensions may not register for SHUTDOWN; at most 10 extensions; registration
closes when the runtime first calls ``/next``. Event delivery uses one asyncio queue per
extension, so an event sent while the extension is busy waits for its next ``/event/next``.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

VALID_EVENTS = frozenset({"INVOKE", "SHUTDOWN"})
MAX_EXTENSIONS = 10


class RegistrationRefused(Exception):
    def __init__(self, error_type: str, message: str, status: int = 403) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.status = status


@dataclass(eq=False)
class Extension:
    name: str
    identifier: str
    events: frozenset[str]
    internal: bool
    queue: asyncio.Queue[dict[str, object]] = field(default_factory=asyncio.Queue)
    waiting: bool = False
    # Set once the extension reported init/exit error: it gets no more events.
    error_type: str | None = None


def check_registration(
    name: str | None,
    events: object,
    registered: Iterable[str],
    external_names: Iterable[str],
    closed: bool,
) -> tuple[frozenset[str], bool]:
    """Validate a register call; returns (events, internal) or raises RegistrationRefused."""
    if closed:
        raise RegistrationRefused("Extension.RegistrationClosed", "Extension registration closed already")
    if not name:
        raise RegistrationRefused("Extension.InvalidExtensionName", "Empty extension name")
    registered = list(registered)
    if name in registered:
        raise RegistrationRefused("Extension.InvalidExtensionState", f"Extension {name} is already registered")
    if len(registered) >= MAX_EXTENSIONS:
        raise RegistrationRefused("Extension.TooManyExtensions", "Too many extensions registered")
    if not isinstance(events, list) or not all(isinstance(e, str) for e in events):
        raise RegistrationRefused("InvalidRequestFormat", "events must be a list of strings", 400)
    unknown = [e for e in events if e not in VALID_EVENTS]
    if unknown:
        raise RegistrationRefused("Extension.InvalidEventType", f"Unknown event types {unknown}")
    internal = name not in set(external_names)
    if internal and "SHUTDOWN" in events:
        raise RegistrationRefused("Extension.InvalidEventType", "ShutdownEventNotSupportedForInternalExtension")
    return frozenset(events), internal


class Registry:
    def __init__(self, external_names: Iterable[str] = ()) -> None:
        self.external_names = set(external_names)
        self.by_id: dict[str, Extension] = {}
        self.closed = False

    def register(self, name: str | None, events: object) -> Extension:
        accepted, internal = check_registration(
            name, events, (e.name for e in self.by_id.values()), self.external_names, self.closed
        )
        assert name is not None
        extension = Extension(name, str(uuid.uuid4()), accepted, internal)
        self.by_id[extension.identifier] = extension
        return extension

    def get(self, identifier: str | None) -> Extension | None:
        return self.by_id.get(identifier or "")

    @property
    def any_registered(self) -> bool:
        return bool(self.by_id)

    def all_waiting(self) -> bool:
        """The platform holds an invoke until every registered extension sits in /event/next."""
        return all(e.waiting or e.error_type for e in self.by_id.values())

    def registered_external(self) -> set[str]:
        return {e.name for e in self.by_id.values() if not e.internal}

    def broadcast(self, event_type: str, payload: dict[str, object]) -> list[Extension]:
        targets = [e for e in self.by_id.values() if event_type in e.events and not e.error_type]
        for extension in targets:
            extension.queue.put_nowait(payload)
        return targets


def invoke_event(deadline_ms: int, request_id: str, function_arn: str, trace_id: str | None) -> dict[str, object]:
    event: dict[str, object] = {
        "eventType": "INVOKE",
        "deadlineMs": deadline_ms,
        "requestId": request_id,
        "invokedFunctionArn": function_arn,
    }
    if trace_id:
        event["tracing"] = {"type": "X-Amzn-Trace-Id", "value": trace_id}
    return event


def shutdown_event(reason: str, deadline_ms: int) -> dict[str, object]:
    # Classic RAPID (and the RIE) say "SandboxTerminated"/"spindown"; the docs list
    # SPINDOWN | TIMEOUT | FAILURE. We send the documented upper-case values.
    return {"eventType": "SHUTDOWN", "shutdownReason": reason, "deadlineMs": deadline_ms}
