"""SIGTERM: run ``hooks.ON_SHUTDOWN`` within the platform's budget, then the user's own
handler, then exit.

Why it works while the loop waits in ``/next``: that wait is a blocking ``recv`` in the
main thread; PEP 475 makes CPython run the Python handler as soon as the signal arrives,
and the ``SystemExit`` raised here comes out of the ``recv`` (a handler that returned would
let the ``recv`` resume, and the process would sit there until SIGKILL).

Why we chain: we install after the user's module has been imported, so a handler the user
installed there is already in place; replacing it silently would break their shutdown.
``_signal`` rather than ``signal``: the public module imports ``enum`` (several ms of every
cold start) for wrappers we do not need.
"""

from __future__ import annotations

import _signal
import _thread
import sys
import time

from .. import hooks

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from types import FrameType
    from typing import Any

BUDGET_ENV = "LAMBDALOOP_SHUTDOWN_BUDGET_MS"
# The platform gives the runtime 500 ms after SIGTERM when an internal extension is
# registered (ours always is); 100 ms of it is kept for the user's handler and the exit.
DEFAULT_BUDGET_MS = 400


def budget_ms(environ: Mapping[str, str]) -> int:
    raw = environ.get(BUDGET_ENV, "")
    return int(raw) if raw.isdigit() else DEFAULT_BUDGET_MS


def run_hooks_within(hook_list: list[Callable[..., Any]], budget_s: float) -> bool:
    """Run the hooks on a separate thread and wait at most ``budget_s``. True if they all
    finished. A hook still running when time is up is abandoned (its thread does not hold
    up the exit), which is the only way to keep a budget with code we cannot interrupt."""
    if not hook_list:
        return True
    done = _thread.allocate_lock()
    done.acquire()

    def run() -> None:
        try:
            hooks.run(hook_list)
        finally:
            done.release()

    _thread.start_new_thread(run, ())
    return done.acquire(True, max(0.0, budget_s))


class GracefulShutdown:
    """The SIGTERM handler. ``previous`` is what was installed before us (a callable, or
    SIG_DFL / SIG_IGN / None)."""

    def __init__(self, previous: object, budget_ms: int) -> None:
        self.previous = previous
        self.budget_ms = budget_ms
        self.started = False

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        if self.started:
            return  # a repeated SIGTERM while we shut down: keep going, once
        self.started = True
        start = time.monotonic()
        if not run_hooks_within(hooks.ON_SHUTDOWN, self.budget_ms / 1000):
            spent = int((time.monotonic() - start) * 1000)
            sys.stderr.write(f"lambdaloop: on_shutdown hooks still running after {spent} ms; exiting without them\n")
        previous = self.previous
        if callable(previous):
            previous(signum, frame)
        elif previous == _signal.SIG_IGN:
            # The user asked for SIGTERM to be ignored: our hooks ran, their choice stands.
            self.started = False
            return
        raise SystemExit(0)


def install(environ: Mapping[str, str]) -> GracefulShutdown:
    previous = _signal.getsignal(_signal.SIGTERM)
    if isinstance(previous, GracefulShutdown):
        return previous  # started twice (tests, embedding): keep the one chain
    handler = GracefulShutdown(previous, budget_ms(environ))
    _signal.signal(_signal.SIGTERM, handler)
    return handler
