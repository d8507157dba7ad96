"""Resolve a handler string (``module.func``, ``pkg/sub/mod.func``) exactly as awslambdaric
does, with its error types and messages (awslambdaric 4.2.2's ``bootstrap._get_handler``)."""

from __future__ import annotations

import importlib
import sys

from .errors import (
    BUILT_IN_MODULE_CONFLICT,
    HANDLER_NOT_FOUND,
    IMPORT_MODULE_ERROR,
    MALFORMED_HANDLER_NAME,
    USER_CODE_SYNTAX_ERROR,
    FaultError,
    syntax_error_trace,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

# inspect.CO_COROUTINE / CO_ASYNC_GENERATOR, without importing inspect (a few ms)
CO_COROUTINE = 0x80
CO_ASYNC_GENERATOR = 0x200


def load_handler(handler: str) -> Callable[..., Any]:
    """Import the module and return the handler. Raises FaultError for the runtime's own
    error types; any other exception raised by the module itself propagates unchanged."""
    try:
        modname, fname = handler.rsplit(".", 1)
    except ValueError as exc:
        raise FaultError(MALFORMED_HANDLER_NAME, f"Bad handler '{handler}': {exc}") from None
    try:
        # The check runs before "/" becomes ".", so "sys/x.handler" passes it, as in awslambdaric.
        if modname.split(".")[0] in sys.builtin_module_names:
            raise FaultError(BUILT_IN_MODULE_CONFLICT, f"Cannot use built-in module {modname} as a handler module")
        module = importlib.import_module(modname.replace("/", "."))
    except ImportError as exc:
        raise FaultError(IMPORT_MODULE_ERROR, f"Unable to import module '{modname}': {exc}") from None
    except SyntaxError as exc:
        raise FaultError(
            USER_CODE_SYNTAX_ERROR, f"Syntax error in module '{modname}': {exc}", syntax_error_trace(exc)
        ) from None
    try:
        return getattr(module, fname)  # type: ignore[no-any-return]
    except AttributeError:
        raise FaultError(HANDLER_NOT_FOUND, f"Handler '{fname}' missing on module '{modname}'") from None


def is_async_handler(handler: object) -> bool:
    """True for ``async def`` functions and objects whose ``__call__`` is one. Decorated
    handlers that hide it are still served: the loop awaits any coroutine a handler returns."""
    target = getattr(handler, "__func__", handler)
    code = getattr(target, "__code__", None)
    if code is None:
        call = getattr(type(handler), "__call__", None)  # noqa: B004 (we want its code object)
        code = getattr(call, "__code__", None)
    return code is not None and bool(code.co_flags & CO_COROUTINE)


def is_stream(result: object) -> bool:
    """A generator, an async generator, or a streaming response object (``lambdaloop.streaming``).
    awslambdaric fails all of these with Runtime.MarshalError, so no working handler changes."""
    kind = type(result)
    return kind.__name__ in ("generator", "async_generator") or hasattr(kind, "__lambdaloop_stream__")
