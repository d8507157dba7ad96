"""Public hooks around the runtime's lifecycle, for integrations that would otherwise
monkeypatch the runtime (APM agents, metric flushers, error reporters).

    from lambdaloop import hooks

    @hooks.before_invoke
    def start_span(event, context): ...

    @hooks.after_invoke            # after the response or error has been posted
    def flush(event, context, outcome): ...

    @hooks.on_error                # the handler raised; called before the error is posted
    def report(exc, event, context): ...

    @hooks.on_init_error           # the handler could not be loaded
    def report_init(exc): ...

    @hooks.on_shutdown             # SIGTERM from the platform, within its budget
    def close(): ...

    @hooks.after_fork              # LAMBDALOOP_PRELOAD=1: in each worker, after the fork
    def reopen(): ...              # (clients, sockets and threads made at import do not survive it)

A hook that raises is logged and ignored: an integration must never turn a good
invocation into a failed one. With no hook registered the loop pays one truth test per
phase.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, TypeVar

    F = TypeVar("F", bound=Callable[..., Any])


class Outcome:
    """What was posted for an invocation: ``ok`` with ``result`` (the handler's return value),
    or not ``ok`` with ``error`` (the posted error body: errorMessage, errorType, ...)."""

    __slots__ = ("error", "ok", "result")

    def __init__(self, ok: bool, result: Any = None, error: dict[str, Any] | None = None) -> None:
        self.ok = ok
        self.result = result
        self.error = error

    def __repr__(self) -> str:
        return f"Outcome(ok={self.ok}, error_type={(self.error or {}).get('errorType')!r})"


BEFORE_INVOKE: list[Callable[..., Any]] = []
AFTER_INVOKE: list[Callable[..., Any]] = []
ON_ERROR: list[Callable[..., Any]] = []
ON_INIT_ERROR: list[Callable[..., Any]] = []
ON_SHUTDOWN: list[Callable[..., Any]] = []
AFTER_FORK: list[Callable[..., Any]] = []


def before_invoke(func: F) -> F:
    BEFORE_INVOKE.append(func)
    return func


def after_invoke(func: F) -> F:
    AFTER_INVOKE.append(func)
    return func


def on_error(func: F) -> F:
    ON_ERROR.append(func)
    return func


def on_init_error(func: F) -> F:
    ON_INIT_ERROR.append(func)
    return func


def on_shutdown(func: F) -> F:
    ON_SHUTDOWN.append(func)
    return func


def after_fork(func: F) -> F:
    AFTER_FORK.append(func)
    return func


def notify_error(exc: BaseException, event: Any, context: Any) -> None:
    """``on_error`` hooks hear of an exception the user's code raised (not of the runtime's own
    faults, such as a bad event, nor of a sys.exit)."""
    if ON_ERROR and isinstance(exc, Exception) and not getattr(exc, "runtime_fault", False):
        run(ON_ERROR, exc, event, context)


def run(hooks: list[Callable[..., Any]], *args: Any) -> None:
    """Call each hook; report and swallow whatever they raise, SystemExit included: a hook
    never decides an invocation's fate, nor the process's."""
    for hook in list(hooks):
        try:
            hook(*args)
        except BaseException as exc:
            try:
                detail = str(exc)
            except Exception:
                detail = "<str() failed>"
            name = getattr(hook, "__qualname__", None) or type(hook).__name__
            sys.stderr.write(f"lambdaloop: hook {name} raised {type(exc).__name__}: {detail}\n")
