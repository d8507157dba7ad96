"""The streaming examples in examples/ are what the README shows, and they stream: through
``lambdaloop invoke --stream`` (a real subprocess, as a user runs it) and through the pytest
plugin's ``invoke_stream``.

Chunk boundaries are not asserted: the emulator forwards what each socket read brings, so
two quick writes may arrive as one chunk. That a piece reaches the caller before the
handler has finished is shown with a gate instead: a file the test creates only once it has
seen the first piece. Buffering anywhere on the way makes that test fail, and it does not
depend on timing.
"""

from __future__ import annotations

import json
import os
import re
import select
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from lambdaloop.emulator.harness import LocalFunction

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
README = ROOT / "README.md"
SECTION = "## Async handlers, streaming, extensions, hooks"
EVENTS = ROOT / "runtime" / "lambdaloop" / "events"
PRELUDE_END = b"\0" * 8  # the HTTP-integration prelude's separator


def lambdaloop_cli() -> list[str]:
    """The ``lambdaloop`` console script of the interpreter running the tests (what ``./dev
    invoke`` runs), or the same entry point through ``-m`` where no script was installed
    (lambdaloop on PYTHONPATH only)."""
    script = Path(sys.executable).with_name("lambdaloop")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "lambdaloop.cli"]


def run_cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[bytes]:
    # --extensions-dir '': whatever a machine has in /opt/extensions stays out of these runs.
    cmd = [*lambdaloop_cli(), *args, "--extensions-dir", ""]
    return subprocess.run(cmd, cwd=cwd, capture_output=True, timeout=60)


def function_url_event(path: str, **query: str) -> dict[str, Any]:
    """The ``function-url`` sample event (``lambdaloop events function-url``), another path and query."""
    event: dict[str, Any] = json.loads((EVENTS / "function-url.json").read_text())
    event["rawPath"] = path
    event["requestContext"]["http"]["path"] = path
    event["rawQueryString"] = "&".join(f"{k}={v}" for k, v in query.items())
    event["queryStringParameters"] = query or None
    return event


@dataclass(frozen=True)
class Example:
    handler: str
    event: dict[str, Any]
    body: bytes
    # For HTTP responses: what the prelude must hold (headers: a subset).
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    cookies: list[str] = field(default_factory=list)

    @property
    def http(self) -> bool:
        return self.status is not None


EXAMPLE_RUNS = {
    "generator": Example(
        "examples/stream_generator.handler",
        {"prompt": "why is the sky blue", "delay": 0},
        b"You asked: why is the sky blue ",
    ),
    "writer": Example("examples/stream_writer.handler", {"delay": 0}, b"thinking... done\n"),
    "generator-count": Example(
        "examples/stream.handler", {"count": 3, "delay": 0}, b"chunk 1 of 3\nchunk 2 of 3\nchunk 3 of 3\n"
    ),
    "http-csv": Example(
        "examples/stream_http.handler",
        function_url_event("/export", rows="3"),
        b"id,square\n0,0\n1,1\n2,4\n",
        status=200,
        headers={"content-type": "text/csv", "content-disposition": 'attachment; filename="squares.csv"'},
        cookies=["export=1; Secure; HttpOnly"],
    ),
    "http-sse": Example(
        "examples/stream_http.sse",
        function_url_event("/events", count="3", interval="0"),
        b"event: tick\ndata: 0\n\nevent: tick\ndata: 1\n\nevent: tick\ndata: 2\n\n",
        status=200,
        headers={"content-type": "text/event-stream", "cache-control": "no-cache"},
    ),
    "asgi-json": Example(
        "examples/stream_asgi.handler",
        function_url_event("/hello", name="lambdaloop"),
        b'{"hello":"lambdaloop"}',
        status=200,
        headers={"content-type": "application/json"},
    ),
    "asgi-sse": Example(
        "examples/stream_asgi.handler",
        function_url_event("/clock", count="3", interval="0"),
        b"data: 0\n\ndata: 1\n\ndata: 2\n\n",
        status=200,
        headers={"content-type": "text/event-stream; charset=utf-8"},
    ),
}


def check_streamed(example: Example, streamed: bytes) -> None:
    """The response as the caller received it: for HTTP, the prelude, its 8 NULs, the body."""
    if not example.http:
        assert streamed == example.body
        return
    prelude, sep, body = streamed.partition(PRELUDE_END)
    assert sep, f"no HTTP-integration prelude in {streamed[:200]!r}"
    head = json.loads(prelude)
    assert head["statusCode"] == example.status
    assert {k: head["headers"].get(k) for k in example.headers} == example.headers
    assert head.get("cookies", []) == example.cookies
    assert body == example.body


@pytest.mark.parametrize("name", list(EXAMPLE_RUNS))
def test_example_streams_through_the_cli(name: str, tmp_path: Path) -> None:
    example = EXAMPLE_RUNS[name]
    event_file = tmp_path / "event.json"
    event_file.write_text(json.dumps(example.event))
    done = run_cli("invoke", example.handler, "--stream", "--event", str(event_file))
    assert done.returncode == 0, done.stderr.decode()
    out = done.stdout
    if not example.body.endswith(b"\n"):  # the CLI ends its output with a newline if the response did not
        assert out.endswith(b"\n")
        out = out[:-1]
    check_streamed(example, out)
    assert b"REPORT RequestId:" in done.stderr


@pytest.mark.parametrize("name", list(EXAMPLE_RUNS))
def test_example_streams_through_the_plugin(name: str, lambda_function: Any) -> None:
    example = EXAMPLE_RUNS[name]
    fn: LocalFunction = lambda_function(example.handler, task_root=str(ROOT), timeout=20)
    chunks = list(fn.invoke_stream(example.event))
    assert chunks and all(isinstance(chunk, bytes) and chunk for chunk in chunks)
    check_streamed(example, b"".join(chunks))
    assert any(line.startswith("REPORT RequestId:") for line in fn.platform_lines)


# ---- a piece arrives while the handler is still running ---------------------------------

# The generator example, held after its first token until the test has received that token
# and created the gate file. Were the runtime, the emulator or the CLI to buffer the
# response, the first token would never arrive, the gate never open, and the handler fail.
GATED = """
import os, sys, time
sys.path.insert(0, os.environ["EXAMPLES_DIR"])
from stream_generator import handler as example

def handler(event, context):
    tokens = example(event, context)
    yield next(tokens)
    deadline = time.monotonic() + 20
    while not os.path.exists(event["gate"]):
        if time.monotonic() > deadline:
            raise TimeoutError("the gate never opened: the first token did not reach the test")
        time.sleep(0.005)
    yield from tokens
"""
FIRST_TOKEN = b"You "
ALL_TOKENS = b"You asked: is it streamed "


def gated_function(tmp_path: Path) -> tuple[dict[str, Any], Path]:
    (tmp_path / "gated.py").write_text(GATED)
    gate = tmp_path / "gate"
    return {"prompt": "is it streamed", "delay": 0, "gate": str(gate)}, gate


def test_generator_piece_arrives_before_the_handler_finishes(lambda_function: Any, tmp_path: Path) -> None:
    event, gate = gated_function(tmp_path)
    fn: LocalFunction = lambda_function(
        "gated.handler", task_root=str(tmp_path), env={"EXAMPLES_DIR": str(EXAMPLES)}, timeout=30
    )
    chunks = fn.invoke_stream(event)
    received = b""
    while len(received) < len(FIRST_TOKEN):
        received += next(chunks)
    assert received == FIRST_TOKEN
    assert not gate.exists()  # so the handler is still inside the generator
    gate.touch()
    assert received + b"".join(chunks) == ALL_TOKENS


def test_cli_prints_a_piece_before_the_handler_finishes(tmp_path: Path) -> None:
    event, gate = gated_function(tmp_path)
    cmd = [
        *lambdaloop_cli(), "invoke", "gated.handler", "--stream", "--event", json.dumps(event),
        "--task-root", str(tmp_path), "--env", f"EXAMPLES_DIR={EXAMPLES}", "--extensions-dir", "",
    ]  # fmt: skip
    with subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as cli:
        try:
            received = b""
            deadline = time.monotonic() + 20
            assert cli.stdout is not None
            while len(received) < len(FIRST_TOKEN) and time.monotonic() < deadline:
                if select.select([cli.stdout], [], [], 0.5)[0]:
                    piece = os.read(cli.stdout.fileno(), 4096)
                    if not piece:
                        break
                    received += piece
            assert received == FIRST_TOKEN
            gate.touch()
            rest, stderr = cli.communicate(timeout=30)
        finally:
            if cli.poll() is None:
                cli.kill()
    assert cli.returncode == 0, stderr.decode()
    assert received + rest == ALL_TOKENS + b"\n"


# ---- the README shows these files, and its commands run ---------------------------------


def section_blocks() -> list[tuple[str, str]]:
    """(language, code) of each fenced block in the README's streaming section."""
    section = README.read_text().split(SECTION, 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^```(\w*)\n(.*?)^```", section, re.MULTILINE | re.DOTALL)


def readme_excerpts() -> list[tuple[str, list[list[str]]]]:
    """Each ``# examples/NAME.py`` header in a Python block and what follows it up to the
    next header: lists of non-blank lines, split where the README elides with ``# ...``."""
    excerpts: list[tuple[str, list[list[str]]]] = []
    for language, code in section_blocks():
        if language != "python":
            continue
        segments: list[list[str]] | None = None
        for line in code.splitlines():
            header = re.fullmatch(r"# (examples/\S+\.py)", line)
            if header:
                segments = [[]]
                excerpts.append((header.group(1), segments))
            elif segments is not None and line.strip() == "# ...":
                segments.append([])
            elif segments is not None and line.strip():
                segments[-1].append(line)
    return excerpts


def test_readme_streaming_snippets_are_the_example_files() -> None:
    excerpts = readme_excerpts()
    shown = {path for path, _ in excerpts}
    assert shown >= {f"examples/stream_{kind}.py" for kind in ("generator", "writer", "http", "asgi")}
    for path, segments in excerpts:
        # Blank lines do not count: the README may space code differently from ruff's format.
        lines = [line for line in (ROOT / path).read_text().splitlines() if line.strip()]
        start = 0
        for segment in segments:
            assert segment, f"an empty excerpt of {path} in the README"
            at = next((i for i in range(start, len(lines)) if lines[i : i + len(segment)] == segment), None)
            assert at is not None, f"README excerpt of {path} is not in the file (in this order):\n" + "\n".join(
                segment
            )
            start = at + len(segment)


def readme_commands(option: str) -> list[list[str]]:
    """The section's ``lambdaloop invoke`` commands that use ``option``."""
    commands = [
        shlex.split(line, comments=True)
        for language, code in section_blocks()
        if language == "sh"
        for line in code.splitlines()
        if line.startswith("lambdaloop invoke ")
    ]
    return [command for command in commands if option in command or not option]


def test_every_invoke_command_of_the_section_is_run_below() -> None:
    assert readme_commands("")
    for command in readme_commands(""):
        assert "--stream" in command or "--snapstart" in command, command


@pytest.mark.parametrize("command", readme_commands("--stream"), ids=lambda argv: argv[2])
def test_readme_streaming_command_runs(command: list[str]) -> None:
    done = run_cli(*command[1:])
    assert done.returncode == 0, done.stderr.decode()
    assert b"REPORT RequestId:" in done.stderr
    if command[2] == "examples/stream_generator.handler":
        assert done.stdout == b"You asked: why is the sky blue \n"
    else:
        assert command[2] == "examples/stream_http.handler"
        prelude, _, body = done.stdout.partition(PRELUDE_END)
        assert json.loads(prelude)["headers"]["content-type"] == "text/csv"
        assert body.startswith(b"id,square\n0,0\n1,1\n") and body.count(b"\n") == 10_001  # header + 10,000 rows


@pytest.mark.parametrize("command", readme_commands("--snapstart"), ids=lambda argv: argv[2])
def test_readme_snapstart_command_runs(command: list[str]) -> None:
    done = run_cli(*command[1:])
    assert done.returncode == 0, done.stderr.decode()
    answers = [json.loads(line) for line in done.stdout.splitlines()]
    assert [a["price"] for a in answers] == [700, 700]
    assert answers[0]["environment"] != answers[1]["environment"]
    assert done.stderr.count(b"restored as ") == 2 and b"uniqueness" not in done.stderr
