"""The ``lambdaloop profile`` subcommand: progress on stderr, the table and hints on stdout,
the icicle chart and the raw figures to files."""

from __future__ import annotations

import argparse
import os
import sys

from . import ProfileError


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "profile",
        help="where a function's cold start goes: phases, the import tree, hints, an SVG chart",
        description="Run the function's init as Lambda does (fresh interpreter, read-only task root) "
        "under -X importtime, then one invocation; print where the time went.",
    )
    parser.add_argument("handler", help="MODULE.FUNCTION, as Lambda's handler setting")
    parser.add_argument("--task-root", default=".", help="the function's folder (default: current directory)")
    parser.add_argument("--event", help="event for the first invocation: FILE, a sample name or JSON (default {})")
    parser.add_argument("--python", default=sys.executable, help="interpreter to profile with (default: this one)")
    parser.add_argument("--svg", help="write the icicle chart here (default: lambdaloop-profile.svg in the cwd)")
    parser.add_argument("--no-svg", action="store_true", help="no chart")
    parser.add_argument("--json", help="write the phases and the import tree as JSON here")
    parser.add_argument("--top", type=int, default=15, help="rows of the import table (default 15)")


class Progress:
    """One line, rewritten in place on a terminal; silent when stderr is a file or a pipe."""

    def __init__(self) -> None:
        self.live = sys.stderr.isatty()
        self.width = 0

    def __call__(self, message: str) -> None:
        if not self.live:
            return
        text = f"lambdaloop profile: {message}"
        sys.stderr.write("\r" + text.ljust(self.width))
        sys.stderr.flush()
        self.width = len(text)

    def clear(self) -> None:
        if self.live and self.width:
            sys.stderr.write("\r" + " " * self.width + "\r")
            sys.stderr.flush()


def run(args: argparse.Namespace) -> int:
    from lambdaloop.cli_events import UsageError, load_event

    from .capture import run as capture
    from .chart import render_svg
    from .hints import hints
    from .table import format_table

    progress = Progress()
    try:
        event = load_event(args.event)
        profile = capture(args.handler, args.task_root, event, python=args.python, progress=progress)
    except (ProfileError, UsageError) as exc:
        progress.clear()
        print(f"lambdaloop profile: {exc}", file=sys.stderr)
        return 1
    progress.clear()
    print(format_table(profile, args.top))
    found = hints(profile)
    if found:
        print("\n  hints:")
        for hint in found:
            print(f"  - {hint}")
    if not args.no_svg:
        path = args.svg or "lambdaloop-profile.svg"
        with open(path, "w", encoding="utf-8") as f:
            f.write(render_svg(profile))
        print(f"\n  chart: {os.path.abspath(path)}")
    if args.json:
        import json
        from dataclasses import asdict

        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(asdict(profile), f, indent=1)
    return 0
