"""The invocation the running code belongs to, when one process serves many at once.

Lambda Managed Instances with an ``async def`` handler run many invocations in one process,
each as an asyncio task. What belongs to one invocation (its request id and tenant id for
log records, its X-Ray trace header) lives in context variables: a task the handler creates,
and code run through ``asyncio.to_thread`` or ``loop.run_in_executor`` with a copied context,
see the values of the invocation that started them, never another's. ``_X_AMZN_TRACE_ID`` is
not written to ``os.environ`` in that mode (one process-wide variable cannot hold many
invocations' values, as the Go and Node runtimes also decide): read ``lambdaloop.trace_id()``.
"""

from __future__ import annotations

import os
from contextvars import ContextVar

REQUEST_ID: ContextVar[str] = ContextVar("lambdaloop_request_id", default="")
TENANT_ID: ContextVar[str | None] = ContextVar("lambdaloop_tenant_id", default=None)
TRACE_ID: ContextVar[str | None] = ContextVar("lambdaloop_trace_id", default=None)
_concurrent = False  # set once, by a process that serves invocations concurrently


def serve_concurrently() -> None:
    """From now on this process serves many invocations at once: trace ids come from TRACE_ID."""
    global _concurrent
    _concurrent = True


def trace_id() -> str | None:
    """The X-Ray trace header (``Root=...;Parent=...;Sampled=...``) of the invocation the
    calling code runs for, or None when it has none. One invocation at a time: the
    ``_X_AMZN_TRACE_ID`` environment variable, as on every Lambda runtime; many at once: the
    calling task's own invocation's."""
    if _concurrent:
        return TRACE_ID.get()
    return os.environ.get("_X_AMZN_TRACE_ID")


class ContextRequestState:
    """``logs.RequestState``'s shape, per invocation: what the log filter reads for a record
    is the request id of the task (or copied context) that logged it."""

    __slots__ = ()

    @property
    def request_id(self) -> str:
        return REQUEST_ID.get()

    @request_id.setter
    def request_id(self, value: str) -> None:
        REQUEST_ID.set(value)

    @property
    def tenant_id(self) -> str | None:
        return TENANT_ID.get()

    @tenant_id.setter
    def tenant_id(self, value: str | None) -> None:
        TENANT_ID.set(value)
