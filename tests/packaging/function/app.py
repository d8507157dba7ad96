"""The function the packaging tests deploy: it reports who runs it, from inside the process."""

from __future__ import annotations

import os
import sys
from typing import Any


def _origin(name: str) -> str | None:
    module = sys.modules.get(name)
    return getattr(module, "__file__", None) if module else None


def _shipped() -> list[str]:
    """What sits next to the lambdaloop package that runs this function."""
    origin = _origin("lambdaloop")
    return sorted(os.listdir(os.path.dirname(origin))) if origin else []


def report(event: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        # The proof: which runtime's modules are loaded in this process, and from where.
        "lambdaloop": _origin("lambdaloop"),
        "lambdaloop_loop_loaded": "lambdaloop.loop" in sys.modules,
        "awslambdaric_loaded": any(m == "awslambdaric" or m.startswith("awslambdaric.") for m in sys.modules),
        "executable": sys.executable,
        "version": f"{sys.version_info[0]}.{sys.version_info[1]}",
        "argv": sys.argv,
        "sys_path": sys.path,
        "cwd": os.getcwd(),
        "handler_env": os.environ.get("_HANDLER"),
        "chain_record": os.environ.get("CHAIN_RECORD"),
        "pythonpath": os.environ.get("PYTHONPATH"),
        "execution_env": os.environ.get("AWS_EXECUTION_ENV"),
        "shipped": _shipped(),
        # Lambda's file system: only /tmp is writable.
        "task_writable": os.access("/var/task", os.W_OK),
        "opt_writable": os.access("/opt", os.W_OK),
        "tmp_writable": os.access("/tmp", os.W_OK),
    }
    if event.get("deps"):
        import orjson
        import simplejson
        import snapshot_restore_py
        import uvloop

        out["deps"] = {
            "orjson": orjson.__file__,
            "simplejson": simplejson.__file__,
            "uvloop": uvloop.__file__,
            "snapshot_restore_py": snapshot_restore_py.__file__,
        }
        out["simplejson_speedups"] = simplejson._import_c_make_encoder() is not None
    return out


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    out = report(event)
    out["memory_limit_in_mb"] = context.memory_limit_in_mb
    return out


async def async_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    import asyncio

    out = report(event)
    out["loop"] = type(asyncio.get_running_loop()).__module__
    return out


def wrapped(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """What a chained wrapper redirects _HANDLER to (as otel-instrument does), calling the original."""
    out = handler(event, context)
    out["wrapped_original"] = os.environ.get("ORIG_HANDLER")
    return out
