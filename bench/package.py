"""`lambdaloop package` against `pip install -t` + `zip`, and what its .pyc save at cold start.

    python bench/package.py [--runs 7] [--builds 3] [--out bench/results/package.json]

Two functions: one importing boto3 (and creating an S3 client at init, as functions do), one
importing FastAPI (building an app). For each:
- init: the zip from `lambdaloop package` (with .pyc) against the same zip built with --no-pyc,
  unzipped, started by AWS's RIE with the lambdaloop runtime; the task root is kept read-only
  the way that matters (PYTHONDONTWRITEBYTECODE=1: no run can leave .pyc for the next one). The
  figure is the RIE's own INIT REPORT durationMs. Runs are interleaved; medians; a control
  compares the .pyc zip with a second copy of itself.
- build: wall time and zip size of `lambdaloop package` against `pip install -t` (same wheels:
  same platform arguments) followed by `zip -qr9`. pip's cache is warm for both.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _proc import unzip

REPO = Path(__file__).resolve().parents[1]
PYTHON = f"{sys.version_info[0]}.{sys.version_info[1]}"
FUNCTIONS = {
    "boto3": (
        "boto3==1.44.5\n",
        'import boto3\n\ns3 = boto3.client("s3", region_name="eu-west-1")\n\n\n'
        'def handler(event, context):\n    return {"service": s3.meta.service_model.service_name}\n',
    ),
    "fastapi": (
        "fastapi==0.163.2\n",
        "from fastapi import FastAPI\n\napp = FastAPI()\n\n\n@app.get('/')\ndef root():\n    return {}\n\n\n"
        'def handler(event, context):\n    return {"routes": len(app.routes)}\n',
    ),
}
INIT_REPORT = re.compile(r"INIT REPORT\(durationMs: ([0-9.]+)\)")


def lambdaloop(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "lambdaloop.cli", *args], capture_output=True, text=True, check=True)


def init_ms(task_root: Path, rie: str) -> float:
    result = lambdaloop(
        "invoke", "app.handler", "--task-root", str(task_root), "--rie", rie, "--env", "PYTHONDONTWRITEBYTECODE=1"
    )
    match = INIT_REPORT.search(result.stderr)
    if not match:
        raise SystemExit(f"no INIT REPORT from the RIE:\n{result.stderr[-2000:]}")
    return float(match.group(1))


def pip_and_zip(project: Path, out: Path, work: Path) -> None:
    """What people do by hand: pip install -t into a copy of the folder, then zip it."""
    from lambdaloop.package.targets import parse_target
    from lambdaloop.package.wheels import pip_target_args

    stage = work / "stage"
    shutil.copytree(project, stage)
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "-t", str(stage), "-r", str(project / "requirements.txt"),
         *pip_target_args(parse_target("x86_64", PYTHON))],
        check=True, capture_output=True,
    )  # fmt: skip
    subprocess.run(["zip", "-qr9", str(out), "."], cwd=stage, check=True)


def bench_function(name: str, work: Path, rie: str, runs: int, builds: int) -> dict[str, object]:
    requirements, code = FUNCTIONS[name]
    project = work / name
    project.mkdir()
    (project / "requirements.txt").write_text(requirements)
    (project / "app.py").write_text(code)
    package_s, manual_s = [], []
    for i in range(builds):  # interleaved
        started = time.perf_counter()
        lambdaloop("package", str(project), "--arch", "x86_64", "--python", PYTHON, "--out", str(work / f"{name}.zip"))
        package_s.append(time.perf_counter() - started)
        manual = work / f"{name}-manual-{i}"
        manual.mkdir()
        started = time.perf_counter()
        pip_and_zip(project, manual / "fn.zip", manual)
        manual_s.append(time.perf_counter() - started)
    lambdaloop("package", str(project), "--arch", "x86_64", "--python", PYTHON, "--no-pyc",
               "--out", str(work / f"{name}-nopyc.zip"))  # fmt: skip
    roots = {
        "pyc": unzip(work / f"{name}.zip", work / f"{name}-task-pyc"),
        "pyc (control copy)": unzip(work / f"{name}.zip", work / f"{name}-task-pyc2"),
        "no pyc": unzip(work / f"{name}-nopyc.zip", work / f"{name}-task-nopyc"),
    }
    init: dict[str, list[float]] = {label: [] for label in roots}
    for _ in range(runs):
        for label, root in roots.items():
            init[label].append(init_ms(root, rie))
    med = {label: statistics.median(values) for label, values in init.items()}
    return {
        "function": name,
        "init_ms": init,
        "init_median_ms": med,
        "no_pyc_over_pyc": med["no pyc"] / med["pyc"],
        "control_ratio": med["pyc (control copy)"] / med["pyc"],
        "build_s": {"lambdaloop package": package_s, "pip install -t + zip": manual_s},
        "build_median_s": {
            "lambdaloop package": statistics.median(package_s),
            "pip install -t + zip": statistics.median(manual_s),
        },
        "zip_bytes": {
            "lambdaloop package": (work / f"{name}.zip").stat().st_size,
            "pip install -t + zip": (work / f"{name}-manual-0" / "fn.zip").stat().st_size,
        },
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--builds", type=int, default=3)
    parser.add_argument("--out", default=str(REPO / "bench" / "results" / "package.json"))
    args = parser.parse_args()
    from lambdaloop.rie import ensure_rie

    rie = str(ensure_rie())
    results = []
    with tempfile.TemporaryDirectory(prefix="lambdaloop-bench-package-") as tmp:
        for name in FUNCTIONS:
            print(f"bench: {name} ...", file=sys.stderr, flush=True)
            results.append(bench_function(name, Path(tmp), rie, args.runs, args.builds))
    print(f"Python {PYTHON}, x86_64, {args.runs} interleaved init runs, {args.builds} builds; medians")
    print(f"{'function':<9} {'init .pyc':>10} {'init no .pyc':>13} {'no/with':>8} {'control':>8}"
          f" {'build pkg':>10} {'build pip+zip':>14} {'zip pkg':>9} {'zip pip+zip':>12}")  # fmt: skip
    for r in results:
        med, build, size = r["init_median_ms"], r["build_median_s"], r["zip_bytes"]
        print(
            f"{r['function']:<9} {med['pyc']:>8.0f}ms {med['no pyc']:>11.0f}ms {r['no_pyc_over_pyc']:>7.2f}x"
            f" {r['control_ratio']:>7.2f}x {build['lambdaloop package']:>9.1f}s {build['pip install -t + zip']:>13.1f}s"
            f" {size['lambdaloop package'] / 1048576:>7.1f}MB {size['pip install -t + zip'] / 1048576:>10.1f}MB"
        )  # type: ignore[index]
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump({"python": PYTHON, "runs": args.runs, "builds": args.builds, "results": results}, f, indent=1)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
