"""The Markdown tables of runtime.py, from its raw JSON-able results."""

from __future__ import annotations

import math
from collections.abc import Callable

from _stats import fmt, median, ratio, spread, table

Getter = Callable[[dict], float]

# (section, label, unit, getter, target ratio vs awslambdaric or None)
FIGURES: list[tuple[str, str, str, Getter, float | None]] = [
    ("spawn", "Spawn -> first GET /next", "ms", lambda s: s["first_next_ms"], 0.5),
    ("spawn", "Spawn -> first /response (noop)", "ms", lambda s: s["first_response_ms"], None),
    ("loop", "Fake API: wall per noop invoke", "µs", lambda s: s["phases"]["noop"]["wall_us_per_invoke"], 0.5),
    (
        "loop",
        "Fake API: runtime CPU per noop invoke",
        "µs",
        lambda s: s["phases"]["noop"]["runtime_cpu_us_per_invoke"],
        0.5,
    ),
    (
        "loop",
        "Fake API: fake server's CPU per noop invoke",
        "µs",
        lambda s: s["phases"]["noop"]["server_cpu_us_per_invoke"],
        None,
    ),
    ("loop", "Fake API: wall per ~1 MB echo", "ms", lambda s: s["phases"]["echo"]["wall_us_per_invoke"] / 1e3, None),
    (
        "loop",
        "Fake API: runtime CPU per ~1 MB echo",
        "ms",
        lambda s: s["phases"]["echo"]["runtime_cpu_us_per_invoke"] / 1e3,
        None,
    ),
    ("rie", "RIE: noop p50", "µs", lambda s: s["noop"]["p50_us"], 1.0),
    ("rie", "RIE: noop p99", "µs", lambda s: s["noop"]["p99_us"], 1.0),
    ("rie", "RIE: ~1 MB echo p50", "ms", lambda s: s["echo"]["p50_us"] / 1e3, 1.0),
    ("rie", "RIE: ~1 MB echo p99", "ms", lambda s: s["echo"]["p99_us"] / 1e3, 1.0),
    ("rie", "Runtime RSS after the noop series", "MiB", lambda s: s["memory_after_noop"]["rss_kib"] / 1024, 1.0),
    ("rie", "Runtime PSS after the noop series", "MiB", lambda s: s["memory_after_noop"]["pss_kib"] / 1024, None),
    ("rie", "Runtime RSS after the echo series", "MiB", lambda s: s["memory_after_echo"]["rss_kib"] / 1024, None),
    ("startup_imports", "-X importtime total, spawn -> first answer", "ms", lambda s: s["total_ms"], None),
]


def _values(samples: list[dict], get: Getter) -> list[float]:
    out = []
    for s in samples:
        if not s.get("ok"):
            continue
        try:
            out.append(float(get(s)))
        except (KeyError, TypeError):
            continue
    return out


def _verdict(r: float, target: float | None, control: float) -> str:
    if target is None or math.isnan(r):
        return ""
    if r <= target:
        return f"≤{target:g}x: **met**"
    # "No worse than awslambdaric" judged against the noise the control shows.
    if target == 1.0 and not math.isnan(control) and r <= 1.0 + abs(control - 1.0):
        return f"≤{target:g}x: within the control's noise"
    return f"≤{target:g}x: **missed**"


def report(raw: dict, names: list[str], base: str) -> str:
    control = f"{base}-control"
    avail = [n for n in names if any(c["name"] == n and c["available"] for c in raw["contenders"])]
    main_rows, spread_rows = [], []
    for section, label, unit, get, target in FIGURES:
        if section not in raw:
            continue
        per = {n: _values(raw[section].get(n, []), get) for n in avail}
        med = {n: median(v) for n, v in per.items()}
        b = med.get(base, float("nan"))
        ll = med.get("lambdaloop", float("nan"))
        row = [label, unit, *(fmt(med[n]) for n in avail)]
        row += [
            ratio(ll, b),
            ratio(med.get(control, float("nan")), b),
            ratio(med.get("floor", float("nan")), b),
            ratio(ll, med.get("floor", float("nan"))),
        ]
        ctl = med.get(control, float("nan")) / b if b else float("nan")
        row.append(_verdict(ll / b if b else float("nan"), target, ctl))
        main_rows.append(row)
        spread_rows.append([label, unit, *(f"{spread(per[n])} (n={len(per[n])})" for n in avail)])
    parts = ["## Runtime figures (medians)\n"]
    parts.append(
        table(
            [
                "Figure",
                "unit",
                *avail,
                "lambdaloop/aws",
                "control/aws",
                "floor/aws",
                "lambdaloop/floor",
                "target (lambdaloop/aws)",
            ],
            main_rows,
        )
    )
    parts.append("\n## Spread (min-max of the per-run values; RIE rows: per session)\n")
    parts.append(table(["Figure", "unit", *avail], spread_rows))
    if "startup_imports" in raw:
        parts.append("\n" + _imports_section(raw, avail))
    skipped = [c for c in raw["contenders"] if not c["available"]]
    if skipped:
        parts.append("\nNot measured: " + "; ".join(f"{c['name']} ({c['note']})" for c in skipped))
    return "\n".join(parts) + "\n"


def _imports_section(raw: dict, avail: list[str]) -> str:
    rows = []
    for n in avail:
        ok = [s for s in raw["startup_imports"].get(n, []) if s.get("ok")]
        if not ok:
            continue
        top = ", ".join(f"{name} {ms:.1f}" for name, ms in ok[0]["top"][:6])
        present = [m for m, yes in raw["watched_modules"].get(n, {}).items() if yes]
        rows.append([n, fmt(median(s["total_ms"] for s in ok)), top, " ".join(present) or "none"])
    out = ["## Start-up imports (spawn -> first answered noop, `PYTHONPROFILEIMPORTTIME=1`)\n"]
    out.append(
        table(
            [
                "contender",
                "importtime total ms (median)",
                "top-level contributors, cumulative ms (1st run)",
                "watched modules imported",
            ],
            rows,
        )
    )
    wall = raw.get("import_wall", {})
    if wall:
        out.append(
            "\n"
            + table(
                ["contender", "code", "-X importtime total ms", "wall of `python -c` ms"],
                [
                    [n, f"`{w['code']}`", fmt(w["importtime_ms_median"]), fmt(w["wall_ms_median"])]
                    for n, w in wall.items()
                ],
            )
        )
    return "\n".join(out)
