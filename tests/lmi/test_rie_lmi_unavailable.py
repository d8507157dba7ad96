"""The emulator's Lambda Managed Instances mode against the RIE's LMI engine: an invoke that finds
no runtime waiting in /next gets the same answer from both (status, content type, body)."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

from rie_lmi import LAMBDALOOP, Deps, LmiRie

from lambdaloop.emulator import BackgroundEmulator, EmulatorConfig, client

FUNCTIONS = Path(__file__).with_name("functions")


def _refused_by_the_rie(tmp_path: Path, deps: Deps) -> tuple[int, str | None, bytes]:
    with LmiRie(tmp_path, "lmi_fns.slow", FUNCTIONS, LAMBDALOOP, concurrency=2, deps=deps) as rie:
        answers: list = []
        threads = [
            threading.Thread(target=lambda: answers.append(rie.invoke(b'{"sleep": 2}', patience=0.0)))
            for _ in range(3)
        ]
        for thread in threads:
            thread.start()
            time.sleep(0.3)  # the first two take the two slots; the third finds none
        for thread in threads:
            thread.join(30)
    refused = [a for a in answers if a.status != 200]
    assert len(refused) == 1, [(a.status, a.body) for a in answers]
    return refused[0].status, refused[0].headers.get("content-type"), refused[0].body


def _refused_by_the_emulator() -> tuple[int, str | None, bytes]:
    config = EmulatorConfig(handler="lmi_fns.slow", command=[sys.executable, "-m", "lambdaloop", "lmi_fns.slow"])
    config.task_root = str(FUNCTIONS)
    config.extensions_dir = None
    config.concurrency = 2
    config.env = {"LAMBDALOOP_SIGTERM": "0", "PYTHONDONTWRITEBYTECODE": "1"}  # nothing written to the tree
    with BackgroundEmulator(config) as emulator:
        deadline = time.monotonic() + 20
        while emulator.emulator.sandbox.runtimes_waiting < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        answers: list = []
        threads = [
            threading.Thread(target=lambda: answers.append(client.invoke(emulator.invoke_address, b'{"sleep": 2}')))
            for _ in range(3)
        ]
        for thread in threads:
            thread.start()
            time.sleep(0.3)
        for thread in threads:
            thread.join(30)
    refused = [a for a in answers if a.status != 200]
    assert len(refused) == 1, [(a.status, a.body) for a in answers]
    return refused[0].status, refused[0].headers.get("content-type"), refused[0].body


def test_runtime_unavailable_is_answered_as_the_rie_answers_it(tmp_path: Path, lmi_deps: Deps) -> None:
    assert _refused_by_the_emulator() == _refused_by_the_rie(tmp_path, lmi_deps)
