"""Internal extensions: code inside the runtime process that the platform knows about.

The platform rules (RAPID, classic and LMI models): an internal extension registers before
the runtime's first ``/next`` (registration closes then), may not ask for SHUTDOWN, and
must then wait in ``/extension/event/next``, since the first invoke is held until every
registered extension waits there. Any registered extension makes the platform send SIGTERM
to the runtime at shutdown (with 500 ms to act) instead of SIGKILL.

What this module does at the end of init (``Runtime.start`` calls
``start_internal_extensions`` once the handler is loaded):

1. imports the modules named in ``LAMBDALOOP_EXTENSIONS=mod1,mod2`` (a layer's APM
   agent, say), which register their callbacks with ``lambdaloop.hooks``;
2. registers every declared ``InternalExtension``; a listed module that declared none is
   registered under its module name, so the platform sees it;
3. if nothing was registered, registers ``lambdaloop-sigterm`` with no events (as the Go
   runtime's ``GoLangEnableSIGTERM``), unless ``LAMBDALOOP_SIGTERM=0``;
4. starts one daemon thread per extension parked in ``event/next`` (daemon: ``sys.exit``
   would wait forever for a thread the platform never answers);
5. installs the SIGTERM handler that runs ``hooks.ON_SHUTDOWN`` (``shutdown.py``).

Cost on the start-up path: ``_thread`` (not ``threading``), the runtime's own transport on a
second connection, no ``json``: README.md in this package has the measured figure.

    from lambdaloop import hooks
    from lambdaloop.extensions import InternalExtension

    apm = InternalExtension("my-apm")   # optional: names it for the platform

    @hooks.before_invoke
    def start_span(event, context): ...

    @hooks.after_invoke                 # after the response has been posted
    def flush(event, context, outcome): ...

    @hooks.on_shutdown
    def close(): ...
"""

from __future__ import annotations

import _thread
import os
import sys

from .. import hooks
from .client import ExtensionsClient
from .events import INVOKE, ExtensionAPIError
from .wire import check_name

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, TypeVar

    from .events import InvokeEvent

    F = TypeVar("F", bound=Callable[..., Any])

MODULES_ENV = "LAMBDALOOP_EXTENSIONS"
SIGTERM_ENV = "LAMBDALOOP_SIGTERM"
SIGTERM_EXTENSION = "lambdaloop-sigterm"

_DECLARED: list[InternalExtension] = []
_STARTED = False
_MODULES_IMPORTED = False


class InternalExtension:
    name: str

    """An extension living in the runtime process. By default it registers for no events:
    ``lambdaloop.hooks`` already calls you at the start and end of each invocation, with the
    event and context, which the platform's INVOKE event does not carry. Give ``on_invoke``
    only if you want the platform's INVOKE event too (it arrives on a separate thread, and
    the platform then also waits for that thread before it ends the invoke)."""

    def __init__(self, name: str, *, on_invoke: Callable[[InvokeEvent], Any] | None = None) -> None:
        check_name(name)
        if _STARTED:
            raise RuntimeError(f"internal extension {name!r} declared after init: registration is closed by then")
        if any(ext.name == name for ext in _DECLARED):
            raise ValueError(f"an internal extension named {name!r} is already declared")
        self.name = name
        self.invoke_handler = on_invoke
        self.extension_id: str | None = None
        self.error: ExtensionAPIError | None = None
        _DECLARED.append(self)

    def on_invoke(self, func: F) -> F:
        self.invoke_handler = func
        return func

    # The hooks API under the extension's name, for code that reads better that way.
    before_invoke = staticmethod(hooks.before_invoke)
    after_invoke = staticmethod(hooks.after_invoke)
    on_error = staticmethod(hooks.on_error)
    on_shutdown = staticmethod(hooks.on_shutdown)

    @property
    def events(self) -> tuple[str, ...]:
        return (INVOKE,) if self.invoke_handler is not None else ()

    def __repr__(self) -> str:
        return f"InternalExtension({self.name!r}, events={list(self.events)}, id={self.extension_id!r})"


def declared() -> list[InternalExtension]:
    return list(_DECLARED)


def _import_modules(names: list[str]) -> None:
    # An import error propagates: a configured extension that cannot load is a deployment
    # error, and the loop fails init for it loudly, as for a handler that cannot load.
    for name in names:
        before = len(_DECLARED)
        __import__(name)
        if len(_DECLARED) == before:
            InternalExtension(name.replace(".", "-"))


def _register(address: str, ext: InternalExtension, quiet_conflict: bool) -> ExtensionsClient | None:
    client = ExtensionsClient(address)
    try:
        ext.extension_id = client.register_id_only(ext.name, ext.events)
    except (ExtensionAPIError, ValueError) as exc:
        client.close()
        ext.error = exc if isinstance(exc, ExtensionAPIError) else ExtensionAPIError("register", 0, "", str(exc))
        # With several worker processes (Lambda Managed Instances) each one registers the
        # same name and only the first wins; the SIGTERM it buys covers the process group.
        if not (quiet_conflict and ext.error.status == 403):
            sys.stderr.write(f"lambdaloop: internal extension {ext.name!r} was not registered: {exc}\n")
        return None
    return client


def _wait_for_events(client: ExtensionsClient, ext: InternalExtension) -> None:
    """The extension's thread: wait in event/next, run ``on_invoke`` for each INVOKE. With no
    events registered the first wait never returns, which is what the platform expects."""
    from .extension import Caller

    call = Caller()
    while True:
        try:
            event = client.next_event()
        except (ExtensionAPIError, ValueError):
            return  # shutting down, or the platform refused us: nothing left to do here
        if ext.invoke_handler is None:
            continue
        try:
            call(ext.invoke_handler, event)
        except Exception as exc:
            # In-process code must never take the runtime down; report and keep waiting.
            sys.stderr.write(f"lambdaloop: internal extension {ext.name!r} on_invoke raised {exc!r}\n")


def import_extension_modules() -> None:
    """Import the ``LAMBDALOOP_EXTENSIONS`` modules. ``Runtime.start`` calls this before the
    handler's module is imported, so an APM agent listed there can instrument the libraries
    and clients that module creates at import time. An import error propagates."""
    global _MODULES_IMPORTED
    if _MODULES_IMPORTED:
        return
    _MODULES_IMPORTED = True
    modules = [name.strip() for name in os.environ.get(MODULES_ENV, "").split(",") if name.strip()]
    if modules:
        _import_modules(modules)


def start_internal_extensions(address: str, quiet_conflicts: bool = False) -> None:
    """Called once by ``Runtime.start`` at the end of init, before the first ``/next``, with
    the Runtime API's address. ``quiet_conflicts``: one of several worker processes, where only
    the first registration of a name succeeds and the rest are expected refusals."""
    global _STARTED
    if _STARTED:
        return
    environ = os.environ
    import_extension_modules()  # already done by Runtime.start; kept for direct callers
    want_sigterm = environ.get(SIGTERM_ENV, "1") != "0"
    if not _DECLARED and want_sigterm:
        InternalExtension(SIGTERM_EXTENSION)
    _STARTED = True
    for ext in _DECLARED:
        client = _register(address, ext, quiet_conflict=quiet_conflicts)
        if client is not None:
            _thread.start_new_thread(_wait_for_events, (client, ext))
    if want_sigterm:
        from .shutdown import install

        install(environ)
