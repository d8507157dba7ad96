"""The ``lambdaloop`` command: run a handler locally, without Docker.

    lambdaloop invoke examples/hello.handler --event apigw-v2
    lambdaloop invoke app.stream --stream --event '{"n": 3}'
    lambdaloop serve app.handler --port 9000          # then curl the RIE's invoke URL
    lambdaloop invoke app.handler --rie auto          # the same through AWS's RIE binary
    lambdaloop invoke app.handler --durable           # a whole durable execution, replays and all
    lambdaloop events                                 # the sample events by name
    lambdaloop package my-function/ --arch arm64 --python 3.12   # its deployment zip
    lambdaloop profile app.handler --task-root my-function/     # where its cold start goes

``python -m lambdaloop HANDLER`` is not this: it is the runtime itself (the drop-in for
``python -m awslambdaric``). Everything heavy (asyncio, the emulator) is imported only once
a subcommand runs.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import sys
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lambdaloop.emulator.client import InvokeResult
    from lambdaloop.emulator.config import EmulatorConfig

from lambdaloop.cli_events import EVENTS_DIR, UsageError, load_event, sample_events  # noqa: F401


def parse_env(pairs: list[str]) -> dict[str, str]:
    env = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise UsageError(f"--env expects NAME=VALUE, got {pair!r}")
        env[name] = value
    return env


def build_config(args: argparse.Namespace) -> EmulatorConfig:
    from lambdaloop.emulator.config import EmulatorConfig

    command = None
    if args.bootstrap:
        # The bootstrap gets the handler as its last argument, as the RIE passes it.
        command = [*shlex.split(args.bootstrap), args.handler]
    config = EmulatorConfig(handler=args.handler, command=command, env=parse_env(args.env))
    config.task_root = os.path.abspath(args.task_root or os.getcwd())
    if args.timeout is not None:
        config.timeout_s = args.timeout
    if args.memory is not None:
        config.memory_mb = args.memory
    if args.function_name:
        config.function_name = args.function_name
    # As on Lambda, executables in /opt/extensions start as extensions; --extensions-dir '' turns that off.
    config.extensions_dir = "/opt/extensions" if args.extensions_dir is None else (args.extensions_dir or None)
    if getattr(args, "port", None):
        config.invoke_port = args.port
    if args.concurrency is not None:
        if args.concurrency < 1:
            raise UsageError(f"--concurrency must be 1 or more, not {args.concurrency}")
        if args.rie:
            raise UsageError("--concurrency runs on the built-in emulator (the RIE's LMI engine needs root)")
        config.concurrency = args.concurrency
    if args.snapstart:
        if args.rie or config.concurrency:
            raise UsageError("--snapstart runs on the built-in emulator, without --rie or --concurrency")
        from lambdaloop.emulator.sandbox import find_extensions

        found = find_extensions(config.extensions_dir)
        if found:
            raise UsageError(
                f"--snapstart does not run external extensions yet (found {', '.join(found)}); "
                "add --extensions-dir '' to leave them out"
            )
        config.snapstart = True
    return config


def resolve_rie(spec: str) -> str:
    if spec == "auto":
        from lambdaloop.rie import ensure_rie

        return str(ensure_rie())
    if not os.access(spec, os.X_OK):
        raise UsageError(f"--rie {spec!r} is not an executable file")
    return spec


def _invoke_headers(args: argparse.Namespace) -> dict[str, str]:
    headers = {}
    if args.request_id:
        headers["X-Amzn-RequestId"] = args.request_id
    if args.trace_id:
        headers["X-Amzn-Trace-Id"] = args.trace_id
    if args.client_context:
        import base64

        headers["X-Amz-Client-Context"] = base64.b64encode(args.client_context.encode()).decode()
    return headers


def _send(address: str, args: argparse.Namespace, event: bytes) -> InvokeResult:
    from lambdaloop.emulator import client

    headers = _invoke_headers(args)
    if not args.stream:
        result = client.invoke(address, event, headers)
        _write_out(result.body, newline=True)
        return result
    stream = client.invoke_stream(address, event, headers)
    wrote = b""
    for chunk in stream.chunks():
        _write_out(chunk)
        wrote = chunk
    if wrote and not wrote.endswith(b"\n"):
        _write_out(b"", newline=True)
    return stream.result


def _write_out(data: bytes, newline: bool = False) -> None:
    out = sys.stdout.buffer
    out.write(data)
    if newline and not data.endswith(b"\n"):
        out.write(b"\n")
    out.flush()


def _report_error(result: InvokeResult, rie_error: str | None = None) -> int:
    error = result.function_error or rie_error
    if error is None:
        return 0
    detail = result.error_body
    if detail is None and result.body.startswith(b"{"):
        with contextlib.suppress(ValueError, AttributeError):
            error = json.loads(result.body).get("errorType") or error
    suffix = f": {detail.decode('utf-8', 'replace')}" if detail else ""
    print(f"lambdaloop: the invoke failed ({error}){suffix}", file=sys.stderr)
    return 1


def cmd_invoke(args: argparse.Namespace) -> int:
    event = load_event(args.event)
    config = build_config(args)
    if args.durable:
        return _invoke_durable(args, config, event)
    if args.rie:
        from lambdaloop.emulator.rie_backend import RieProcess

        if args.stream:
            raise UsageError("--stream needs the built-in emulator: the RIE has no streaming invoke endpoint")
        from lambdaloop.emulator.rie_verdict import RieVerdict

        # The RIE answers a handler error with 200 and no error header: its debug log tells.
        verdict = RieVerdict(lambda line: print(line, file=sys.stderr, flush=True))
        with RieProcess(resolve_rie(args.rie), config, line_sink=verdict.feed, log_level="debug") as rie:
            result = _send(rie.invoke_address, args, event)
            if result.status == 200:
                verdict.reported.wait(5)  # the RIE prints REPORT just after answering
        return _report_error(result, verdict.error_type)

    from lambdaloop.emulator.app import BackgroundEmulator, print_to

    if args.restores is not None and not args.snapstart:
        raise UsageError("--restores goes with --snapstart")
    restores = args.restores if args.restores is not None else (2 if args.snapstart else 1)
    if restores < 1:
        raise UsageError(f"--restores must be 1 or more, not {restores}")
    status = 0
    with BackgroundEmulator(config, print_to("stderr")) as emulator:
        for number in range(restores):
            if number:
                emulator.retire()  # the next invoke gets a new environment: a new restore
            result = _send(emulator.invoke_address, args, event)
            emulator.wait_idle()
            status = _report_error(result) or status
    return status


def _invoke_durable(args: argparse.Namespace, config: EmulatorConfig, event: bytes) -> int:
    """The event starts a durable execution on AWS's local durable service; the service
    invokes the handler through the emulator until the execution ends."""
    from lambdaloop import durable_driver

    if args.rie or args.stream:
        raise UsageError("--durable runs on the built-in emulator, without --rie or --stream")
    missing = durable_driver.missing_packages()
    if missing:
        raise UsageError(f"--durable needs {' and '.join(missing)} (pip install {' '.join(missing)})")
    from lambdaloop.emulator.app import BackgroundEmulator, print_to

    def start_function(extra_env: dict[str, str]) -> BackgroundEmulator:
        config.env.update(extra_env)
        emulator = BackgroundEmulator(config, print_to("stderr"))
        emulator.start()
        return emulator

    outcome, service_output = durable_driver.drive(
        {**os.environ, **config.env},
        start_function,
        event,
        skip_waits=args.skip_waits,
        invocation_timeout_s=config.timeout_s,
        execution_timeout_s=args.execution_timeout,
        err=sys.stderr,
    )
    if outcome.status == "SUCCEEDED":
        _write_out((outcome.result or "null").encode(), newline=True)
        return 0
    error = outcome.error or {}
    reason = f"{error.get('ErrorType', '')}: {error.get('ErrorMessage', '')}".strip(": ")
    because = f" ({reason})" if reason else ""
    print(f"lambdaloop: the durable execution ended {outcome.status}{because}", file=sys.stderr)
    if "Invalid invocation output" in reason:
        print("lambdaloop: is the handler decorated with @durable_execution?", file=sys.stderr)
    if outcome.error is None and service_output.strip():  # no recorded reason: the service may know
        print(f"lambdaloop: the durable service said:\n{service_output.rstrip()}", file=sys.stderr)
    return 1


def cmd_serve(args: argparse.Namespace) -> int:
    import signal

    config = build_config(args)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    if args.rie:
        return _serve_rie(resolve_rie(args.rie), config, stop)
    from lambdaloop.emulator.app import BackgroundEmulator, print_to

    emulator = BackgroundEmulator(config, print_to("stdout"))
    try:
        emulator.start()
    except OSError as exc:
        emulator.close()
        raise UsageError(f"cannot listen on {config.host}:{config.invoke_port}: {exc.strerror or exc}") from None
    try:
        _banner(emulator.invoke_address, streaming=True)
        stop.wait()
    finally:
        emulator.close()
    return 0


def _serve_rie(rie_path: str, config: EmulatorConfig, stop: threading.Event) -> int:
    """The RIE on a private port behind a gate that never lets two invokes overlap (the
    classic RIE crashes when they do)."""
    from lambdaloop.emulator.app import LoopThread
    from lambdaloop.emulator.rie_backend import RieProcess
    from lambdaloop.emulator.rie_proxy import SerialProxy

    public_port = config.invoke_port
    config.invoke_port = 0
    with RieProcess(rie_path, config, output=sys.stdout) as rie:
        proxy = SerialProxy(config.host, public_port, config.host, rie.invoke_port)
        thread = LoopThread("lambdaloop-rie-proxy")
        thread.start()
        try:
            thread.call(proxy.start, 10)
            _banner(f"{config.host}:{proxy.port}", streaming=False)
            stop.wait()
            thread.call(proxy.close, 10)
        finally:
            thread.stop()
    return 0


def _banner(address: str, streaming: bool) -> None:
    from lambdaloop.emulator import routes

    print(f"lambdaloop: invoke with  curl -d '{{}}' http://{address}{routes.INVOKE_PATH}", flush=True)
    if streaming:
        print(f"lambdaloop: streaming:   curl -N -d '{{}}' http://{address}{routes.STREAM_INVOKE_PATH}", flush=True)
    print("lambdaloop: Ctrl-C to stop", flush=True)


def cmd_events(args: argparse.Namespace) -> int:
    if args.name:
        _write_out(load_event(args.name), newline=True)
        return 0
    for name in sample_events():
        print(name)
    return 0


def cmd_package(args: argparse.Namespace) -> int:
    from lambdaloop.package.command import run

    return run(args)


def cmd_profile(args: argparse.Namespace) -> int:
    from lambdaloop.profile.command import run

    return run(args)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("handler", help="MODULE.FUNCTION, optionally with a path: examples/hello.handler")
    parser.add_argument(
        "--timeout", type=float, help="function timeout in seconds (default $AWS_LAMBDA_FUNCTION_TIMEOUT or 300)"
    )
    parser.add_argument("--memory", type=int, help="memory size in MB for the context and REPORT (default 3008)")
    parser.add_argument("--function-name", help="function name (default test_function, as the RIE)")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE", help="environment for the runtime")
    parser.add_argument("--task-root", help="LAMBDA_TASK_ROOT and working directory (default: current directory)")
    parser.add_argument("--bootstrap", help="runtime command, handler appended (default: python -m lambdaloop)")
    parser.add_argument(
        "--extensions-dir",
        help="start the executables in DIR as external extensions (default /opt/extensions, as on Lambda; '' for none)",
    )
    parser.add_argument(
        "--rie", metavar="PATH|auto", help="run through AWS's RIE binary instead of the built-in emulator"
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        metavar="N",
        help="Lambda Managed Instances: up to N invocations at once (AWS_LAMBDA_MAX_CONCURRENCY=N for the "
        "runtime, JSON logs); an invoke with no runtime free gets 400 Runtime.Unavailable, as from the RIE",
    )
    parser.add_argument(
        "--snapstart",
        action="store_true",
        help="SnapStart: init and before-snapshot hooks once, then every new environment is a restore of that "
        "snapshot (after-restore hooks, Restore Duration in REPORT, warnings for state restores share)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lambdaloop", description="Run AWS Lambda Python handlers locally.")
    sub = parser.add_subparsers(dest="command", required=True)
    invoke = sub.add_parser("invoke", help="start the handler, invoke it once, print the result")
    _common(invoke)
    invoke.add_argument("--event", help="event: FILE, - (stdin), a sample name (lambdaloop events) or JSON")
    invoke.add_argument("--stream", action="store_true", help="use the streaming invoke and print chunks as they come")
    invoke.add_argument("--request-id", help="request id (X-Amzn-RequestId)")
    invoke.add_argument("--trace-id", help="X-Ray trace header (X-Amzn-Trace-Id)")
    invoke.add_argument("--client-context", help="client context JSON (sent base64-encoded)")
    invoke.add_argument(
        "--durable",
        action="store_true",
        help="start a durable execution with the event and run it to its end on AWS's local durable service, "
        "printing each operation (needs aws-durable-execution-sdk-python-testing)",
    )
    invoke.add_argument("--skip-waits", action="store_true", help="with --durable: waits and retry delays end at once")
    invoke.add_argument(
        "--execution-timeout", type=int, default=900, help="with --durable: execution timeout in seconds (default 900)"
    )
    invoke.add_argument(
        "--restores",
        type=int,
        metavar="N",
        help="with --snapstart: invoke N environments restored from the one snapshot, each once (default 2)",
    )
    serve = sub.add_parser("serve", help="keep the emulator up on the RIE's invoke API")
    _common(serve)
    serve.add_argument("--port", type=int, default=9000, help="invoke API port on 127.0.0.1 (default 9000)")
    events = sub.add_parser("events", help="list the sample events, or print one")
    events.add_argument("name", nargs="?")
    from lambdaloop.package.command import add_parser as add_package_parser

    add_package_parser(sub)
    from lambdaloop.profile.command import add_parser as add_profile_parser

    add_profile_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    commands = {
        "invoke": cmd_invoke,
        "serve": cmd_serve,
        "events": cmd_events,
        "package": cmd_package,
        "profile": cmd_profile,
    }
    try:
        return commands[args.command](args)
    except UsageError as exc:
        print(f"lambdaloop: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
