"""One FastAPI app (``mangum_app.app``), three adapters, one runtime process; the event's
``adapter`` key picks which one answers:

- ``mangum``: the current Mangum (0.22.0, the ``compat`` extra), ``run_until_complete`` on
  the thread's event loop;
- ``mangum-0.20.0``: the one release that calls ``asyncio.run()`` per invoke (a new event
  loop each time), loaded from the folder named by ``MANGUM_020_PATH``;
- ``lambdaloop``: ``lambdaloop.asgi.handler(app)``, which streams its answer (the
  HTTP-integration prelude, then the body) and runs on the runtime's persistent loop;
- ``report``: what each adapter's requests ran on, for the test to check.

Two Mangum releases in one process: Mangum imports its own modules by absolute name
(``from mangum.protocols import ...``), so 0.20.0 is imported while its modules are the
ones under the name ``mangum`` in ``sys.modules``, and the current release's modules are
put back afterwards. Each release's classes keep their own modules' globals, so the two
then run side by side, with one accommodation for sharing a thread
(``give_the_thread_a_loop``).
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.metadata
import os
import sys
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import mangum
from mangum_app import STARTUPS, app

from lambdaloop.asgi import handler as asgi_handler

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def _mangum_modules() -> dict[str, Any]:
    return {name: module for name, module in sys.modules.items() if name == "mangum" or name.startswith("mangum.")}


def load_mangum_release(path: str) -> tuple[type, str]:
    """``Mangum`` and its version from the release installed (``pip --target``) in ``path``,
    without disturbing the ``mangum`` everything else in this process imports."""
    current = _mangum_modules()
    for name in current:
        del sys.modules[name]
    sys.path.insert(0, path)
    try:
        loaded = importlib.import_module("mangum").Mangum
        source = sys.modules[loaded.__module__].__file__ or ""
    finally:
        sys.path.remove(path)
        for name in _mangum_modules():
            del sys.modules[name]
        sys.modules.update(current)
    if not os.path.realpath(source).startswith(os.path.realpath(path) + os.sep):
        raise ImportError(f"mangum was imported from {source}, not from {path}")
    (dist,) = importlib.metadata.distributions(name="mangum", path=[path])
    return loaded, dist.version


# (adapter, the loop one of its requests ran on): the loops are kept, so no id is reused.
REQUEST_LOOPS: list[tuple[str, asyncio.AbstractEventLoop]] = []


def recorded(name: str, inner: ASGIApp) -> ASGIApp:
    """The app, noting which event loop each of its HTTP requests runs on."""

    async def wrapper(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            REQUEST_LOOPS.append((name, asyncio.get_running_loop()))
        await inner(scope, receive, send)

    return wrapper


Mangum020, MANGUM_020_VERSION = load_mangum_release(os.environ["MANGUM_020_PATH"])

ADAPTERS: dict[str, Callable[[Any, Any], Any]] = {
    "mangum": mangum.Mangum(recorded("mangum", app), lifespan="auto"),
    "mangum-0.20.0": Mangum020(recorded("mangum-0.20.0", app), lifespan="auto"),
    "lambdaloop": asgi_handler(recorded("lambdaloop", app)),
}


def give_the_thread_a_loop() -> None:
    """Mangum 0.22 gives the thread an event loop once, in its constructor, and runs each
    request with ``asyncio.get_event_loop().run_until_complete()``. 0.20.0's ``asyncio.run()``
    ends by setting the thread's loop to None, after which that call raises RuntimeError.
    A real function has one Mangum, so it never meets this; here, where two releases share
    the thread, 0.22 gets a loop back the way its constructor gets one."""
    try:
        asyncio.get_event_loop()
    except RuntimeError:
        asyncio.set_event_loop(asyncio.new_event_loop())


def handler(event: dict[str, Any], context: Any) -> Any:
    adapter = event.pop("adapter")
    if adapter == "report":
        return report()
    if adapter == "mangum":
        give_the_thread_a_loop()
    # lambdaloop's adapter returns an object the runtime streams; Mangum's, a dict it posts.
    return ADAPTERS[adapter](event, context)


def report() -> dict[str, Any]:
    loops: dict[str, list[int]] = {}
    for name, loop in REQUEST_LOOPS:
        loops.setdefault(name, []).append(id(loop))
    return {
        "versions": {"mangum": importlib.metadata.version("mangum"), "mangum-0.20.0": MANGUM_020_VERSION},
        "loops": loops,
        "startups": len(STARTUPS),
    }
