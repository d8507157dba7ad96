"""Soak: one runtime process, a long mixed run against the fake Runtime API, and what its
memory, file descriptors and threads do meanwhile.

    python bench/soak.py [--invocations 100000] [--quick] [--lambdaloop-root PATH]
                         [--sample-every 1000] [--rounds 1] [--out bench/results/soak.json]

Each contender serves ``--invocations`` events in one process, cycling through kinds
(``bench/soak_handlers.py``): plain results, raised errors, ``print``, ``logging``, a thread
started and joined by the handler, a ~100 KB result, a context/trace-id check through libc,
and for lambdaloop only (awslambdaric cannot) an awaited coroutine and a streamed response.
Every invocation has its own request id and its own ``Lambda-Runtime-Trace-Id``, and every
answer is checked (the handler reports whether it saw its own trace id).

Every ``--sample-every`` invocations the runtime's process tree is read from /proc: VmRSS
(status), Pss (smaps_rollup), open fds (fd/) and threads (task/). The table gives RSS and PSS
at the reference point (10k invocations, or a tenth of a shorter run) and at the end, the
growth between them, bytes per invocation (least-squares slope after the reference point),
and fds and threads min/max. Target (issue 11 item 12): lambdaloop's RSS growth < 1 MiB from
10k to 100k invocations, fds and threads constant.

``--lambdaloop-root`` runs the lambdaloop of another checkout (its ``runtime/`` goes first on
``PYTHONPATH``; the interpreter, awslambdaric and the handlers stay this checkout's), so one
can measure a commit before and after a fix. The commit measured is recorded.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field

from _fakeapi import FakeRuntimeApi, Phase
from _proc import Child, clean_env
from _stats import fmt, median, progress, table, write_json

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PY = os.path.join(REPO, ".venv", "bin", "python")
MIB = 1024.0

ALL_KINDS = ("result", "print", "error", "logging", "thread", "async", "context", "stream", "result", "large")
SYNC_ONLY = tuple(k for k in ALL_KINDS if k not in ("async", "stream"))


@dataclass
class Contender:
    name: str
    argv: list[str]
    env: dict[str, str]
    kinds: tuple[str, ...]
    version: dict[str, str] = field(default_factory=dict)


def git_describe(root: str) -> dict[str, str]:
    def git(*args: str) -> str:
        done = subprocess.run(["git", "-C", root, *args], capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD")
    dirty = bool(git("status", "--porcelain", "--", "runtime"))
    return {"root": root, "commit": (commit or "unknown") + ("+dirty" if dirty else "")}


def contenders(python: str, lambdaloop_root: str) -> list[Contender]:
    base = clean_env(
        {
            "LAMBDA_TASK_ROOT": REPO,
            "AWS_LAMBDA_FUNCTION_NAME": "soak",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_REGION": "us-east-1",
        }
    )
    ours = {**base, "PYTHONPATH": os.path.join(lambdaloop_root, "runtime")}
    version = git_describe(lambdaloop_root)
    return [
        Contender("lambdaloop", [python, "-m", "lambdaloop", "bench.soak_handlers.mixed"], ours, ALL_KINDS, version),
        Contender(
            "lambdaloop-async",
            [python, "-m", "lambdaloop", "bench.soak_handlers.mixed_async"],
            ours,
            ALL_KINDS,
            version,
        ),
        Contender("awslambdaric", [python, "-m", "awslambdaric", "bench.soak_handlers.mixed"], base, SYNC_ONLY),
        Contender("awslambdaric-control", [python, "-m", "awslambdaric", "bench.soak_handlers.mixed"], base, SYNC_ONLY),
    ]


def check_import(c: Contender) -> str:
    """Where the contender's runtime package comes from (a wrong PYTHONPATH shows here)."""
    module = c.argv[2]
    done = subprocess.run(
        [c.argv[0], "-c", f"import {module}; print({module}.__file__)"],
        env=c.env,
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise SystemExit(f"{c.name}: cannot import {module}: {done.stderr.strip()[-500:]}")
    return done.stdout.strip()


def proc_sample(pids: list[int]) -> dict[str, int]:
    """VmRSS and Pss (KiB), open fds and threads, summed over the processes."""
    out = {"rss_kib": 0, "pss_kib": 0, "fds": 0, "threads": 0, "processes": 0}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as f:
                rss = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
            with open(f"/proc/{pid}/smaps_rollup") as f:
                pss = next(int(line.split()[1]) for line in f if line.startswith("Pss:"))
            fds = len(os.listdir(f"/proc/{pid}/fd"))
            threads = len(os.listdir(f"/proc/{pid}/task"))
        except (OSError, StopIteration):
            continue  # the process ended meanwhile
        out["rss_kib"] += rss
        out["pss_kib"] += pss
        out["fds"] += fds
        out["threads"] += threads
        out["processes"] += 1
    return out


class Checker:
    """Checks every answer against its invocation's kind, and samples /proc on schedule."""

    def __init__(self, kinds: tuple[str, ...], sample_every: int, total: int) -> None:
        self.kinds = kinds
        self.sample_every = sample_every
        self.total = total
        self.child: Child | None = None
        self.samples: list[dict[str, float]] = []
        self.bad: dict[str, int] = {}
        self.answered: dict[str, int] = {}
        self.examples: list[str] = []
        self.t0 = time.perf_counter()

    def kind_of(self, number: int) -> str:
        return self.kinds[(number - 1) % len(self.kinds)]

    def on_post(self, number: int, path: bytes, is_error: bool, body: bytes) -> None:
        kind = self.kind_of(number) if number else "?"
        self.answered[kind] = self.answered.get(kind, 0) + 1
        if not self._good(kind, is_error, body):
            self.bad[kind] = self.bad.get(kind, 0) + 1
            if len(self.examples) < 5:
                self.examples.append(f"#{number} {kind} {path.decode(errors='replace')}: {body[:200]!r}")
        if number and (number % self.sample_every == 0 or number == self.total):
            self.sample(number)

    @staticmethod
    def _good(kind: str, is_error: bool, body: bytes) -> bool:
        from soak_handlers import PAD, expected_stream

        if kind == "error":
            return is_error and json.loads(body).get("errorType") == "ValueError"
        if is_error:
            return False
        if kind == "stream":
            return body == expected_stream()
        try:
            answer = json.loads(body)
        except ValueError:
            return False
        want: dict[str, object] = {"k": kind, "ok": True}
        if kind == "large":
            want["pad"] = PAD
        return bool(answer == want)

    def sample(self, number: int) -> None:
        assert self.child is not None
        figures = proc_sample(self.child.remember())
        self.samples.append({"invocations": number, "seconds": time.perf_counter() - self.t0, **figures})
        if number % max(1, self.total // 10) < self.sample_every:
            progress(f"    {number:,} invocations, RSS {figures['rss_kib'] / MIB:.1f} MiB")


def slope_bytes(samples: list[dict[str, float]], key: str, start: int) -> float:
    """Least-squares bytes per invocation of ``key`` (KiB) over the samples from ``start``."""
    pts = [(s["invocations"], s[key] * 1024.0) for s in samples if s["invocations"] >= start]
    if len(pts) < 2:
        return float("nan")
    mx = sum(x for x, _ in pts) / len(pts)
    my = sum(y for _, y in pts) / len(pts)
    var = sum((x - mx) ** 2 for x, _ in pts)
    return sum((x - mx) * (y - my) for x, y in pts) / var if var else float("nan")


def soak_once(c: Contender, invocations: int, sample_every: int, reference: int, log_dir: str) -> dict[str, object]:
    mix = tuple(json.dumps({"kind": k}).encode() for k in c.kinds)
    checker = Checker(c.kinds, sample_every, invocations)
    api = FakeRuntimeApi([Phase("soak", mix[0], 0, invocations, mix=mix)], distinct_trace=True, on_post=checker.on_post)
    log = os.path.join(log_dir, f"soak-{c.name}.log")
    with open(log, "wb"):
        pass  # a fresh log per run
    env = {**c.env, "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{api.port}"}
    t0 = time.perf_counter()
    child = Child(c.argv, env, REPO, log)
    checker.child = child
    checker.t0 = t0
    try:
        api.serve(time.monotonic() + max(600.0, invocations / 100), stop=lambda: child.proc.poll() is not None)
    finally:
        exited = child.proc.poll()
        child.stop(grace=1.0)
        api.close()
    seconds = time.perf_counter() - t0
    samples = checker.samples
    at_ref = next((s for s in samples if s["invocations"] >= reference), None)
    end = samples[-1] if samples else None
    after_ref = [s for s in samples if s["invocations"] >= reference]
    bad = sum(checker.bad.values())
    ok = api.completed == invocations and bad == 0 and exited is None
    result: dict[str, object] = {
        "ok": ok,
        "completed": api.completed,
        "exited_early": exited,
        "seconds": seconds,
        "answered_by_kind": checker.answered,
        "bad_by_kind": checker.bad,
        "bad_examples": checker.examples,
        "samples": samples,
        "log": log,
    }
    if at_ref and end:
        result.update(
            {
                "reference": at_ref["invocations"],
                "end": end["invocations"],
                "rss_ref_kib": at_ref["rss_kib"],
                "rss_end_kib": end["rss_kib"],
                "rss_growth_kib": end["rss_kib"] - at_ref["rss_kib"],
                "pss_ref_kib": at_ref["pss_kib"],
                "pss_end_kib": end["pss_kib"],
                "pss_growth_kib": end["pss_kib"] - at_ref["pss_kib"],
                "rss_bytes_per_invocation": slope_bytes(samples, "rss_kib", reference),
                "fds": [min(s["fds"] for s in after_ref), max(s["fds"] for s in after_ref)],
                "threads": [min(s["threads"] for s in after_ref), max(s["threads"] for s in after_ref)],
                "fds_all": [min(s["fds"] for s in samples), max(s["fds"] for s in samples)],
                "threads_all": [min(s["threads"] for s in samples), max(s["threads"] for s in samples)],
            }
        )
    return result


def _med(runs: list[dict], key: str) -> float:
    return median(float(r[key]) for r in runs if r.get("ok") and key in r)  # type: ignore[arg-type]


def _span(runs: list[dict], key: str) -> str:
    pairs = [r[key] for r in runs if r.get("ok") and key in r]
    if not pairs:
        return "n/a"
    lo, hi = min(p[0] for p in pairs), max(p[1] for p in pairs)
    return f"{lo}" if lo == hi else f"{lo}-{hi}"


def verdict(runs: list[dict], invocations: int) -> str:
    good = [r for r in runs if r.get("ok")]
    if not good:
        return "failed"
    growth = max(float(r["rss_growth_kib"]) for r in good)
    flat = all(r["fds"][0] == r["fds"][1] and r["threads"][0] == r["threads"][1] for r in good)
    if invocations < 100_000:
        return f"(target is for 100k; growth {'<' if growth < MIB else '>='} 1 MiB here)"
    return "**met**" if growth < MIB and flat else "**missed**"


def report(raw: dict[str, object], names: list[str], reference: int, invocations: int) -> str:
    results: dict[str, list[dict]] = raw["results"]  # type: ignore[assignment]
    rows = []
    for n in names:
        runs = results.get(n, [])
        if not runs:
            continue
        good = [r for r in runs if r.get("ok")]
        rows.append(
            [
                n,
                f"{sum(int(r['completed']) for r in runs) // max(1, len(runs)):,}",
                fmt(_med(runs, "rss_ref_kib") / MIB),
                fmt(_med(runs, "rss_end_kib") / MIB),
                fmt(_med(runs, "rss_growth_kib") / MIB),
                fmt(_med(runs, "rss_bytes_per_invocation")),
                fmt(_med(runs, "pss_ref_kib") / MIB),
                fmt(_med(runs, "pss_end_kib") / MIB),
                fmt(_med(runs, "pss_growth_kib") / MIB),
                _span(runs, "fds"),
                _span(runs, "threads"),
                fmt(_med(runs, "seconds")),
                f"{len(good)}/{len(runs)}",
                verdict(runs, invocations) if n.startswith("lambdaloop") else "",
            ]
        )
    ref = f"{reference // 1000}k" if reference % 1000 == 0 else str(reference)
    header = [
        "contender",
        "invocations",
        f"RSS at {ref} MiB",
        "RSS at end MiB",
        f"RSS growth {ref}->end MiB",
        "bytes/invocation",
        f"PSS at {ref} MiB",
        "PSS at end MiB",
        "PSS growth MiB",
        "fds min-max",
        "threads min-max",
        "wall s",
        "runs ok",
        "target: growth < 1 MiB, fds/threads constant",
    ]
    out = [table(header, rows)]
    problems = [
        f"{n} run {i + 1}: completed {r['completed']}, bad answers {r['bad_by_kind']}, exited {r['exited_early']}"
        f" {r['bad_examples'][:2]} (log: {r['log']})"
        for n, runs in results.items()
        for i, r in enumerate(runs)
        if not r.get("ok")
    ]
    if problems:
        out.append("\nFailed runs:\n" + "\n".join(f"- {p}" for p in problems))
    return "\n".join(out) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--invocations", type=int, default=100_000)
    ap.add_argument("--quick", action="store_true", help="20,000 invocations per contender (~1 min)")
    ap.add_argument("--sample-every", type=int, default=0, help="invocations between /proc samples")
    ap.add_argument("--rounds", type=int, default=1, help="runs per contender, interleaved")
    ap.add_argument("--lambdaloop-root", default=REPO, help="the checkout whose runtime/ lambdaloop runs")
    ap.add_argument("--python", default=PY, help="interpreter of every contender")
    ap.add_argument("--contenders", default="", help="comma-separated subset of names")
    ap.add_argument("--out", default=os.path.join(REPO, "bench", "results", "soak.json"))
    args = ap.parse_args()
    invocations = 20_000 if args.quick else args.invocations
    sample_every = args.sample_every or max(1, min(1000, invocations // 100))
    reference = 10_000 if invocations >= 20_000 else max(sample_every, invocations // 10)
    reference -= reference % sample_every
    root = os.path.abspath(args.lambdaloop_root)
    if not os.path.isdir(os.path.join(root, "runtime", "lambdaloop")):
        raise SystemExit(f"--lambdaloop-root {root}: no runtime/lambdaloop there")
    cs = contenders(args.python, root)
    if args.contenders:
        cs = [c for c in cs if c.name in args.contenders.split(",")]
    log_dir = os.path.join(os.path.dirname(os.path.abspath(args.out)), "logs")
    os.makedirs(log_dir, exist_ok=True)
    imported = {c.name: check_import(c) for c in cs}
    for c in cs:
        if c.name.startswith("lambdaloop") and not imported[c.name].startswith(root + os.sep):
            raise SystemExit(f"{c.name} imports {imported[c.name]}, not the one under {root}")
    progress(f"lambdaloop from {root} at {cs[0].version.get('commit') if cs else '?'}")
    results: dict[str, list[dict]] = {c.name: [] for c in cs}
    t_start = time.monotonic()
    for r in range(args.rounds):
        for c in cs[r % len(cs) :] + cs[: r % len(cs)]:
            progress(f"  round {r + 1}/{args.rounds}: {c.name}, {invocations:,} invocations")
            run = soak_once(c, invocations, sample_every, reference, log_dir)
            if not run["ok"]:
                progress(f"    failed: {run['completed']} answered, bad {run['bad_by_kind']} {run['bad_examples'][:2]}")
            results[c.name].append(run)
    raw: dict[str, object] = {
        "invocations": invocations,
        "sample_every": sample_every,
        "reference": reference,
        "lambdaloop": cs[0].version if cs else {},
        "imported_from": imported,
        "contenders": [{"name": c.name, "argv": c.argv, "kinds": c.kinds} for c in cs],
        "results": results,
        "seconds": time.monotonic() - t_start,
    }
    version = cs[0].version if cs else {}
    print(f"lambdaloop at {version.get('commit', '?')} ({version.get('root', '?')}), {invocations:,} invocations\n")
    print(report(raw, [c.name for c in cs], reference, invocations))
    write_json(args.out, raw)
    progress(f"done in {raw['seconds']:.0f} s")
    bad_runs = [r for runs in results.values() for r in runs if not r.get("ok")]
    if bad_runs or any(math.isnan(_med(runs, "rss_growth_kib")) for runs in results.values()):
        sys.exit(1)


if __name__ == "__main__":
    main()
