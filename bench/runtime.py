"""lambdaloop against awslambdaric 4.2.2, an awslambdaric control and a raw-socket floor.

    python bench/runtime.py [--quick] [--out bench/results/runtime.json] [--only spawn,loop,rie,imports]

Sections (each interleaved: every round runs every contender once, the order rotated each
round, so drift on this noisy VM lands on all of them alike; figures are medians):
  spawn    process spawn -> first GET /next at a fake Runtime API (and -> first /response)
  loop     fake Runtime API in this process, pinned with the runtime to one CPU: wall and
           runtime-CPU (from /proc) µs per noop invoke, then per ~1 MB JSON echo
  rie      the real RIE, classic mode, sequential invokes: p50/p99 noop and ~1 MB echo;
           RSS/PSS of the runtime after the noop series (2,101 invocations in a full run)
  imports  -X importtime of the real start-up (spawn to first answered invoke), top
           contributors, which heavy modules are imported; wall of `python -c 'import M'`
Markdown on stdout, progress on stderr, every raw sample in the JSON.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable

from _figures import REPO, Contender, loop_once, rie_once, spawn_once, startup_imports_once
from _imports import import_cost, watched
from _proc import clean_env, default_cpu
from _report import report
from _rie import rie_binary
from _stats import progress, write_json

PY = os.path.join(REPO, ".venv", "bin", "python")
BASE = "awslambdaric"


def contenders(python: str, baseline: str = "") -> list[Contender]:
    env = clean_env(
        {
            "LAMBDA_TASK_ROOT": REPO,
            "AWS_LAMBDA_FUNCTION_NAME": "bench",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_REGION": "us-east-1",
            "LAMBDALOOP_PYTHON": python,  # ./bootstrap's interpreter: the same as everyone's
        }
    )
    out = [
        Contender(
            "lambdaloop", [python, "-m", "lambdaloop", "{handler}"], env, "import lambdaloop.__main__, lambdaloop.loop"
        ),
        Contender(BASE, [python, "-m", "awslambdaric", "{handler}"], env, "import awslambdaric.__main__"),
        Contender(f"{BASE}-control", [python, "-m", "awslambdaric", "{handler}"], env, "import awslambdaric.__main__"),
        Contender(
            "floor", [python, os.path.join(REPO, "bench", "floor_loop.py")], env, "import _socket, json, importlib"
        ),
    ]
    if baseline:
        # Another checkout's runtime (an earlier commit, say), first on the path of the same
        # interpreter: before/after figures from one interleaved run.
        old = dict(env, PYTHONPATH=os.path.join(os.path.abspath(baseline), "runtime"))
        out.insert(
            1,
            Contender(
                "lambdaloop-baseline",
                [python, "-m", "lambdaloop", "{handler}"],
                old,
                "import lambdaloop.__main__, lambdaloop.loop",
            ),
        )
    bootstrap = os.path.join(REPO, "bootstrap")
    if os.access(bootstrap, os.X_OK):
        out.insert(1, Contender("lambdaloop-bootstrap", [bootstrap, "{handler}"], env, "import lambdaloop.bootstrap"))
    return out


def interleave(cs: list[Contender], rounds: int, what: str, once: Callable[[Contender], dict]) -> dict[str, list[dict]]:
    results: dict[str, list[dict]] = {c.name: [] for c in cs}
    live = [c for c in cs if c.available]
    for r in range(rounds):
        progress(f"  {what}: round {r + 1}/{rounds}")
        for c in live[r % len(live) :] + live[: r % len(live)]:
            try:
                sample = once(c)
            except Exception as exc:  # a contender's failure is recorded, not fatal
                sample = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
            if not sample.get("ok"):
                progress(f"    {c.name} failed: {str(sample.get('error', ''))[:300]} (log: {c.logs[-1:]})")
            results[c.name].append(sample)
    return results


def probe(cs: list[Contender], log_dir: str) -> None:
    """Drop a contender that cannot answer one invocation (lambdaloop while it is written),
    after one discarded start each, which also warms the bytecode caches."""
    for c in cs:
        sample = spawn_once(c, log_dir, limit=15.0)
        if not sample["ok"]:
            c.available = False
            c.note = f"did not answer a noop invocation (see {c.logs[-1]})"
            progress(f"  {c.name}: unavailable: {c.note}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small counts (~1-2 min), a smoke test")
    ap.add_argument("--out", default=os.path.join(REPO, "bench", "results", "runtime.json"))
    ap.add_argument("--only", default="spawn,loop,rie,imports")
    ap.add_argument("--python", default=PY, help="interpreter of every contender")
    ap.add_argument("--cpu", default=str(default_cpu()), help="CPU for the loop section, or 'none'")
    ap.add_argument("--contenders", default="", help="comma-separated subset of names")
    ap.add_argument("--baseline", default="", help="a checkout whose runtime runs as lambdaloop-baseline")
    args = ap.parse_args()
    q = args.quick
    counts = {
        "spawn_runs": 5 if q else 21,
        "loop_processes": 2 if q else 5,
        "loop_noop": (200, 2000) if q else (1000, 20000),
        "loop_echo": (5, 20) if q else (10, 150),
        "rie_sessions": 1 if q else 2,
        "rie_noop": (20, 300) if q else (100, 2000),
        "rie_echo": (3, 20) if q else (10, 300),
        "import_runs": 3 if q else 9,
        "echo_bytes": 1 << 20,
    }
    cpu = None if args.cpu == "none" else int(args.cpu)
    sections = set(args.only.split(","))
    log_dir = os.path.join(os.path.dirname(os.path.abspath(args.out)), "logs")
    os.makedirs(log_dir, exist_ok=True)
    cs = contenders(args.python, args.baseline)
    if args.contenders:
        cs = [c for c in cs if c.name in args.contenders.split(",")]
    from handlers import document

    doc = document(counts["echo_bytes"])
    t_start = time.monotonic()
    progress("probing contenders")
    probe(cs, log_dir)
    raw: dict[str, object] = {"counts": counts, "cpu": cpu, "echo_bytes": len(doc)}
    if "spawn" in sections:
        raw["spawn"] = interleave(cs, counts["spawn_runs"], "spawn", lambda c: spawn_once(c, log_dir))
    if "loop" in sections:
        raw["loop"] = interleave(
            cs,
            counts["loop_processes"],
            "loop",
            lambda c: loop_once(c, log_dir, cpu, counts["loop_noop"], counts["loop_echo"], doc),
        )
    if "rie" in sections:
        rie = rie_binary()
        raw["rie"] = interleave(
            cs,
            counts["rie_sessions"],
            "rie",
            lambda c: rie_once(c, log_dir, rie, counts["rie_noop"], counts["rie_echo"], doc),
        )
    if "imports" in sections:
        raw["startup_imports"] = interleave(
            cs, counts["import_runs"], "imports", lambda c: startup_imports_once(c, log_dir)
        )
        live = [c for c in cs if c.available]
        codes = {c.name: c.import_code for c in live} | {"bare interpreter": "pass"}
        progress("  imports: python -c 'import M'")
        raw["import_wall"] = import_cost(
            args.python, codes, REPO, live[0].env if live else clean_env({}), counts["import_runs"]
        )
        raw["watched_modules"] = {
            name: watched(samples[0]["modules"]) if samples and samples[0].get("ok") else {}
            for name, samples in raw["startup_imports"].items()  # type: ignore[union-attr]
        }
    raw["seconds"] = time.monotonic() - t_start
    raw["contenders"] = [{"name": c.name, "argv": c.argv, "available": c.available, "note": c.note} for c in cs]
    print(report(raw, [c.name for c in cs], BASE))
    write_json(args.out, raw)
    progress(f"done in {raw['seconds']:.0f} s")


if __name__ == "__main__":
    sys.exit(main())
