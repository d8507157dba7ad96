"""The Extensions and Telemetry API calls over the runtime's own raw-socket transport.

Imports nothing heavy at module level (the runtime's start-up path registers through it).
One client is one keep-alive connection; ``event/next`` blocks on it for as long as the
platform likes (there is no client timeout, by the platform's rule), so a thread that waits
for events owns its client and nobody else sends on it.
"""

from __future__ import annotations

import sys

from .. import __version__
from ..transport import Connection, TransportError
from . import wire
from .events import Event, ExtensionAPIError, Registration

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .telemetry import Buffering


def user_agent() -> str:
    v = sys.version_info
    return f"lambdaloop-extension/{__version__} (python/{v.major}.{v.minor}.{v.micro})"


class ExtensionsClient:
    def __init__(self, address: str, connection: Connection | None = None) -> None:
        self.address = address
        self.connection = connection or Connection(address)
        self.user_agent = user_agent()
        self.extension_id = ""

    def _call(self, what: str, request: bytes) -> tuple[int, dict[str, str], bytes]:
        try:
            response = self.connection.request(request)
        except TransportError as exc:
            raise ExtensionAPIError(what, 0, "", str(exc)) from exc
        return response.status, response.headers, response.body

    def register(
        self, name: str, events: tuple[str, ...] | list[str], accept_features: tuple[str, ...] | list[str] = ()
    ) -> Registration:
        request = wire.register_request(self.address, name, events, self.user_agent, accept_features)
        registration = wire.parse_register(*self._call("register", request))
        self.extension_id = registration.extension_id
        return registration

    def register_id_only(self, name: str, events: tuple[str, ...] | list[str]) -> str:
        """Register without parsing the answer's body: the runtime's start-up path, no json."""
        request = wire.register_request(self.address, name, events, self.user_agent)
        self.extension_id = wire.extension_id_of(*self._call("register", request))
        return self.extension_id

    def next_event(self) -> Event:
        request = wire.event_next_request(self.address, self._require_id(), self.user_agent)
        return wire.parse_event(*self._call("event/next", request))

    def init_error(self, error_type: str, message: str, stack_trace: list[str] | None = None) -> None:
        self._report(wire.INIT_ERROR_PATH, "init/error", error_type, message, stack_trace)

    def exit_error(self, error_type: str, message: str, stack_trace: list[str] | None = None) -> None:
        self._report(wire.EXIT_ERROR_PATH, "exit/error", error_type, message, stack_trace)

    def _report(self, path: str, what: str, error_type: str, message: str, stack: list[str] | None) -> None:
        extension_id = self._require_id()
        request = wire.error_request(self.address, extension_id, self.user_agent, path, error_type, message, stack)
        status, _headers, body = self._call(what, request)
        if status != 202:
            raise wire.api_error(what, status, body)

    def subscribe_telemetry(
        self,
        types: tuple[str, ...] | list[str],
        buffering: Buffering,
        uri: str,
        schema_version: str | None = None,
    ) -> None:
        # Imported here: the runtime's internal extensions use this client at start-up and
        # never subscribe, so they must not pay for telemetry's json import.
        from . import telemetry

        schema_version = schema_version or telemetry.DEFAULT_SCHEMA_VERSION
        body = telemetry.subscribe_body(types, buffering, uri, schema_version)
        request = telemetry.subscribe_request(self.address, self._require_id(), self.user_agent, body)
        status, _headers, answer = self._call("telemetry subscribe", request)
        telemetry.check_subscribe_answer(status, answer)

    def close(self) -> None:
        self.connection.close()

    def _require_id(self) -> str:
        if not self.extension_id:
            raise ExtensionAPIError("extensions API", 0, "", "register first: there is no extension identifier yet")
        return self.extension_id
