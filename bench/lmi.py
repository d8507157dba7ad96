"""Lambda Managed Instances: lambdaloop against awslambdaric 4.2.2 through the real RIE's LMI
engine (``tests/lmi/rie_lmi.py``: root, a private mount namespace, the runtime as uid 993).

    python bench/lmi.py [--quick] [--rounds 3] [--only io,heavy,cpu] [--lambdaloop-root PATH]
                        [--out bench/results/lmi.json]

Sections (every round runs every contender once per section, the order rotated each round;
a fresh RIE per measurement; figures are medians over rounds):
  io     AWS_LAMBDA_MAX_CONCURRENCY=32, 32 client threads invoking back to back for a timed
         window: invocations/s, p50/p99 latency, PSS summed over every runtime process
         (sampled in the middle of the window). lambdaloop runs ``async def`` awaiting
         asyncio.sleep(0.1); awslambdaric cannot await, so it runs what its users write,
         time.sleep(0.1).
  heavy  =16, a function whose import builds ~40 MB of objects and burns 0.3 s of CPU: time
         from the RIE's start (the LMI engine starts the runtime at once) until 16 concurrent
         invocations have all been answered by a handler that answers only when all 16 are in
         flight together (so: 16 workers ready at once), and PSS then. ``lambdaloop-preload``
         is lambdaloop with LAMBDALOOP_PRELOAD=1 (import once, then fork; issue 13).
  cpu    =2, a pure-Python handler doing fixed work, 2 client threads: invocations/s.
An invoke that finds no runtime waiting gets 400 Runtime.Unavailable (the LMI engine has no
queue); it is retried after 2 ms and counted. Markdown on stdout, raw samples in the JSON.
"""

from __future__ import annotations

import argparse
import http.client
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from _stats import fmt, median, progress, quantile, ratio, spread, table, write_json

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "lmi"))
sys.path.append(str(REPO / "tests"))  # rie_lmi imports tests/procs.py

from rie_lmi import AWSLAMBDARIC, INVOKE_PATH, LAMBDALOOP, Deps, LmiRie, prepare_deps, why_not  # noqa: E402

FUNCTIONS = Path(__file__).resolve().parent / "lmi_functions"
BASE = "awslambdaric"
MIB = 1024.0


@dataclass
class Contender:
    name: str
    runtime: tuple[str, ...]
    handlers: dict[str, str]  # section -> handler
    env: dict[str, str] = field(default_factory=dict)


def contenders() -> list[Contender]:
    ours = {"io": "lmibench.io_async", "heavy": "heavy.handler", "cpu": "lmibench.cpu"}
    theirs = {"io": "lmibench.io_sync", "heavy": "heavy.handler", "cpu": "lmibench.cpu"}
    return [
        Contender("lambdaloop", LAMBDALOOP, ours),
        Contender("lambdaloop-preload", LAMBDALOOP, {"heavy": "heavy.handler"}, {"LAMBDALOOP_PRELOAD": "1"}),
        Contender(BASE, AWSLAMBDARIC, theirs),
        Contender(f"{BASE}-control", AWSLAMBDARIC, theirs),
    ]


class Invoker:
    """One client thread's keep-alive connection; retries Runtime.Unavailable."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.unavailable = 0

    def invoke(self, payload: bytes, give_up: float) -> tuple[int, bytes, float]:
        """(status, body, seconds from the first attempt to the answer)."""
        t0 = time.perf_counter()
        while True:
            self.conn.request("POST", INVOKE_PATH, body=payload, headers={"X-Amzn-RequestId": str(uuid.uuid4())})
            answer = self.conn.getresponse()
            body = answer.read()
            if answer.status == 400 and b"Runtime.Unavailable" in body and time.monotonic() < give_up:
                self.unavailable += 1
                time.sleep(0.002)
                continue
            return answer.status, body, time.perf_counter() - t0

    def close(self) -> None:
        self.conn.close()


def _threads(n: int, target: Callable[[int], None]) -> None:
    threads = [threading.Thread(target=target, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def load_once(
    c: Contender, deps: Deps, work: Path, section: str, concurrency: int, warmup: float, window: float
) -> dict[str, object]:
    """``concurrency`` clients invoking back to back: warm-up, then a timed window."""
    with LmiRie(work, c.handlers[section], FUNCTIONS, c.runtime, concurrency, c.env, deps=deps) as rie:
        latencies: list[float] = []
        failures: list[str] = []
        invokers = [Invoker(rie.port) for _ in range(concurrency)]
        lock = threading.Lock()
        t_start = time.monotonic() + warmup
        t_end = t_start + window
        memory: dict[str, int] = {}

        def client(i: int) -> None:
            inv = invokers[i]
            while True:
                status, body, seconds = inv.invoke(b"{}", give_up=t_end + 30)
                now = time.monotonic()
                if now > t_end:
                    return
                if now < t_start:
                    continue
                with lock:
                    if status == 200 and b"errorType" not in body:
                        latencies.append(seconds)
                    elif len(failures) < 5:
                        failures.append(f"{status} {body[:200]!r}")

        def sample() -> None:
            time.sleep(max(0.0, t_start - time.monotonic() + window / 2))
            memory.update(rie.memory())

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        unavailable_before = 0
        _threads(concurrency, client)
        sampler.join()
        for inv in invokers:
            unavailable_before += inv.unavailable
            inv.close()
    ok = bool(latencies) and not failures
    return {
        "ok": ok,
        "invocations": len(latencies),
        "per_second": len(latencies) / window,
        "p50_ms": quantile(latencies, 0.5) * 1e3 if latencies else float("nan"),
        "p99_ms": quantile(latencies, 0.99) * 1e3 if latencies else float("nan"),
        "pss_mib": memory.get("pss_kib", 0) / MIB,
        "rss_mib": memory.get("rss_kib", 0) / MIB,
        "processes": memory.get("processes", 0),
        "unavailable_retries": unavailable_before,
        "failures": failures,
    }


TOUCH_ROUNDS = 5  # invocations per client that read the whole table (the decay measurement)


def heavy_once(c: Contender, deps: Deps, work: Path, concurrency: int) -> dict[str, object]:
    """RIE start -> all ``concurrency`` rendezvous invocations answered; PSS then."""
    batch = uuid.uuid4().hex
    payload = b'{"batch": "%s", "count": %d}' % (batch.encode(), concurrency)
    results: list[tuple[int, bytes] | None] = [None] * concurrency
    t0 = time.monotonic()
    with LmiRie(work, c.handlers["heavy"], FUNCTIONS, c.runtime, concurrency, c.env, deps=deps) as rie:
        listening = time.monotonic() - t0

        def client(i: int) -> None:
            inv = Invoker(rie.port)
            try:
                status, body, _ = inv.invoke(payload, give_up=time.monotonic() + 90)
                results[i] = (status, body)
            finally:
                inv.close()

        _threads(concurrency, client)
        ready = time.monotonic() - t0
        memory = rie.memory()

        def toucher(i: int) -> None:
            inv = Invoker(rie.port)
            try:
                for _ in range(TOUCH_ROUNDS):
                    inv.invoke(b'{"touch": true}', give_up=time.monotonic() + 60)
            finally:
                inv.close()

        # Copy-on-write decay: invocations that read the whole shared table, then PSS again.
        _threads(concurrency, toucher)
        touched = rie.memory()
    answered = [r for r in results if r is not None and r[0] == 200 and b"errorType" not in r[1]]
    pids = {r[1].split(b'"pid": ', 1)[1].split(b",", 1)[0] for r in answered}
    return {
        "ok": len(answered) == concurrency,
        "ready_s": ready,
        "rie_listening_s": listening,
        "distinct_workers": len(pids),
        "pss_mib": memory["pss_kib"] / MIB,
        "pss_touched_mib": touched["pss_kib"] / MIB,
        "rss_mib": memory["rss_kib"] / MIB,
        "processes": memory["processes"],
        "failures": [repr(r)[:200] for r in results if r is None or r not in answered][:3],
    }


# (section, label, unit, key, target ratio lambdaloop/awslambdaric or None, lower is better)
ROWS: list[tuple[str, str, str, str, str | None, bool]] = [
    ("io", "async I/O N=32: invocations/s", "1/s", "per_second", None, False),
    ("io", "async I/O N=32: p50 latency", "ms", "p50_ms", "≤1.1x", True),
    ("io", "async I/O N=32: p99 latency", "ms", "p99_ms", None, True),
    ("io", "async I/O N=32: PSS, all runtime processes", "MiB", "pss_mib", "≤0.2x", True),
    ("io", "async I/O N=32: runtime processes", "", "processes", None, True),
    ("io", "async I/O N=32: Runtime.Unavailable retries", "", "unavailable_retries", None, True),
    ("heavy", "heavy init N=16: start -> 16 answered together", "s", "ready_s", None, True),
    ("heavy", "heavy init N=16: PSS, all runtime processes", "MiB", "pss_mib", None, True),
    ("heavy", "heavy init N=16: PSS after 5 invocations each reading all", "MiB", "pss_touched_mib", None, True),
    ("heavy", "heavy init N=16: runtime processes", "", "processes", None, True),
    ("cpu", "CPU-bound N=2: invocations/s", "1/s", "per_second", "≥0.95x", False),
]
PRELOAD_TARGETS = {"ready_s": "≤0.5x", "pss_mib": "≤0.5x"}


def _verdict(r: float, target: str | None) -> str:
    if target is None or r != r:
        return ""
    bound = float(target[1:-1])
    met = r >= bound if target.startswith("≥") else r <= bound
    return f"{target}: {'**met**' if met else '**missed**'}"


def report(raw: dict[str, dict[str, list[dict]]], names: list[str]) -> str:
    rows, spread_rows = [], []
    for section, label, unit, key, target, _lower in ROWS:
        if section not in raw:
            continue
        per = {n: [float(s[key]) for s in raw[section].get(n, []) if s.get("ok")] for n in names}
        med = {n: median(v) for n, v in per.items()}
        b = med.get(BASE, float("nan"))
        shown = [n for n in names if raw[section].get(n)]
        row = [label, unit, *(fmt(med[n]) if n in shown else "" for n in names)]
        ll = med.get("lambdaloop", float("nan"))
        pre = med.get("lambdaloop-preload", float("nan"))
        verdicts = [_verdict(ll / b if b else float("nan"), target)]
        if section == "heavy" and key in PRELOAD_TARGETS:
            verdicts.append("preload " + _verdict(pre / b if b else float("nan"), PRELOAD_TARGETS[key]))
        row += [
            ratio(ll, b),
            ratio(pre, b) if section == "heavy" else "",
            ratio(med.get(f"{BASE}-control", float("nan")), b),
            "; ".join(v for v in verdicts if v.strip() and v != "preload "),
        ]
        rows.append(row)
        spread_rows.append([label, unit, *(f"{spread(per[n])} (n={len(per[n])})" if per[n] else "" for n in names)])
    out = [
        table(
            ["Figure", "unit", *names, "lambdaloop/aws", "preload/aws", "control/aws", "target (issue 13)"],
            rows,
        )
    ]
    out.append("\nSpread (min-max over rounds):\n")
    out.append(table(["Figure", "unit", *names], spread_rows))
    failed = [
        f"{section} {n}: {s.get('failures')}"
        for section, per in raw.items()
        for n, samples in per.items()
        for s in samples
        if not s.get("ok")
    ]
    if failed:
        out.append("\nFailed measurements:\n" + "\n".join(f"- {f}" for f in failed))
    return "\n".join(out) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="one round, short windows, no control (under a minute)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--only", default="io,heavy,cpu")
    ap.add_argument("--lambdaloop-root", default=str(REPO), help="the checkout whose runtime/ lambdaloop runs")
    ap.add_argument("--contenders", default="", help="comma-separated subset of names")
    ap.add_argument("--out", default=str(REPO / "bench" / "results" / "lmi.json"))
    args = ap.parse_args()
    reason = why_not()
    if reason:
        raise SystemExit(f"bench/lmi.py: {reason}")
    rounds = 1 if args.quick else args.rounds
    # 33 processes starting on 2 CPUs take ~3 s before every worker waits in /next: a shorter
    # warm-up measures start-up (p99 of seconds), not the steady state.
    io_window, io_warmup = (2.0, 4.0) if args.quick else (5.0, 5.0)
    cpu_window, cpu_warmup = (2.0, 1.0) if args.quick else (5.0, 1.5)
    sections = [s for s in ("io", "heavy", "cpu") if s in args.only.split(",")]
    cs = contenders()
    if args.contenders:
        cs = [c for c in cs if c.name in args.contenders.split(",")]
    elif args.quick:
        cs = [c for c in cs if c.name != f"{BASE}-control"]
    root = Path(args.lambdaloop_root).resolve()
    sys.path.insert(0, str(REPO / "bench"))
    from soak import git_describe

    version = git_describe(str(root))
    t_begin = time.monotonic()
    raw: dict[str, dict[str, list[dict]]] = {s: {c.name: [] for c in cs if s in c.handlers} for s in sections}
    with tempfile.TemporaryDirectory(prefix="lambdaloop-bench-lmi-") as tmp:
        deps = prepare_deps(Path(tmp) / "deps", root)
        progress(f"lambdaloop from {root} at {version['commit']}")
        n = 0
        for r in range(rounds):
            for section in sections:
                live = [c for c in cs if section in c.handlers]
                for c in live[r % len(live) :] + live[: r % len(live)]:
                    progress(f"  round {r + 1}/{rounds}: {section} {c.name}")
                    n += 1
                    work = Path(tmp) / f"session-{n}"
                    try:
                        if section == "io":
                            sample = load_once(c, deps, work, "io", 32, io_warmup, io_window)
                        elif section == "cpu":
                            sample = load_once(c, deps, work, "cpu", 2, cpu_warmup, cpu_window)
                        else:
                            sample = heavy_once(c, deps, work, 16)
                    except Exception as exc:  # a contender's failure is recorded, not fatal
                        sample = {"ok": False, "failures": [f"{type(exc).__name__}: {exc}"[:2000]]}
                    if not sample.get("ok"):
                        progress(f"    failed: {sample.get('failures')}")
                    raw[section][c.name].append(sample)
    names = [c.name for c in cs]
    print(f"lambdaloop at {version['commit']} ({root}); {rounds} round(s)\n")
    print(report(raw, names))
    seconds = time.monotonic() - t_begin
    write_json(
        args.out,
        {
            "lambdaloop": version,
            "rounds": rounds,
            "windows_s": {"io": [io_warmup, io_window], "cpu": [cpu_warmup, cpu_window]},
            "contenders": [{"name": c.name, "runtime": c.runtime, "handlers": c.handlers, "env": c.env} for c in cs],
            "results": raw,
            "seconds": seconds,
        },
    )
    progress(f"done in {seconds:.0f} s")


if __name__ == "__main__":
    main()
