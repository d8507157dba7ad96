"""One measurement of one contender each: runtime.py calls these interleaved and takes medians."""

from __future__ import annotations

import gc
import os
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from _fakeapi import FakeRuntimeApi, Phase
from _imports import parse_importtime
from _proc import Child, Pinned, cpu_seconds
from _rie import RieSession
from _stats import quantile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@dataclass
class Contender:
    name: str
    argv: list[str]  # "{handler}" is replaced by the handler string
    env: dict[str, str]
    import_code: str  # what its sync start-up path imports, for `python -c`
    available: bool = True
    note: str = ""
    logs: list[str] = field(default_factory=list)

    def command(self, handler: str) -> list[str]:
        return [a.replace("{handler}", handler) for a in self.argv]

    def environ(self, handler: str, **extra: str) -> dict[str, str]:
        return {**self.env, "_HANDLER": handler, "AWS_LAMBDA_FUNCTION_HANDLER": handler, **extra}


def _log(contender: Contender, log_dir: str) -> str:
    path = os.path.join(log_dir, f"{contender.name}.log")
    if path not in contender.logs:
        contender.logs.append(path)
    return path


def spawn_once(c: Contender, log_dir: str, limit: float = 20.0) -> dict[str, object]:
    """Spawn to the first GET /next, and to the first /response of a noop event."""
    handler = "bench.handlers.noop"
    api = FakeRuntimeApi([Phase("first", b"{}", 0, 1, expect=b"{}")])
    env = c.environ(handler, AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{api.port}")
    t0 = time.perf_counter()
    child = Child(c.command(handler), env, REPO, _log(c, log_dir))
    try:
        api.serve(time.monotonic() + limit, stop=lambda: child.proc.poll() is not None)
    finally:
        child.stop(grace=0.0)
        api.close()
    phase = api.phases[0]
    ok = api.completed == 1 and phase.bad_bodies == 0 and phase.errors == 0
    return {
        "ok": ok,
        "first_next_ms": (api.t_first_next - t0) * 1e3 if api.t_first_next else float("nan"),
        "first_response_ms": (api.t_first_response - t0) * 1e3 if ok else float("nan"),
        "next_request_head": api.first_next_head.decode("latin-1"),
    }


def loop_once(
    c: Contender,
    log_dir: str,
    cpu: int | None,
    noop: tuple[int, int],
    echo: tuple[int, int],
    document: bytes,
    limit: float = 180.0,
) -> dict[str, object]:
    """A fresh runtime against the fake API, pinned with it to one CPU: (warm-up, timed) noop
    events, then (warm-up, timed) ~1 MB echo events. The echo handler serves both: a ``{}``
    event comes back as ``{}``, the same work as the noop handler."""
    handler = "bench.handlers.echo"
    phases = [Phase("noop", b"{}", noop[0], noop[1], expect=b"{}")]
    if echo[1]:
        phases.append(Phase("echo", document, echo[0], echo[1], expect=document))
    holder: list[Child] = []
    api = FakeRuntimeApi(phases, cpu_probe=lambda: cpu_seconds(holder[0].remember()))
    env = c.environ(handler, AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{api.port}")
    with Pinned(cpu):  # the child inherits the single-CPU mask
        child = Child(c.command(handler), env, REPO, _log(c, log_dir))
        holder.append(child)
        try:
            api.serve(time.monotonic() + limit, stop=lambda: child.proc.poll() is not None)
        finally:
            child.stop(grace=0.0)
            api.close()
    return {"ok": api.finished, "phases": {p.name: p.figures() for p in phases}}


def _timed(session: RieSession, body: bytes, n: int, expect: bytes) -> tuple[list[float], int]:
    samples: list[float] = []
    bad = 0
    gc.collect()
    gc.disable()  # a collection in the invoker would land in one contender's p99
    try:
        for _ in range(n):
            t = time.perf_counter()
            status, out = session.invoke(body)
            samples.append((time.perf_counter() - t) * 1e6)
            if status != 200 or out != expect:
                bad += 1
    finally:
        gc.enable()
    return samples, bad


def rie_once(
    c: Contender, log_dir: str, rie: str, noop: tuple[int, int], echo: tuple[int, int], document: bytes
) -> dict[str, object]:
    """One RIE session: init invoke, warm-up, timed noop invokes, memory, then ~1 MB echoes."""
    handler = "bench.handlers.echo"
    session = RieSession(rie, c.command(handler), c.environ(handler), REPO, _log(c, log_dir))
    out: dict[str, object] = {}
    try:
        session.wait_ready()
        status, body = session.invoke(b"{}")
        if status != 200 or body != b"{}":
            return {"ok": False, "error": f"first invoke: {status} {body[:300]!r}"}
        _timed(session, b"{}", noop[0], b"{}")
        samples, bad = _timed(session, b"{}", noop[1], b"{}")
        out["noop"] = {"p50_us": quantile(samples, 0.5), "p99_us": quantile(samples, 0.99), "failures": bad}
        out["noop_samples_us"] = samples
        out["memory_after_noop"] = {**session.runtime_memory(), "invocations": 1 + noop[0] + noop[1]}
        if echo[1]:
            _timed(session, document, echo[0], document)
            samples, bad = _timed(session, document, echo[1], document)
            out["echo"] = {"p50_us": quantile(samples, 0.5), "p99_us": quantile(samples, 0.99), "failures": bad}
            out["echo_samples_us"] = samples
            out["memory_after_echo"] = session.runtime_memory()
        failures = sum(int(out[k]["failures"]) for k in ("noop", "echo") if k in out)  # type: ignore[index]
        out["ok"] = failures == 0
        return out
    finally:
        session.stop()


def startup_imports_once(c: Contender, log_dir: str, python_flags: Sequence[str] = ()) -> dict[str, object]:
    """Everything the contender imports from spawn to its first answered invocation (a noop):
    run it for real with PYTHONPROFILEIMPORTTIME=1, so lazy imports done while handling the
    first event count too, and `./bootstrap`'s own interpreter is profiled as well."""
    handler = "bench.handlers.noop"
    api = FakeRuntimeApi([Phase("first", b"{}", 0, 1, expect=b"{}")])
    env = c.environ(handler, AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{api.port}", PYTHONPROFILEIMPORTTIME="1")
    with tempfile.NamedTemporaryFile(prefix=f"importtime-{c.name}-", suffix=".log", dir=log_dir, delete=False) as f:
        log = f.name
    child = Child(c.command(handler), env, REPO, log)
    try:
        api.serve(time.monotonic() + 20.0, stop=lambda: child.proc.poll() is not None)
        # importtime lines are written by C stdio on stderr, unbuffered: all are in the log
        # once the first answer arrived.
    finally:
        child.stop(grace=0.0)
        api.close()
    with open(log, errors="replace") as f:
        tree = parse_importtime(f.read())
    os.unlink(log)
    return {
        "ok": api.completed == 1,
        "total_ms": tree.total_us / 1e3,
        "top": [(name, us / 1e3) for name, us in tree.top[:10]],
        "modules": sorted(tree.modules),
    }
