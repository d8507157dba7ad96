"""The program the profiled interpreter runs (``python -X importtime -c DRIVER ...``).

Kept as source text so the child imports nothing of the profiler: what it imports before the
handler is exactly what ``python -m lambdaloop`` imports (``lambdaloop.loop``), and the handler is
loaded by the runtime's own ``load_handler``, then called once with a real ``LambdaContext``.
Phase markers go to stderr between the importtime lines (both unbuffered, so in order).
"""

from __future__ import annotations

MARKER = "lambdaloop-profile:"

DRIVER = r"""
import sys, time
def _mark(phase, extra=""):
    sys.stderr.write("\nlambdaloop-profile: %s %.6f %.6f %s\n" % (phase, time.perf_counter(), time.time(), extra))
    sys.stderr.flush()
_mark("ready")
import os
_handler_name, _runtime_dir, _event, _timeout_ms = sys.argv[1], sys.argv[2], sys.argv[3].encode(), int(sys.argv[4])
# As the runtime's bootstrap: the task root first; lambdaloop last, never shadowing the function.
sys.path[0] = os.getcwd()
if _runtime_dir not in sys.path:
    sys.path.append(_runtime_dir)
import lambdaloop.loop
_mark("runtime")
from lambdaloop.errors import FaultError
from lambdaloop.handler import load_handler
try:
    # importlib.import_module (what load_handler uses) is not traced by -X importtime; the import
    # statement's path is. Import the module that way first; load_handler then finds it loaded.
    # An ImportError or SyntaxError is left to load_handler, which reports it as the runtime does.
    _module_name = _handler_name.rsplit(".", 1)[0] if "." in _handler_name else ""
    if _module_name and _module_name.split(".")[0] not in sys.builtin_module_names:
        try:
            __import__(_module_name.replace("/", "."))
        except (ImportError, SyntaxError):
            pass
    _function = load_handler(_handler_name)
except BaseException as _exc:
    import json, traceback
    if isinstance(_exc, FaultError):
        _error = {"type": _exc.error_type, "message": _exc.message, "trace": []}
    else:
        _error = {"type": type(_exc).__name__, "message": str(_exc),
                  "trace": traceback.format_exception(type(_exc), _exc, _exc.__traceback__)[1:]}
    _mark("error", json.dumps(_error))
    sys.exit(3)
_mark("imported")
from lambdaloop.context import LambdaContext
from lambdaloop.marshal import unmarshal_event
_context = LambdaContext("profile-00000000-0000-0000-0000-000000000001", None, None,
                         int(time.time() * 1000) + _timeout_ms)
_outcome = "ok"
try:
    _result = _function(unmarshal_event(_event, "application/json"), _context)
    if hasattr(_result, "__await__"):
        import asyncio
        async def _await(awaitable):
            return await awaitable
        asyncio.run(_await(_result))
except BaseException as _exc:
    _outcome = "%s: %s" % (type(_exc).__name__, _exc)
_mark("invoked")
import json
_root = os.getcwd() + os.sep
_modules = {}
for _name, _module in list(sys.modules.items()):
    _file = getattr(_module, "__file__", None) or ""
    if _file.startswith(_root) and _file.endswith(".py"):
        _modules[_name] = [_file, getattr(_module, "__cached__", None) or ""]
_mark("done", json.dumps({"outcome": _outcome, "modules": _modules}))
"""
