"""What the CLI's subcommands share, in a module of its own so that a subcommand's module
(``profile``, ``package``) can use it without importing the CLI (which imports them): the usage
error, and events from a file, stdin, a sample name or literal JSON."""

from __future__ import annotations

import json
import sys
from pathlib import Path

EVENTS_DIR = Path(__file__).with_name("events")


class UsageError(Exception):
    pass


def sample_events() -> list[str]:
    return sorted(p.stem for p in EVENTS_DIR.glob("*.json"))


def load_event(spec: str | None) -> bytes:
    """``-`` (stdin), a file path, a sample event name, or literal JSON; default ``{}``."""
    if spec is None:
        return b"{}"
    if spec == "-":
        return sys.stdin.buffer.read()
    path = Path(spec)
    if path.is_file():
        return path.read_bytes()
    sample = EVENTS_DIR / f"{spec}.json"
    if sample.is_file():
        return sample.read_bytes()
    if spec.lstrip().startswith(("{", "[", '"')):
        try:
            json.loads(spec)
        except ValueError as exc:
            raise UsageError(f"--event is not valid JSON: {exc}") from None
        return spec.encode()
    raise UsageError(f"--event {spec!r}: no such file, and not a sample event ({', '.join(sample_events())})")
