"""Run the function's init and first invocation in a fresh interpreter and read where time went."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from . import ProfileError
from .driver import DRIVER, MARKER
from .importtime import ImportNode, TreeBuilder

PHASES = ("interpreter start", "runtime start", "handler import", "first invocation")


@dataclass
class Phase:
    name: str
    seconds: float
    imports: list[ImportNode] = field(default_factory=list)  # top-level imports finished in it

    @property
    def import_us(self) -> int:
        return sum(node.cumulative_us for node in self.imports)


@dataclass
class Profile:
    handler: str
    task_root: str
    python: str
    phases: list[Phase]
    outcome: str  # "ok", or the first invocation's exception
    task_modules: dict[str, tuple[str, str]]  # module -> (source, .pyc it would use), task root only

    @property
    def total_seconds(self) -> float:
        return sum(phase.seconds for phase in self.phases)

    def phase(self, name: str) -> Phase:
        return next(p for p in self.phases if p.name == name)

    def handler_module(self) -> ImportNode | None:
        module = self.handler.rsplit(".", 1)[0].replace("/", ".")
        for node in self.phase("handler import").imports:
            if node.name == module:
                return node
        return None


def runtime_dir() -> str:
    """The folder holding the lambdaloop package, so any interpreter can import it."""
    return str(Path(__file__).resolve().parents[2])


def lambda_environment(task_root: str, handler: str, timeout_s: int, memory_mb: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONSTARTUP", "PYTHONPROFILEIMPORTTIME")}
    env.update(
        {
            "LAMBDA_TASK_ROOT": task_root,
            "_HANDLER": handler,
            "AWS_LAMBDA_FUNCTION_NAME": "profiled_function",
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory_mb),
            "AWS_LAMBDA_FUNCTION_TIMEOUT": str(timeout_s),
            # Lambda's /var/task is read-only: nothing the run compiles can be kept for the next one.
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    return env


def run(
    handler: str,
    task_root: str,
    event: bytes = b"{}",
    python: str = sys.executable,
    timeout_s: int = 60,
    memory_mb: int = 3008,
    progress: Callable[[str], None] = lambda message: None,
) -> Profile:
    task_root = os.path.abspath(task_root)
    if not os.path.isdir(task_root):
        raise ProfileError(f"task root {task_root} is not a folder")
    cmd = [python, "-X", "importtime", "-c", DRIVER, handler, runtime_dir(), event.decode(), str(timeout_s * 1000)]
    env = lambda_environment(task_root, handler, timeout_s, memory_mb)
    progress(f"starting {os.path.basename(python)} for {handler}")
    spawned = time.time()
    try:
        child = subprocess.Popen(
            cmd, cwd=task_root, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, text=True, errors="replace",
        )  # fmt: skip
    except OSError as exc:
        raise ProfileError(f"cannot run {python}: {exc.strerror or exc}") from None
    builder = TreeBuilder()
    marks: dict[str, tuple[float, float, str]] = {}
    imports: dict[str, list[ImportNode]] = {}
    other: list[str] = []
    phase_of = {"ready": PHASES[0], "runtime": PHASES[1], "imported": PHASES[2], "invoked": PHASES[3]}
    count = 0
    assert child.stderr is not None
    try:
        for line in child.stderr:
            if builder.feed(line):
                count += 1
                if count % 25 == 0:
                    progress(f"{handler}: {count} imports so far")
                continue
            if line.startswith(MARKER):
                name, perf, wall, extra = ([*line[len(MARKER) :].strip().split(" ", 3), ""])[:4]
                marks[name] = (float(perf), float(wall), extra)
                if name in phase_of:
                    imports[phase_of[name]] = builder.take()
                    progress(f"{handler}: {phase_of[name]} done ({count} imports)")
                if name == "error":
                    break
            elif line.strip():
                other.append(line.rstrip("\n"))
        child.wait(timeout=timeout_s + 30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    if "error" in marks:
        raise ProfileError(import_failure(handler, json.loads(marks["error"][2])))
    if "done" not in marks:
        detail = "\n".join(other[-15:])
        raise ProfileError(
            f"{handler}: the profiled interpreter exited with {child.returncode} before finishing:\n{detail}"
        )
    ready_perf, ready_wall, _ = marks["ready"]
    phases = [Phase(PHASES[0], ready_wall - spawned, imports.get(PHASES[0], []))]
    previous = ready_perf
    for mark, name in (("runtime", PHASES[1]), ("imported", PHASES[2]), ("invoked", PHASES[3])):
        phases.append(Phase(name, marks[mark][0] - previous, imports.get(name, [])))
        previous = marks[mark][0]
    done = json.loads(marks["done"][2])
    modules = {name: (files[0], files[1]) for name, files in done["modules"].items()}
    return Profile(handler, task_root, python, phases, done["outcome"], modules)


def import_failure(handler: str, error: dict[str, object]) -> str:
    # The profiler's own frame (the driver runs as "<string>") is not the user's business.
    trace_lines = error.get("trace")
    lines = trace_lines if isinstance(trace_lines, list) else []
    frames = [str(line) for line in lines if not str(line).startswith('  File "<string>"')]
    trace = "".join(frames)
    message = f"{handler} failed to import: {error['type']}: {error['message']}"
    return f"{message}\n{trace.rstrip()}" if trace else message
