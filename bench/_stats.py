"""Medians, percentiles, ratios, the Markdown table and the JSON file the scripts share."""

from __future__ import annotations

import datetime
import json
import math
import os
import platform
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

Number = float | int


def median(values: Iterable[Number]) -> float:
    xs = sorted(v for v in values if not math.isnan(v))
    if not xs:
        return float("nan")
    mid = len(xs) // 2
    return float(xs[mid]) if len(xs) % 2 else (xs[mid - 1] + xs[mid]) / 2


def quantile(values: Sequence[Number], q: float) -> float:
    """Nearest-rank quantile (p99 of 2,000 samples is the 1,980th smallest: a real sample)."""
    xs = sorted(values)
    if not xs:
        return float("nan")
    rank = max(1, math.ceil(q * len(xs)))
    return float(xs[rank - 1])


def spread(values: Iterable[Number]) -> str:
    xs = [v for v in values if not math.isnan(v)]
    return f"{fmt(min(xs))}-{fmt(max(xs))}" if xs else "n/a"


def fmt(x: float | None) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    ax = abs(x)
    if ax >= 1000:
        return f"{x:,.0f}"
    if ax >= 100:
        return f"{x:.0f}"
    if ax >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}"


def ratio(x: float, base: float) -> str:
    if math.isnan(x) or math.isnan(base) or base == 0:
        return "n/a"
    return f"{x / base:.2f}x"


def table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def machine() -> dict[str, object]:
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "?")
    except OSError:
        pass
    try:
        with open("/proc/meminfo") as f:
            mem = f.readline().split(":", 1)[1].strip()
    except OSError:
        mem = "?"
    return {
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "memory": mem,
        "kernel": platform.release(),
        "python": platform.python_implementation() + " " + platform.python_version(),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def write_json(path: str, data: dict[str, object]) -> None:
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    data = {"machine": machine(), "argv": sys.argv[1:], **data}
    out.write_text(json.dumps(data, indent=1, default=str) + "\n")
    print(f"\nraw samples: {out}", file=sys.stderr)


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
