"""The one event loop that runs ``async def`` handlers, kept for the life of the process.

A loop per invocation (``asyncio.run``) would close every client created at init (aiohttp
sessions, aioboto3, database pools) after the first invoke; one persistent loop keeps their
connections. uvloop when installed, asyncio's own loop otherwise. This module is imported
only when a handler needs it, so sync handlers never import asyncio.
"""

from __future__ import annotations

import asyncio
from typing import Any


class PersistentLoop:
    def __init__(self) -> None:
        try:
            import uvloop
        except ImportError:
            self.loop = asyncio.new_event_loop()
            self.flavour = "asyncio"
        else:
            self.loop = uvloop.new_event_loop()
            self.flavour = "uvloop"
        # Libraries that call asyncio.get_event_loop() at init (and Mangum's older
        # run_until_complete path) find this loop, not a throwaway one.
        asyncio.set_event_loop(self.loop)

    def run(self, awaitable: Any) -> Any:
        """Run one handler's coroutine to completion. Between invocations the loop is idle,
        not running, so a sync handler that calls ``asyncio.run()`` still works."""
        code = getattr(awaitable, "cr_code", None)
        try:
            return self.loop.run_until_complete(awaitable)
        except BaseException as exc:
            # Start the traceback at the handler's coroutine: the event loop's own frames
            # (uvloop's run_until_complete, asyncio's tasks) are not the user's stack.
            tb = exc.__traceback__
            while tb is not None and tb.tb_frame.f_code is not code:
                tb = tb.tb_next
            if tb is not None:
                exc.__traceback__ = tb
            raise
