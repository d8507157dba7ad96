"""Which Runtime API client: httpx, http.client or lambdaloop's raw-socket Connection.

    python bench/transport.py [--quick] [--out bench/results/transport.json]

Per-request cost: one invocation's worth of traffic (GET /next, read the event and its
request id, POST a small /response) and a POST of a ~1 MB JSON body, against the fake
Runtime API running in *another* process (a client and a server sharing one interpreter
would share its GIL and allocator). Both are pinned to one CPU, as in the runtime loop
figures: unpinned, cross-CPU wake-ups made rounds bimodal on this VM. Rounds interleave
the candidates (order rotated each round); figures are medians of per-round means.
Import cost: `-X importtime` total and wall of `python -c 'import M'`, interleaved.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import time
from collections.abc import Callable

from _fakeapi import NEXT_SUFFIX
from _imports import import_cost
from _proc import Child, Pinned, clean_env, default_cpu
from _stats import fmt, median, progress, ratio, spread, table, write_json
from handlers import document

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NEXT = "/2018-06-01/runtime/invocation" + NEXT_SUFFIX.decode()[len("/invocation") :]
RID = "lambda-runtime-aws-request-id"
UA = "bench/1.0"
Client = tuple[Callable[[], None], Callable[[bytes], None], Callable[[], None]]  # exchange, post, close


def _path(rid: str) -> str:
    return f"/2018-06-01/runtime/invocation/{rid}/response"


def httpx_client(port: int) -> Client:
    import httpx

    c = httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"User-Agent": UA})

    def exchange() -> None:
        r = c.get(NEXT)
        c.post(_path(r.headers[RID]), content=b"{}", headers={"Content-Type": "application/json"}).read()

    def post(body: bytes) -> None:
        c.post(_path("big"), content=body, headers={"Content-Type": "application/json"}).read()

    return exchange, post, c.close


def http_client_client(port: int) -> Client:
    import http.client

    c = http.client.HTTPConnection("127.0.0.1", port)
    headers = {"User-Agent": UA, "Content-Type": "application/json"}

    def exchange() -> None:
        c.request("GET", NEXT, headers={"User-Agent": UA})
        r = c.getresponse()
        r.read()
        c.request("POST", _path(r.headers[RID]), body=b"{}", headers=headers)
        c.getresponse().read()

    def post(body: bytes) -> None:
        c.request("POST", _path("big"), body=body, headers=headers)
        c.getresponse().read()

    return exchange, post, c.close


def lambdaloop_client(port: int) -> Client:
    from lambdaloop.protocol import next_request, response_head

    def response_request(host: str, ua: str, rid: str, body: bytes, ctype: str, inv: None) -> bytes:
        return response_head(host, ua, rid, len(body), ctype, inv) + body
    from lambdaloop.transport import Connection

    host = f"127.0.0.1:{port}"
    c = Connection(host)
    get_next = next_request(host, UA)  # constant: built once, as the runtime does

    def exchange() -> None:
        r = c.request(get_next)
        c.request(response_request(host, UA, r.headers[RID], b"{}", "application/json", None))

    def post(body: bytes) -> None:
        c.request(response_request(host, UA, "big", body, "application/json", None))

    return exchange, post, c.close


CANDIDATES: dict[str, tuple[Callable[[int], Client], str]] = {
    "lambdaloop.transport (raw socket)": (lambdaloop_client, "import lambdaloop.transport, lambdaloop.protocol"),
    "http.client": (http_client_client, "import http.client"),
    "httpx (sync Client)": (httpx_client, "import httpx"),
}


def start_server(python: str, log: str) -> tuple[Child, int]:
    port_file = os.path.join(tempfile.mkdtemp(prefix="bench-"), "port")  # the server writes it
    child = Child(
        [python, os.path.join(REPO, "bench", "_fakeapi.py"), "serve", port_file, "2", "900"], clean_env({}), REPO, log
    )
    deadline = time.monotonic() + 15
    try:
        while time.monotonic() < deadline:
            if os.path.exists(port_file) and os.path.getsize(port_file):
                with open(port_file) as f:
                    return child, int(f.read())
            time.sleep(0.01)
    except BaseException:
        child.stop()
        raise
    finally:
        with contextlib.suppress(OSError):
            os.unlink(port_file)
        os.rmdir(os.path.dirname(port_file))
    child.stop()
    raise RuntimeError("the fake Runtime API did not start")


def one_round(make: Callable[[int], Client], port: int, n: int, n_big: int, big: bytes) -> dict[str, float]:
    exchange, post, close = make(port)
    try:
        for _ in range(max(10, n // 20)):  # warm: connection open, caches filled
            exchange()
        t, c = time.perf_counter(), time.process_time()
        for _ in range(n):
            exchange()
        t1, c1 = time.perf_counter(), time.process_time()
        post(big)
        tb, cb = time.perf_counter(), time.process_time()
        for _ in range(n_big):
            post(big)
        tb1, cb1 = time.perf_counter(), time.process_time()
    finally:
        close()
    return {
        "exchange_wall_us": (t1 - t) / n * 1e6,
        "exchange_cpu_us": (c1 - c) / n * 1e6,
        "post_1mb_wall_us": (tb1 - tb) / n_big * 1e6,
        "post_1mb_cpu_us": (cb1 - cb) / n_big * 1e6,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", default=os.path.join(REPO, "bench", "results", "transport.json"))
    ap.add_argument("--cpu", default=str(default_cpu()), help="CPU shared by client and server, or 'none'")
    args = ap.parse_args()
    rounds, n, n_big, import_runs = (2, 1000, 20, 3) if args.quick else (7, 5000, 100, 9)
    python = os.path.join(REPO, ".venv", "bin", "python")
    big = document()
    os.makedirs(os.path.join(os.path.dirname(os.path.abspath(args.out)), "logs"), exist_ok=True)
    samples: dict[str, list[dict[str, float]]] = {name: [] for name in CANDIDATES}
    names = list(CANDIDATES)
    with Pinned(None if args.cpu == "none" else int(args.cpu)):
        server, port = start_server(
            python, os.path.join(os.path.dirname(os.path.abspath(args.out)), "logs", "transport-server.log")
        )
        try:
            for r in range(rounds):
                progress(f"requests: round {r + 1}/{rounds}")
                for name in names[r % len(names) :] + names[: r % len(names)]:
                    samples[name].append(one_round(CANDIDATES[name][0], port, n, n_big, big))
        finally:
            server.stop()
    progress("imports")
    imports = import_cost(
        python,
        {name: code for name, (_, code) in CANDIDATES.items()} | {"bare interpreter": "pass"},
        REPO,
        clean_env({}),
        import_runs,
    )
    print(render(samples, imports))
    write_json(
        args.out,
        {
            "rounds": rounds,
            "exchanges_per_round": n,
            "posts_1mb_per_round": n_big,
            "body_bytes": len(big),
            "requests": samples,
            "imports": imports,
        },
    )


def render(samples: dict[str, list[dict[str, float]]], imports: dict[str, dict]) -> str:
    base = "lambdaloop.transport (raw socket)"
    keys = [
        ("exchange_wall_us", "GET /next + POST small /response, wall", "µs"),
        ("exchange_cpu_us", "same, client CPU", "µs"),
        ("post_1mb_wall_us", "POST ~1 MB body, wall", "µs"),
        ("post_1mb_cpu_us", "same, client CPU", "µs"),
    ]
    rows = []
    for key, label, unit in keys:
        meds = {name: median(s[key] for s in runs) for name, runs in samples.items()}
        for name, runs in samples.items():
            rows.append(
                [label, unit, name, fmt(meds[name]), spread(s[key] for s in runs), ratio(meds[name], meds[base])]
            )
    for name, w in imports.items():
        rows.append(
            [
                "`-X importtime` total",
                "ms",
                f"{name} (`{w['code']}`)",
                fmt(w["importtime_ms_median"]),
                spread(w["importtime_ms"]),
                ratio(w["importtime_ms_median"], imports[base]["importtime_ms_median"]),
            ]
        )
        rows.append(
            [
                "wall of `python -c`",
                "ms",
                name,
                fmt(w["wall_ms_median"]),
                spread(w["wall_ms"]),
                ratio(w["wall_ms_median"], imports[base]["wall_ms_median"]),
            ]
        )
    return "## Runtime API client candidates (medians)\n\n" + table(
        ["Figure", "unit", "candidate", "median", "spread (per round)", f"vs {base.split()[0]}"], rows
    )


if __name__ == "__main__":
    sys.exit(main())
