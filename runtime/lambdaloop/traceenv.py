"""``_X_AMZN_TRACE_ID`` for each invocation, set the way the X-Ray SDK and child processes
read it (``os.environ`` and the C environment), without leaking memory.

Why not ``os.environ[name] = value``: it calls ``setenv()``, and glibc never frees a replaced
value (it keeps every string it ever made, to reuse identical ones). Trace ids differ on every
invocation, so that is about 150 bytes per invocation for the life of the environment, some
140 MiB per million warm invocations (awslambdaric has the same leak).

What this does instead: two buffers of our own, handed to ``putenv()``, which stores the
pointer rather than a copy. Each invocation writes its value into the buffer not in use and
points the environment at it (one pointer swap under glibc's lock, so a thread reading the
variable sees the old value or the new one, never a mix), and updates ``os.environ``'s own
mapping to match without another ``setenv()``. No invocation allocates anything in libc.

``ctypes`` costs about 2 ms to import, so the first ``PLAIN_SETS`` invocations use plain
``os.environ`` (a few KiB leaked, once) and the switch happens after that, off the cold start.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import MutableMapping
    from typing import Any

TRACE_ENV = "_X_AMZN_TRACE_ID"
PLAIN_SETS = 32
_MIN_BUFFER = 1024


class TraceEnvironment:
    """Sets and clears one environment variable per invocation, leak-free after a warm-up."""

    __slots__ = ("_buffers", "_c", "_environ", "_last", "_plain_sets", "_retired", "_turn")

    def __init__(self, environ: MutableMapping[str, str] | None = None) -> None:
        self._environ = os.environ if environ is None else environ
        self._plain_sets = 0
        self._c: Any = None  # the libc functions, once switched
        self._buffers: list[Any] = [None, None]
        self._retired: list[Any] = []
        self._turn = 0
        self._last: bytes | None = None  # what the in-place path last set, as os.environ holds it

    def set(self, value: str | None) -> None:
        """The variable for this invocation: ``value``, or absent when None."""
        if self._c is not None:
            self._set_in_place(value)
            return
        if value is None:
            self._environ.pop(TRACE_ENV, None)
        else:
            self._environ[TRACE_ENV] = value
        self._plain_sets += 1
        if self._plain_sets == PLAIN_SETS and self._environ is os.environ:
            self._switch()

    def _switch(self) -> None:
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            putenv, unsetenv = libc.putenv, libc.unsetenv
            putenv.argtypes = [ctypes.c_void_p]
            unsetenv.argtypes = [ctypes.c_char_p]
            data = os.environ._data  # type: ignore[attr-defined]
        except (ImportError, OSError, AttributeError):
            return  # not glibc-like, or no ctypes: keep the plain path
        self._c = (ctypes, putenv, unsetenv, data)

    def _set_in_place(self, value: str | None) -> None:
        ctypes, putenv, unsetenv, data = self._c
        key = TRACE_ENV.encode()
        if value is None:
            if self._last is not None or key in data:
                unsetenv(key)
                data.pop(key, None)
                self._last = None
            return
        raw = os.fsencode(value)
        if raw == self._last and data.get(key) is self._last:
            return  # the same value, still ours (nobody set the variable since): nothing to do
        entry = key + b"=" + raw + b"\0"
        self._turn ^= 1
        buffer = self._buffers[self._turn]
        if buffer is None or len(buffer) < len(entry):
            # A longer value than ever before: a new buffer, the old one kept alive (a thread
            # may still read it), so the only growth is logarithmic in the longest trace id.
            if buffer is not None:
                self._retired.append(buffer)
            buffer = self._buffers[self._turn] = ctypes.create_string_buffer(max(_MIN_BUFFER, 2 * len(entry)))
        ctypes.memmove(buffer, entry, len(entry))
        putenv(ctypes.addressof(buffer))
        data[key] = self._last = raw
