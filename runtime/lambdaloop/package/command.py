"""The ``lambdaloop package`` subcommand: arguments, progress on stderr, the report on stdout."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import PackageError

# Spelled out, not imported from .targets (dataclasses): building the parser is on every
# `lambdaloop` command's path. parse_target checks the values and names Lambda's options.
ARCH_METAVAR = "x86_64|arm64"
PYTHON_HELP = "Lambda's Python runtime: 3.10 to 3.14"


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "package",
        help="build a function's deployment zip (code + wheels for the target, .pyc), no Docker",
        description="Build a function's deployment zip: the project's code plus its requirements "
        "(requirements.txt, else pyproject.toml dependencies) as manylinux wheels for the target "
        "architecture and Python, .pyc for that Python, reproducible byte for byte.",
    )
    parser.add_argument("project", help="the function's folder (its code, requirements.txt or pyproject.toml)")
    # Validated by the builder rather than argparse's choices, so the message names Lambda's options.
    parser.add_argument("--arch", required=True, metavar=ARCH_METAVAR, help="Lambda's architecture")
    parser.add_argument("--python", required=True, metavar="3.X", help=PYTHON_HELP)
    parser.add_argument("--out", help="the zip to write (default: ./<project>-<arch>-py<3.X>.zip)")
    parser.add_argument(
        "--with-runtime", action="store_true", help="also bundle lambdaloop's runtime and bootstrap (no layer needed)"
    )
    parser.add_argument("--no-pyc", action="store_true", help="ship sources only (no precompiled bytecode)")


def run(args: argparse.Namespace) -> int:
    from .build import build, default_out
    from .report import format_report
    from .targets import parse_target

    def progress(message: str) -> None:
        print(f"lambdaloop package: {message}", file=sys.stderr, flush=True)

    try:
        target = parse_target(args.arch, args.python)
        project = Path(args.project)
        out = Path(args.out) if args.out else default_out(project, target)
        report = build(project, target, out, with_runtime=args.with_runtime, pyc=not args.no_pyc, progress=progress)
    except PackageError as exc:
        print(f"lambdaloop package: {exc}", file=sys.stderr)
        return 1
    print(format_report(report))
    return 0
