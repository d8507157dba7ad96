"""Import cost: ``-X importtime`` trees and the wall time of ``python -c 'import M'``."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from _proc import run_blocking
from _stats import median

_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")


@dataclass
class ImportTree:
    total_us: int  # sum of the top-level cumulative entries: everything imported
    top: list[tuple[str, int]]  # top-level entries, costliest first (cumulative µs)
    self_us: dict[str, int]  # each module's own (self) time
    modules: set[str]


def parse_importtime(stderr: str) -> ImportTree:
    total = 0
    top: list[tuple[str, int]] = []
    self_us: dict[str, int] = {}
    for line in stderr.splitlines():
        m = _LINE.match(line)
        if not m:
            continue
        own, cumulative, indent, name = int(m.group(1)), int(m.group(2)), len(m.group(3)), m.group(4)
        self_us[name] = own
        if indent <= 1:  # "| name" at top level, "|   name" nested (two more spaces per level)
            total += cumulative
            top.append((name, cumulative))
    top.sort(key=lambda item: -item[1])
    return ImportTree(total, top, self_us, set(self_us))


def importtime(python: str, code: str, cwd: str, env: dict[str, str]) -> ImportTree:
    status, _ms, err = run_blocking([python, "-X", "importtime", "-c", code], env, cwd)
    if status != 0:
        raise RuntimeError(f"{python} -c {code!r} exited {status}: {err[-600:]}")
    return parse_importtime(err)


def wall_ms(python: str, code: str, cwd: str, env: dict[str, str]) -> float:
    status, ms, err = run_blocking([python, "-c", code], env, cwd)
    if status != 0:
        raise RuntimeError(f"{python} -c {code!r} exited {status}: {err[-600:]}")
    return ms


def import_cost(python: str, codes: dict[str, str], cwd: str, env: dict[str, str], runs: int) -> dict[str, dict]:
    """For each name -> code: importtime totals and wall times, interleaved run by run so drift
    on this noisy VM lands on every candidate alike."""
    samples: dict[str, dict[str, list[float]]] = {n: {"importtime_ms": [], "wall_ms": []} for n in codes}
    trees: dict[str, ImportTree] = {}
    for _run in range(runs):
        for name, code in codes.items():
            tree = importtime(python, code, cwd, env)
            trees.setdefault(name, tree)
            samples[name]["importtime_ms"].append(tree.total_us / 1e3)
        for _ in range(3):  # wall time is cheap and noisier: more samples
            for name, code in codes.items():
                samples[name]["wall_ms"].append(wall_ms(python, code, cwd, env))
    return {
        name: {
            "code": codes[name],
            "importtime_ms_median": median(s["importtime_ms"]),
            "wall_ms_median": median(s["wall_ms"]),
            "top": trees[name].top[:8],
            **s,
        }
        for name, s in samples.items()
    }


WATCHED = (
    "asyncio",
    "uvloop",
    "httpx",
    "http.client",
    "ssl",
    "email",
    "json",
    "re",
    "dataclasses",
    "enum",
    "typing",
    "inspect",
    "socket",
    "selectors",
    "orjson",
    "simplejson",
    "logging",
    "threading",
)


def watched(modules: Sequence[str] | set[str]) -> dict[str, bool]:
    present = set(modules)
    return {name: name in present for name in WATCHED}
