"""Response streaming figures: throughput, and first yield -> first byte at the client.

    python bench/streaming.py [--quick] [--out bench/results/streaming.json]

Each figure is measured through lambdaloop's own emulator (the streaming invoke endpoint,
client -> emulator -> runtime -> emulator -> client, all on loopback) and through the
tests' raw-socket fake Runtime API (runtime -> recorder only: what the runtime alone can
push). A real ``python -m lambdaloop`` process serves warm invocations; each configuration
is repeated and the median reported. Markdown on stdout, raw samples in the JSON.
Run with PYTHONDONTWRITEBYTECODE unset and the machine otherwise idle.

The throughput client is ``read_stream`` below, a minimal reader (``recv_into`` one
preallocated buffer, chunk framing skipped by index, body bytes counted, never copied),
standing in for a native client such as curl: with two cores shared by three processes,
a client spending as much CPU per MB as the emulator would halve the figure it is meant to
measure. ``--client lambdaloop`` measures with ``lambdaloop.emulator.client`` instead
(which also keeps the whole body, as its ``result.body`` promises).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# tests/ too: the fake API is the tests' own, and it imports tests/threaded_server.py by name.
sys.path[:0] = [str(REPO), str(REPO / "runtime"), str(REPO / "tests")]

from lambdaloop.emulator import http, routes  # noqa: E402
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


_ERROR_TRAILER = b"lambda-runtime-function-error-type:"


def read_stream(address: str, payload: bytes, buffer_size: int = 1 << 20) -> tuple[int, str | None]:
    """One streaming invoke read to its end: (body bytes, error type from the trailers or
    None). Strict enough to be trusted (status 200, chunked, sizes and CRLFs checked), and no
    more: no events, no copies of the body."""
    host, _, port = address.rpartition(":")
    buf = bytearray(buffer_size)
    view = memoryview(buf)
    with socket.create_connection((host, int(port)), timeout=120) as sock:
        headers = [("Host", address), ("Content-Type", "application/json")]
        sock.sendall(http.render_request("POST", routes.STREAM_INVOKE_PATH, headers, payload))
        start = end = 0  # unread bytes are buf[start:end]

        def fill() -> None:
            nonlocal start, end
            if start == end:
                start = end = 0
            elif end == buffer_size:  # a partial size line or trailer at the very end
                buf[: end - start] = buf[start:end]
                start, end = 0, end - start
            n = sock.recv_into(view[end:])
            if not n:
                raise ConnectionError("the emulator closed the connection mid-answer")
            end += n

        while (head_end := buf.find(b"\r\n\r\n", start, end)) < 0:
            fill()
        head = bytes(buf[start:head_end]).lower()
        if not head.startswith(b"http/1.1 200 ") or b"transfer-encoding: chunked" not in head:
            raise AssertionError(f"unexpected answer head {head[:300]!r}")
        start = head_end + 4
        received = 0
        while True:
            while (eol := buf.find(b"\r\n", start, end)) < 0:
                fill()
            size = int(buf[start:eol].split(b";", 1)[0], 16)
            start = eol + 2
            if not size:
                break
            received += size
            while end - start < size:  # skip the data, refilling as needed
                size -= end - start
                start = end
                fill()
            start += size
            while end - start < 2:
                fill()
            if buf[start : start + 2] != b"\r\n":
                raise AssertionError("chunk longer than its size line")
            start += 2
        error_type = None
        while True:  # trailers, to the empty line
            while (eol := buf.find(b"\r\n", start, end)) < 0:
                fill()
            line = bytes(buf[start:eol])
            start = eol + 2
            if not line:
                return received, error_type
            if line.lower().startswith(_ERROR_TRAILER):
                error_type = line[len(_ERROR_TRAILER) :].strip().decode()


def _lambdaloop_client(address: str, payload: bytes) -> tuple[int, str | None]:
    stream = invoke_stream(address, payload)
    received = sum(len(c) for c in stream.chunks())
    return received, stream.result.function_error


CLIENTS = {"raw": read_stream, "lambdaloop": _lambdaloop_client}


def throughput_emulator(mib: int, chunk: int, runs: int, client: str = "raw") -> list[float]:
    """MB/s at the invoking client, request sent -> last byte received."""
    read = CLIENTS[client]
    samples = []
    with contextlib.closing(_emulator("streamfns.blast")) as emu:
        payload = json.dumps({"mib": mib, "chunk": chunk}).encode()
        warm = json.dumps({"mib": 1, "chunk": chunk}).encode()
        read(emu.invoke_address, warm)
        for _ in range(runs):
            started = time.perf_counter()
            received, error = read(emu.invoke_address, payload)
            elapsed = time.perf_counter() - started
            assert received == mib * MiB and error is None, (received, error)
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
    parser.add_argument("--runs", type=int, help="throughput runs per configuration (default 7; 3 with --quick)")
    parser.add_argument(
        "--client", choices=sorted(CLIENTS), default="raw", help="the invoking client for throughput (see above)"
    )
    args = parser.parse_args()
    if os.environ.get("PYTHONDONTWRITEBYTECODE"):
        print("warning: PYTHONDONTWRITEBYTECODE is set: imports are slower than in production", file=sys.stderr)
    runs, mib, latency_runs = (3, 64, 20) if args.quick else (7, 200, 200)
    runs = args.runs or runs
    results: dict[str, dict[str, object]] = {}
    rows = []
    for chunk in (64 * 1024, MiB):
        for via in ("emulator", "fake API"):
            print(f"throughput via {via}, {chunk // 1024} KiB writes ...", file=sys.stderr)
            if via == "emulator":
                samples = throughput_emulator(mib, chunk, runs, args.client)
            else:
                samples = throughput_fake(mib, chunk, runs)
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
    print(
        f"(medians of {runs} runs for throughput, {latency_runs} invocations for first byte;"
        f" throughput client: {args.client})\n"
    )
    print("| Figure | Through | Median | Range | Target |")
    print("|---|---|---|---|---|")
    print("\n".join(rows))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "quick": args.quick,
        "client": args.client,
        "time": time.time(),
    }
    out.write_text(json.dumps({"meta": meta, "results": results}, indent=1))
    print(f"\nraw samples: {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
