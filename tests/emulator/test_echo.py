"""The emulator's echo (what `lambdaloop invoke` prints) writes each line whole, even while
other threads print to the same stream (`--durable` reports operations from the main thread
while the emulator's thread echoes the function's lines). print() writes the text and the
newline separately: two threads printing to stderr break lines apart."""

from __future__ import annotations

import io
import re
import sys
import threading
from pathlib import Path

import pytest

from lambdaloop.emulator.app import print_to


def test_lines_from_two_threads_never_interleave(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # As sys.stderr is when redirected: every write goes straight to the file (a system call,
    # during which the other thread runs).
    out = io.TextIOWrapper((tmp_path / "stderr").open("wb", buffering=0), write_through=True)
    monkeypatch.setattr(sys, "stderr", out)
    echo = print_to("stderr")

    def writer(name: str) -> None:
        for n in range(20000):
            echo("runtime", f"{name} line {n}")

    threads = [threading.Thread(target=writer, args=(name,)) for name in ("function", "cli")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    out.close()
    lines = (tmp_path / "stderr").read_text().splitlines()
    broken = [line for line in lines if not re.fullmatch(r"(function|cli) line \d+", line)]
    assert broken == []
    assert len(lines) == 40000
