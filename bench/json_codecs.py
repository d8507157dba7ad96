"""JSON codecs for results and events: the figures behind lambdaloop's marshalling choices.

    python bench/json_codecs.py [--quick] [--out bench/results/json_codecs.json]

Encoders (object -> bytes on the wire, so every str result is also UTF-8 encoded):
awslambdaric's own simplejson Encoder (as it runs on python3.11, and as on 3.12+ where it
sets ensure_ascii=False), stdlib's C encoder from ``_json.make_encoder`` with awslambdaric's
", " / ": " separators and ensure_ascii=False, lambdaloop.marshal.marshal_result (that C
encoder plus its own checks), json.dumps, and orjson compact (other bytes: no spaces).
Decoders (bytes -> object): orjson.loads, simplejson.loads (awslambdaric's), json.loads, and
lambdaloop.marshal.unmarshal_event. Plus the import cost of each library, since a runtime
pays it on every cold start. Documents: the bench's ~1 MB structured document and a small
API-Gateway-style event. Rounds interleave the codecs; figures are medians of round means.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import time
from collections.abc import Callable

from _imports import import_cost
from _proc import clean_env
from _stats import fmt, median, progress, ratio, spread, table, write_json
from handlers import document

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def api_gateway_event() -> dict[str, object]:
    """A small REST API proxy event (~1.5 KB), the most common Lambda payload shape."""
    return {
        "resource": "/items/{id}",
        "path": "/items/42",
        "httpMethod": "GET",
        "headers": {
            "Accept": "application/json",
            "Host": "abc123.execute-api.us-east-1.amazonaws.com",
            "User-Agent": "curl/8.5.0",
            "X-Amzn-Trace-Id": "Root=1-65f2a1b3-0123456789abcdef01234567",
            "X-Forwarded-For": "203.0.113.7",
            "X-Forwarded-Port": "443",
            "X-Forwarded-Proto": "https",
        },
        "multiValueHeaders": {"Accept": ["application/json"], "X-Forwarded-For": ["203.0.113.7"]},
        "queryStringParameters": {"verbose": "true", "limit": "10"},
        "pathParameters": {"id": "42"},
        "stageVariables": None,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "stage": "prod",
            "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
            "requestTimeEpoch": 1700000000123,
            "protocol": "HTTP/1.1",
            "resourcePath": "/items/{id}",
            "httpMethod": "GET",
            "identity": {"sourceIp": "203.0.113.7", "userAgent": "curl/8.5.0", "cognitoIdentityId": None, "user": None},
        },
        "body": None,
        "isBase64Encoded": False,
    }


def encoders() -> dict[str, Callable[[object], bytes]]:
    import _json

    import orjson
    from awslambdaric import lambda_runtime_marshaller as aws

    from lambdaloop.marshal import marshal_result

    aws311 = aws.Encoder()  # ensure_ascii=True unless AWS_EXECUTION_ENV names python3.12+
    saved = os.environ.get("AWS_EXECUTION_ENV")
    os.environ["AWS_EXECUTION_ENV"] = "AWS_Lambda_python3.12"
    aws312 = aws.Encoder()  # ensure_ascii=False
    if saved is None:
        del os.environ["AWS_EXECUTION_ENV"]
    else:
        os.environ["AWS_EXECUTION_ENV"] = saved
    c_enc = _json.make_encoder({}, None, _json.encode_basestring, None, ": ", ", ", False, False, True)
    return {
        "simplejson, awslambdaric's Encoder (py3.11: ensure_ascii)": lambda o: aws311.encode(o).encode(),
        "simplejson, awslambdaric's Encoder (py3.12+: ensure_ascii=False)": lambda o: aws312.encode(o).encode(),
        "stdlib C encoder `_json.make_encoder`, ', ' ': ', ensure_ascii=False": lambda o: "".join(c_enc(o, 0)).encode(),
        "lambdaloop.marshal.marshal_result": lambda o: marshal_result(o)[0],
        "json.dumps (defaults)": lambda o: json.dumps(o).encode(),
        "orjson.dumps (compact: other bytes)": orjson.dumps,
    }


def decoders() -> dict[str, Callable[[bytes], object]]:
    import orjson
    import simplejson

    from lambdaloop.marshal import unmarshal_event

    return {
        "orjson.loads": orjson.loads,
        "simplejson.loads (awslambdaric)": simplejson.loads,
        "json.loads": json.loads,
        "lambdaloop.marshal.unmarshal_event (`_json.make_scanner`)": lambda b: unmarshal_event(b, "application/json"),
    }


def measure(funcs: dict[str, Callable], arg: object, n: int, rounds: int) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {name: [] for name in funcs}
    names = list(funcs)
    for r in range(rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            f = funcs[name]
            f(arg)
            gc.collect()
            gc.disable()  # a collection would land on whichever codec is running
            t = time.perf_counter()
            for _ in range(n):
                f(arg)
            out[name].append((time.perf_counter() - t) / n * 1e6)
            gc.enable()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", default=os.path.join(REPO, "bench", "results", "json_codecs.json"))
    args = ap.parse_args()
    rounds, n_big, n_small, import_runs = (3, 5, 2000, 3) if args.quick else (9, 20, 20000, 9)
    big_bytes = document()
    small_bytes = json.dumps(api_gateway_event()).encode()
    docs = {
        "~1 MB document": (json.loads(big_bytes), big_bytes, n_big),
        "API Gateway event": (api_gateway_event(), small_bytes, n_small),
    }
    raw: dict[str, dict] = {}
    rows = []
    for doc_name, (obj, data, n) in docs.items():
        progress(f"{doc_name}: encode, decode")
        enc = measure(encoders(), obj, n, rounds)
        dec = measure(decoders(), data, n, rounds)
        raw[doc_name] = {"bytes": len(data), "encode_us": enc, "decode_us": dec}
        for kind, results, base in (
            ("encode", enc, "simplejson, awslambdaric's Encoder (py3.11: ensure_ascii)"),
            ("decode", dec, "simplejson.loads (awslambdaric)"),
        ):
            for name, xs in results.items():
                rows.append(
                    [doc_name, kind, name, fmt(median(xs)), spread(xs), ratio(median(xs), median(results[base]))]
                )
    progress("imports")
    codes = {
        "orjson": "import orjson",
        "simplejson": "import simplejson",
        "json": "import json",
        "_json": "import _json",
        "lambdaloop.marshal": "import lambdaloop.marshal",
        "bare interpreter": "pass",
    }
    imports = import_cost(os.path.join(REPO, ".venv", "bin", "python"), codes, REPO, clean_env({}), import_runs)
    raw["imports"] = imports
    print(f"## JSON codecs ({len(big_bytes):,} and {len(small_bytes):,} bytes; µs per call, medians)\n")
    print(table(["document", "", "codec", "µs", "spread (per round)", "vs simplejson (awslambdaric)"], rows))
    print(
        "\n"
        + table(
            ["import", "-X importtime total ms", "wall of `python -c` ms"],
            [[f"`{w['code']}`", fmt(w["importtime_ms_median"]), fmt(w["wall_ms_median"])] for w in imports.values()],
        )
    )
    write_json(args.out, raw)


if __name__ == "__main__":
    sys.exit(main())
