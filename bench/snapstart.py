"""SnapStart locally: a new environment restored from a snapshot against a cold init, through
lambdaloop's built-in emulator.

    python bench/snapstart.py [--rounds 15] [--out bench/results/snapstart.json]

Two functions: ``hello`` (returns a constant) and ``boto3`` (imports boto3 and makes an S3
client at init, as functions do). For each, four contenders, each kept in its own emulator and
run once per round, the order rotated every round:

- ``lambdaloop-restore``: lambdaloop under ``--snapstart``: each round a new environment restored
  (forked) from the one snapshot, with the uniqueness check on, as users run it;
- ``lambdaloop-restore-nocheck``: the same without the uniqueness check (the emulator leaves the
  check's own time out of Restore Duration; this row shows whether that is fair);
- ``lambdaloop``: a new on-demand environment: a cold init;
- ``awslambdaric`` and ``awslambdaric-control``: the same cold init under awslambdaric, twice.

The figure is the cold start as Lambda defines it, from the emulator's REPORT line of the
environment's first invoke: Restore Duration + Duration for a restore, Init Duration + Duration
for a cold init. Medians over the rounds; ratios against awslambdaric's cold init.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _stats import fmt, machine, median, progress, ratio, spread, table, write_json

from lambdaloop.emulator import client
from lambdaloop.emulator.app import BackgroundEmulator
from lambdaloop.emulator.config import EmulatorConfig

FUNCTIONS = {
    "hello": "def handler(event, context):\n    return {'hello': 'world'}\n",
    "boto3": (
        "import boto3\n\ns3 = boto3.client('s3', region_name='eu-west-1')\n\n\n"
        "def handler(event, context):\n    return {'service': s3.meta.service_model.service_name}\n"
    ),
}
CONTENDERS = ["lambdaloop-restore", "lambdaloop-restore-nocheck", "lambdaloop", "awslambdaric", "awslambdaric-control"]
FIELD = re.compile(r"\t(Init Duration|Restore Duration|Duration|Max Memory Used): ([0-9.]+)")  # not the Billed ones


def config(contender: str, task_root: str) -> EmulatorConfig:
    runtime = "awslambdaric" if contender.startswith("awslambdaric") else "lambdaloop"
    cfg = EmulatorConfig(
        handler="app.handler",
        command=[sys.executable, "-m", runtime, "app.handler"],
        task_root=task_root,
        extensions_dir=None,
        timeout_s=60,
        init_timeout_s=60,
    )
    cfg.snapstart = contender.startswith("lambdaloop-restore")
    cfg.uniqueness_check = contender != "lambdaloop-restore-nocheck"
    return cfg


def first_invoke(emulator: BackgroundEmulator) -> dict[str, float]:
    """A new environment, invoked once: the fields of its REPORT line, in ms (MB for memory)."""
    emulator.retire()
    before = len(emulator.logs)
    result = client.invoke(emulator.invoke_address, b"{}")
    emulator.wait_idle()
    if result.status != 200 or result.function_error:
        raise SystemExit(f"the invoke failed: {result.status} {result.body[:300]!r}")
    report = next(log.line for log in emulator.logs[before:] if log.line.startswith("REPORT "))
    fields = {name: float(value) for name, value in FIELD.findall(report)}
    fields["cold start"] = fields["Duration"] + fields.get("Restore Duration", fields.get("Init Duration", 0.0))
    return fields


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "snapstart.json"))
    args = parser.parse_args()
    samples: dict[str, dict[str, list[dict[str, float]]]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-snapstart-") as tmp:
        for function, source in FUNCTIONS.items():
            root = Path(tmp) / function
            root.mkdir()
            (root / "app.py").write_text(source)
            emulators = {name: BackgroundEmulator(config(name, str(root))).start() for name in CONTENDERS}
            try:
                first_invoke(emulators["lambdaloop-restore"])  # (the snapshot, and .pyc, made before timing)
                per = samples.setdefault(function, {name: [] for name in CONTENDERS})
                for number in range(args.rounds):
                    progress(f"{function}: round {number + 1}/{args.rounds}")
                    shift = number % len(CONTENDERS)
                    for name in CONTENDERS[shift:] + CONTENDERS[:shift]:
                        per[name].append(first_invoke(emulators[name]))
            finally:
                for emulator in emulators.values():
                    emulator.close()
    rows = []
    for function, per in samples.items():
        base = median(s["cold start"] for s in per["awslambdaric"])
        for name in CONTENDERS:
            cold = [s["cold start"] for s in per[name]]
            phase = [s.get("Restore Duration", s.get("Init Duration", 0.0)) for s in per[name]]
            memory = median(s["Max Memory Used"] for s in per[name])
            rows.append(
                [function, name, f"{fmt(median(cold))} ms", spread(cold), f"{fmt(median(phase))} ms",
                 ratio(median(cold), base), f"{fmt(memory)} MB"]
            )  # fmt: skip
    header = ["function", "contender", "cold start", "spread", "restore or init", "vs awslambdaric", "max memory"]
    print(table(header, rows))
    write_json(args.out, {"machine": machine(), "rounds": args.rounds, "samples": samples})


if __name__ == "__main__":
    main()
