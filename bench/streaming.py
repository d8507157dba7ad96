"""Response streaming figures: throughput, and first yield -> first byte at the client.

    python bench/streaming.py [--quick] [--out bench/results/streaming.json]

Each figure is measured through lambdaloop's own emulator (the streaming invoke endpoint,
client -> emulator -> runtime -> emulator -> client, all on loopback) and through the
tests' raw-socket fake Runtime API (runtime -> recorder only: what the runtime alone can
push). A real ``python -m lambdaloop`` process serves warm invocations; each configuration
is repeated and the median reported. Markdown on stdout, raw samples in the JSON.
Run with PYTHONDONTWRITEBYTECODE unset and the machine otherwise idle.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "runtime")]

from lambdaloop.emulator.client import invoke_stream  # noqa: E402
from tests.streaming.conftest import FUNCTIONS, RuntimeProcess  # noqa: E402
from tests.streaming.fakeapi import StreamingFakeAPI, event  # noqa: E402

MiB = 1 << 20


_EMULATOR_MAIN = """
import sys, threading
from lambdaloop.emulator import BackgroundEmulator, EmulatorConfig
emu = BackgroundEmulator(EmulatorConfig(handler=sys.argv[1], task_root=sys.argv[2], extensions_dir=None)).start()
print(emu.invoke_address, flush=True)
sys.stdin.read()  # until the benchmark closes our stdin
emu.close()
"""


class _Emulator:
    """The emulator in its own process: in this one, the client's parsing would share the
    GIL with the emulator's loop and halve both."""

    def __init__(self, handler: str) -> None:
        env = dict(os.environ, PYTHONPATH=str(REPO / "runtime"))
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _EMULATOR_MAIN, handler, str(FUNCTIONS)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
        assert self.proc.stdout is not None
        self.invoke_address = self.proc.stdout.readline().decode().strip()
        if not self.invoke_address:
            self.close()
            raise RuntimeError("the emulator did not start")

    def close(self) -> None:
        assert self.proc.stdin is not None
        with contextlib.suppress(OSError):
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)  # its own group: the runtime it started too
            self.proc.wait(timeout=10)


def _emulator(handler: str) -> _Emulator:
    return _Emulator(handler)


def throughput_emulator(mib: int, chunk: int, runs: int) -> list[float]:
    """MB/s at the invoking client, request sent -> last byte received."""
    samples = []
    with contextlib.closing(_emulator("streamfns.blast")) as emu:
        payload = json.dumps({"mib": mib, "chunk": chunk}).encode()
        warm = json.dumps({"mib": 1, "chunk": chunk}).encode()
        for _ in invoke_stream(emu.invoke_address, warm).chunks():
            pass
        for _ in range(runs):
            started = time.perf_counter()
            stream = invoke_stream(emu.invoke_address, payload)
            received = sum(len(c) for c in stream.chunks())
            elapsed = time.perf_counter() - started
            assert received == mib * MiB and stream.result.function_error is None, stream.result
            samples.append(received / elapsed / 1e6)
    return samples


def throughput_fake(mib: int, chunk: int, runs: int) -> list[float]:
    """MB/s at the recorder: first /next answered -> whole chunked body read."""
    events = [event("warm", json.dumps({"mib": 1, "chunk": chunk}).encode())]
    events += [event(f"r{i}", json.dumps({"mib": mib, "chunk": chunk}).encode()) for i in range(runs)]
    api = StreamingFakeAPI(events[:1], keep_body=False, recv_size=1 << 20)
    runtime = RuntimeProcess(api.address, "streamfns.blast")
    samples = []
    try:
        api.wait_post(30)
        for item in events[1:]:
            started = time.perf_counter()
            api.events.put(item)
            post = api.wait_post(60)
            elapsed = time.perf_counter() - started
            assert post.body_bytes == mib * MiB and not post.trailers
            samples.append(post.body_bytes / elapsed / 1e6)
    finally:
        runtime.stop()
        api.close()
    return samples


def first_byte_emulator(runs: int) -> list[float]:
    """µs from the handler's first yield to that chunk's arrival at the invoking client."""
    samples = []
    with contextlib.closing(_emulator("streamfns.first_byte")) as emu:
        for i in range(runs + 3):
            stream = invoke_stream(emu.invoke_address, b"{}")
            chunks = stream.chunks()
            first = next(chunks)
            arrived = time.monotonic_ns()
            for _ in chunks:
                pass
            if i >= 3:  # the first invocations pay for the cold start and first imports
                samples.append((arrived - int(first)) / 1000)
    return samples


def first_byte_fake(runs: int) -> list[float]:
    """µs from the first yield to the first chunk read by the fake Runtime API."""
    api = StreamingFakeAPI([], keep_body=True)
    runtime = RuntimeProcess(api.address, "streamfns.first_byte")
    samples = []
    try:
        for i in range(runs + 3):
            api.events.put(event(f"r{i}"))
            arrived, data = api.chunk_log.get(timeout=30)
            api.chunk_log.get(timeout=30)  # ";end"
            api.wait_post(30)
            if i >= 3:
                samples.append((arrived * 1e9 - int(data)) / 1000)
    finally:
        runtime.stop()
        api.close()
    return samples


def summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "median": statistics.median(ordered),
        "min": ordered[0],
        "max": ordered[-1],
        "p90": ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer, smaller runs (a smoke test)")
    parser.add_argument("--out", default=str(REPO / "bench" / "results" / "streaming.json"))
    args = parser.parse_args()
    if os.environ.get("PYTHONDONTWRITEBYTECODE"):
        print("warning: PYTHONDONTWRITEBYTECODE is set: imports are slower than in production", file=sys.stderr)
    runs, mib, latency_runs = (3, 64, 20) if args.quick else (7, 200, 200)
    results: dict[str, dict[str, object]] = {}
    rows = []
    for chunk in (64 * 1024, MiB):
        for via, measure in (("emulator", throughput_emulator), ("fake API", throughput_fake)):
            print(f"throughput via {via}, {chunk // 1024} KiB writes ...", file=sys.stderr)
            samples = measure(mib, chunk, runs)
            key = f"throughput_{via.replace(' ', '_')}_{chunk // 1024}k"
            results[key] = {"unit": "MB/s", "mib": mib, "chunk": chunk, "samples": samples, **summary(samples)}
            s = summary(samples)
            rows.append(
                f"| Throughput, {mib} MiB in {chunk // 1024} KiB yields | {via} | "
                f"{s['median']:.0f} MB/s | {s['min']:.0f}-{s['max']:.0f} | >= 500 MB/s |"
            )
    for via, measure in (("emulator", first_byte_emulator), ("fake API", first_byte_fake)):
        print(f"first byte via {via} ...", file=sys.stderr)
        samples = measure(latency_runs)
        key = f"first_byte_{via.replace(' ', '_')}"
        results[key] = {"unit": "µs", "samples": samples, **summary(samples)}
        s = summary(samples)
        rows.append(
            f"| First yield -> first byte at the {'client' if via == 'emulator' else 'Runtime API'} | {via} | "
            f"{s['median']:.0f} µs (p90 {s['p90']:.0f}) | {s['min']:.0f}-{s['max']:.0f} | <= 1000 µs |"
        )
    print(f"Streaming, {platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} CPUs, loopback")
    print(f"(medians of {runs} runs for throughput, {latency_runs} invocations for first byte)\n")
    print("| Figure | Through | Median | Range | Target |")
    print("|---|---|---|---|---|")
    print("\n".join(rows))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = {"python": platform.python_version(), "cpus": os.cpu_count(), "quick": args.quick, "time": time.time()}
    out.write_text(json.dumps({"meta": meta, "results": results}, indent=1))
    print(f"\nraw samples: {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
