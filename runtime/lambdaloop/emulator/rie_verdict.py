"""Did an invoke through AWS's RIE fail? Read from the RIE's own log, since its answer cannot say.

What the classic RIE answers the invoker (observed with the pinned binary):

- the runtime posted ``/response``: 200 and the result;
- the runtime posted ``/error``: **also 200**, the error JSON as the body, and no
  ``X-Amz-Function-Error`` header, so a handler that *returns* ``{"errorType": ...}`` looks the same;
- the runtime exited mid-invoke (or never started): 502;
- the function timed out: 200 and the text ``Task timed out after N.NN seconds``.

Its log does tell them apart. At ``--log-level debug`` it logs every Runtime API request:
``API request - POST /2018-06-01/runtime/invocation/<id>/error, Headers:map[...]``, the headers
holding ``Lambda-Runtime-Function-Error-Type:[T]``; and at any level a timeout logs
``Reset initiated: Timeout`` and a crash ``Invoke failed error=...``.
So ``lambdaloop invoke --rie`` runs the RIE at debug level, watches those lines, and shows the
user only the lines they would have seen at the default (info) level.

The rule has one blind spot: the runtime's own stdout/stderr share the RIE's pipe, so a
function that prints a line shaped exactly like the RIE's debug line would be taken at its word.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable

# `04 Dec 2026 12:22:13,767 [DEBUG] (rapid) message`: the RIE's own log line.
_RIE_LINE = re.compile(r"^\d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2},\d{3} \[(?P<level>[A-Z]+)\] \(rapid\) (?P<message>.*)$")
_ERROR_POST = re.compile(r"^API request - POST /2018-06-01/runtime/invocation/[^/\s]+/error\b")
_ERROR_TYPE = re.compile(r"Lambda-Runtime-Function-Error-Type:\[(?P<type>[^\]]*)\]")
_CRASH = re.compile(r"^Invoke failed error=(?P<detail>.*)$")


class RieVerdict:
    """Feed it every line of the RIE's output (``feed``): it passes on the ones a user should see
    and records whether the invoke failed (``error_type``) and when the RIE has reported it."""

    def __init__(self, show: Callable[[str], None]) -> None:
        self._show = show
        self.error_type: str | None = None
        self.reported = threading.Event()

    def feed(self, line: str) -> None:
        match = _RIE_LINE.match(line)
        if match is None:
            if line.startswith("REPORT RequestId:"):
                self.reported.set()
            self._show(line)
            return
        message = match["message"]
        if message == "Reset initiated: Timeout":
            # It outranks what follows: the runtime, ended by the timeout, may still post an error.
            self.error_type = "Sandbox.Timedout"
        elif self.error_type != "Sandbox.Timedout" and _ERROR_POST.match(message):
            found = _ERROR_TYPE.search(message)
            self.error_type = (found["type"] if found else "") or "Runtime.Unknown"
        elif self.error_type is None and _CRASH.match(message):
            self.error_type = "Runtime.ExitError"
        if match["level"] != "DEBUG":
            self._show(line)
