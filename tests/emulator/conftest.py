"""Shared helpers for the emulator tests: start our emulator or the real RIE on free
loopback ports with a given bootstrap, and always end every process."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from lambdaloop.emulator.app import BackgroundEmulator
from lambdaloop.emulator.config import EmulatorConfig
from lambdaloop.emulator.rie_backend import RieProcess

CORPUS = Path(__file__).parent / "corpus"
REPO = Path(__file__).resolve().parents[2]
# The parity tests run awslambdaric under both platforms: it is the behaviour lambdaloop
# copies, and it keeps these tests about the platform, not about the runtime core.
AWSLAMBDARIC = [sys.executable, "-m", "awslambdaric"]
LAMBDALOOP = [sys.executable, "-m", "lambdaloop"]
RAW_RUNTIME = [sys.executable, str(CORPUS / "raw_runtime.py")]


def config_for(handler: str, command: list[str], **overrides: object) -> EmulatorConfig:
    config = EmulatorConfig(
        handler=handler, command=[*command, handler], task_root=str(CORPUS), timeout_s=5.0, extensions_dir=None
    )
    for name, value in overrides.items():
        setattr(config, name, value)
    return config


@contextmanager
def emulator(handler: str, command: list[str] = AWSLAMBDARIC, **overrides: object) -> Iterator[BackgroundEmulator]:
    with BackgroundEmulator(config_for(handler, command, **overrides)) as running:
        yield running


@contextmanager
def rie(path: str, handler: str, command: list[str] = AWSLAMBDARIC, **overrides: object) -> Iterator[RieProcess]:
    with RieProcess(path, config_for(handler, command, **overrides)) as running:
        yield running


@pytest.fixture(scope="session")
def rie_path() -> str:
    from lambdaloop.rie import RieUnavailable, ensure_rie

    try:
        return str(ensure_rie())
    except RieUnavailable as exc:
        pytest.skip(f"the RIE is not available: {exc}")


def read_jsonl(path: Path) -> list[dict[str, object]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def wait_for_records(path: Path, what: str, count: int = 1, timeout: float = 20.0) -> list[dict[str, object]]:
    """The JSON lines whose "what" is ``what``, once ``count`` of them are there. The runtime
    logs after the platform has answered the invoker, so tests wait for it (generously)."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        found = [r for r in read_jsonl(path) if r.get("what") == what]
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.01)
