"""The Runtime API as calls: one client per process, on one keep-alive connection.

Each method sends one request built by ``protocol`` and returns what the platform answered
(an ``Invocation``, a ``PostOutcome``), or raises the transport's ``TransportError`` (or
``protocol.ProtocolError`` for a ``/next`` answer that names no invocation). None of them
logs, retries or ends the process: what a failure means is decided by the loop, the one
place with an exit policy. That keeps this client small enough to have an async sibling of
the same shape (many invocations per process, Lambda Managed Instances) and to be replaced
by a fake in tests that run the loop in-process.
"""

from __future__ import annotations

import sys

from . import __version__, protocol
from .marshal import json_bytes, to_json
from .transport import Connection

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

    from .errors import ErrorReport
    from .protocol import Invocation, PostOutcome
    from .upload import StreamUpload

# A body up to this size goes out in the same write as its head (one syscall, one packet for
# the usual small result); a larger one is sent as it is, never copied behind its head.
_COALESCE_LIMIT = 64 * 1024


def user_agent() -> str:
    v = sys.version_info
    return f"lambdaloop/{__version__} (python/{v.major}.{v.minor}.{v.micro})"


def error_request(host: str, user_agent: str, invocation: Invocation, report: ErrorReport) -> bytes:
    """The /error request for ``report`` (the X-Ray cause as ASCII-only JSON: a header is one
    line). Shared with the asyncio client."""
    return protocol.error_request(
        host,
        user_agent,
        invocation.request_id,
        json_bytes(report.body),
        report.error_type,
        to_json(report.xray_cause, ascii_only=True),
        invocation.invocation_id,
    )


class RuntimeClient:
    __slots__ = ("_next_request", "connection", "host", "user_agent")

    def __init__(self, address: str, user_agent: str, connection: Connection | None = None) -> None:
        self.host = address
        self.user_agent = user_agent
        self.connection = connection if connection is not None else Connection(address)
        self._next_request = protocol.next_request(address, user_agent)  # the same bytes every time

    def next(self) -> Invocation:
        """Block until the platform hands over the next invocation."""
        response = self.connection.request(self._next_request)
        return protocol.parse_next(response.status, response.headers, response.body)

    def respond(self, invocation: Invocation, body: bytes, content_type: str) -> PostOutcome:
        """Post a buffered response."""
        head = protocol.response_head(
            self.host, self.user_agent, invocation.request_id, len(body), content_type, invocation.invocation_id
        )
        if len(body) <= _COALESCE_LIMIT:
            response = self.connection.request(head + body)
        else:
            response = self.connection.request(head, body)
        return protocol.judge_post(response.status, response.body, f"/response for {invocation.request_id}")

    def fail(self, invocation: Invocation, report: ErrorReport) -> PostOutcome:
        """Post an invocation's error: its body, its error type, and the X-Ray cause."""
        response = self.connection.request(error_request(self.host, self.user_agent, invocation, report))
        return protocol.judge_post(response.status, response.body, f"/error for {invocation.request_id}")

    def init_error(self, report: ErrorReport, error_type: str | None = None) -> PostOutcome:
        """Post ``/init/error``: the function could not start."""
        return self._init_error(report, error_type or report.error_type, protocol.INIT_ERROR_PATH, "/init/error")

    def restore_error(self, report: ErrorReport, error_type: str) -> PostOutcome:
        """Post ``/restore/error``: SnapStart's after-restore hooks failed."""
        return self._init_error(report, error_type, protocol.RESTORE_ERROR_PATH, "/restore/error")

    def _init_error(self, report: ErrorReport, error_type: str, path: str, what: str) -> PostOutcome:
        request = protocol.init_error_request(self.host, self.user_agent, json_bytes(report.body), error_type, path)
        response = self.connection.request(request)
        return protocol.judge_post(response.status, response.body, what)

    def restore_next(self, headers: Sequence[tuple[str, str]] = ()) -> None:
        """SnapStart: wait at ``/restore/next`` while the platform snapshots and later restores
        this process. Raises ``ProtocolError`` unless the platform answers 200."""
        response = self.connection.request(protocol.restore_next_request(self.host, self.user_agent, headers))
        if response.status != 200:
            raise protocol.ProtocolError(f"/restore/next answered HTTP {response.status}: {response.body[:512]!r}")

    def open_stream(self, invocation: Invocation) -> StreamUpload:
        """A streamed response for ``invocation``: nothing is sent until its first write."""
        from .upload import StreamUpload  # only for a handler that streams: not at start-up

        return StreamUpload(
            self.connection, self.host, self.user_agent, invocation.request_id, invocation.invocation_id
        )

    def reset(self) -> None:
        """Drop the connection; the next call opens a new one (after a streamed response, as
        the Runtime API asks, and after a SnapStart restore, which TCP does not survive)."""
        self.connection.close()
