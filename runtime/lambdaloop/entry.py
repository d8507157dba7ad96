"""The entry point: ``run(handler)`` starts lambdaloop in the mode the environment asks for.

Classic (one invocation at a time) by default; with ``AWS_LAMBDA_MAX_CONCURRENCY`` (Lambda
Managed Instances) a supervisor forks that many workers, each a runtime of its own with the
worker exit policy. The Runtime API client is built here, from ``AWS_LAMBDA_RUNTIME_API``.
"""

from __future__ import annotations

import os

from . import awslambdaric_shim
from .loop import CLASSIC, WORKER, ExitPolicy, Runtime
from .runtime_client import RuntimeClient, user_agent
from .transport import TransportError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, NoReturn

    from .workers import InFlight, ServeWorker

PRELOAD_ENV = "LAMBDALOOP_PRELOAD"


def runtime_from_environment(handler_name: str, policy: ExitPolicy = CLASSIC) -> Runtime:
    address = os.environ.get("AWS_LAMBDA_RUNTIME_API")
    if not address:
        raise SystemExit(
            "lambdaloop: AWS_LAMBDA_RUNTIME_API is not set; run under Lambda, the RIE or `lambdaloop invoke`"
        )
    try:
        client = RuntimeClient(address, user_agent())
    except TransportError as exc:
        raise SystemExit(f"lambdaloop: {exc}") from None
    return Runtime(handler_name, client, os.environ, policy)


def _serve_worker(handler_name: str, ready: Callable[[bytes], object], slots: list[InFlight]) -> NoReturn:
    """What each forked worker runs: a runtime of its own, with the worker exit policy."""
    runtime = runtime_from_environment(handler_name, WORKER)
    runtime.on_ready = ready
    runtime.slots = slots
    runtime.start()


def _serve_preloaded(runtime: Runtime, handler: Callable[..., Any]) -> ServeWorker:
    """What each worker runs when the supervisor imported the handler: the supervisor's own
    runtime (its log handler and request state, as the import set them up), forked."""

    def serve(handler_name: str, ready: Callable[[bytes], object], slots: list[InFlight]) -> NoReturn:
        runtime.on_ready = ready
        runtime.slots = slots
        runtime.start(preloaded=handler)

    return serve


def run(handler_name: str) -> NoReturn:
    awslambdaric_shim.expose()  # before the function's code can look for it
    if "AWS_LAMBDA_MAX_CONCURRENCY" in os.environ:
        from .workers import concurrency, release_telemetry_fd, run_workers

        count = concurrency(os.environ)
        if count is not None:
            release_telemetry_fd()
            serve: ServeWorker = _serve_worker
            preload = os.environ.get(PRELOAD_ENV) == "1"
            if preload:
                # Import once, then fork: the workers share the init's memory and its CPU.
                runtime = runtime_from_environment(handler_name, WORKER)
                serve = _serve_preloaded(runtime, runtime.preload())
            run_workers(handler_name, count, serve, user_agent(), preloaded=preload)
    runtime_from_environment(handler_name).start()
