"""`lambdaloop profile`: the figures agree with `python -X importtime` on the same function, the
table, chart and hints say what a person needs, and a handler that cannot load gets a clear
message. The function's modules sleep at import, so the ranking is stable on a busy machine."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from lambdaloop.profile.importtime import ImportNode, parse

APP = """import json

import slow_a
import slow_b


def handler(event, context):
    if event.get("report"):
        return slow_b.render(event)
    return {"a": slow_a.VALUE, "n": len(json.dumps(event))}
"""
MODULES = {
    "slow_a.py": "import time\n\nimport slow_c\n\ntime.sleep(0.15)\nVALUE = slow_c.VALUE + 1\n",
    "slow_b.py": "import time\n\ntime.sleep(0.08)\n\n\ndef render(event):\n    return {'report': True}\n",
    "slow_c.py": "import time\n\ntime.sleep(0.05)\nVALUE = 1\n",
}
# Sleeps of 150, 80, 50 ms: each module's cumulative time, the handler's tree ranked by it.
EXPECTED_TOP = ["app", "slow_a", "slow_b", "slow_c"]


def make_function(root: Path, app: str = APP) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "app.py").write_text(app)
    for name, text in MODULES.items():
        (root / name).write_text(text)
    return root


def profile(task_root: Path, *args: str, handler: str = "app.handler") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lambdaloop.cli", "profile", handler, "--task-root", str(task_root), *args],
        capture_output=True,
        text=True,
        cwd=task_root.parent,
        timeout=120,
    )


def flatten(nodes: list[ImportNode]) -> dict[str, int]:
    return {node.name: node.cumulative_us for top in nodes for node, _, _ in top.walk()}


def tree_from_json(phases: list[dict[str, object]], name: str) -> list[ImportNode]:
    def node(d: dict[str, object]) -> ImportNode:
        return ImportNode(d["name"], d["self_us"], d["cumulative_us"], [node(c) for c in d["children"]])  # type: ignore[arg-type,union-attr]

    (phase,) = [p for p in phases if p["name"] == name]
    return [node(n) for n in phase["imports"]]  # type: ignore[union-attr]


def test_top_entries_agree_with_python_importtime(tmp_path: Path) -> None:
    task_root = make_function(tmp_path / "fn")
    result = profile(task_root, "--json", str(tmp_path / "p.json"), "--no-svg")
    assert result.returncode == 0, result.stderr
    ours = flatten(tree_from_json(json.loads((tmp_path / "p.json").read_text())["phases"], "handler import"))
    reference = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import app"],
        cwd=task_root, capture_output=True, text=True, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )  # fmt: skip
    theirs = flatten([top for top in parse(reference.stderr.splitlines()) if top.name == "app"])
    rank = lambda figures: sorted(figures, key=lambda name: -figures[name])[:4]  # noqa: E731
    assert rank(ours) == rank(theirs) == EXPECTED_TOP
    for name in EXPECTED_TOP:
        # Same work in both runs; allow for a busy machine, not for a different measurement.
        assert abs(ours[name] - theirs[name]) < max(0.25 * theirs[name], 30_000), (name, ours[name], theirs[name])
    # And both see the sleeps: slow_a's cumulative holds slow_c's.
    assert ours["slow_a"] >= 195_000 and ours["slow_c"] >= 49_000


def test_table_chart_and_hints(tmp_path: Path) -> None:
    task_root = make_function(tmp_path / "fn")
    svg = tmp_path / "chart.svg"
    result = profile(task_root, "--svg", str(svg))
    assert result.returncode == 0, result.stderr
    assert result.stderr == "", "stderr is not a terminal: no progress line, nothing else"
    out = result.stdout
    for phase in ("interpreter start", "runtime start", "handler import", "first invocation", "module body of app"):
        assert phase in out, phase
    lines = out.splitlines()
    table = lines[lines.index("  cumulative      self   module  (imported by)") + 1 :]
    assert [line.split()[2] for line in table[:4]] == EXPECTED_TOP
    assert "slow_c  (slow_a)" in out
    # slow_b is used only under `if event.get("report")`: worth importing lazily. slow_a is used
    # on every path, json is cheap: no hint for them.
    hints = out.split("hints:")[1]
    assert "`slow_b` costs" in hints and "used only on some paths (in handler" in hints
    assert "`slow_a`" not in hints and "`json`" not in hints
    assert f"chart: {svg}" in out
    root = ET.parse(svg).getroot()
    ns = "{http://www.w3.org/2000/svg}"
    boxes = {
        g.find(f"{ns}title").text.split(":")[0]: float(g.find(f"{ns}rect").get("width"))  # type: ignore[union-attr]
        for g in root.iter(f"{ns}g")
    }
    assert {"slow_a", "slow_b", "slow_c", "app"} <= set(boxes)
    assert 2.0 < boxes["slow_a"] / boxes["slow_b"] < 3.2  # 200 ms against 80 ms


def test_missing_pyc_on_a_read_only_task_root_gets_a_hint(tmp_path: Path) -> None:
    big = "".join(f"def f{i}(x):\n    return [x * {i} for _ in range({i})]\n\n" for i in range(3000))
    task_root = make_function(tmp_path / "fn", APP.replace("import json", "import json\n\nimport big"))
    (task_root / "big.py").write_text(big)
    result = profile(task_root, "--no-svg")
    assert result.returncode == 0, result.stderr
    assert "have no .pyc (app, big, slow_a, slow_b, slow_c); compiling them takes" in result.stdout
    assert not (task_root / "__pycache__").exists(), "the profile must not write .pyc (Lambda cannot)"
    # With .pyc shipped (as `lambdaloop package` does), the hint goes away.
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", "--invalidation-mode", "unchecked-hash", str(task_root)], check=True
    )
    result = profile(task_root, "--no-svg")
    assert result.returncode == 0, result.stderr
    assert "no .pyc" not in result.stdout


@pytest.mark.parametrize(
    ("app", "handler", "message"),
    [
        ("import nosuchmodule\n", "app.handler",
         "Runtime.ImportModuleError: Unable to import module 'app': No module named 'nosuchmodule'"),
        ("def handler(:\n", "app.handler", "Runtime.UserCodeSyntaxError: Syntax error in module 'app'"),
        ("x = 1\n", "app.handler", "Runtime.HandlerNotFound: Handler 'handler' missing on module 'app'"),
        ("x = 1\n", "nosuch.handler", "Runtime.ImportModuleError: Unable to import module 'nosuch'"),
        ("x = 1\n", "apphandler", "Runtime.MalformedHandlerName"),
        ("raise ValueError('no config')\n", "app.handler", "ValueError: no config"),
    ],
)  # fmt: skip
def test_a_handler_that_cannot_load_gets_a_clear_message(tmp_path: Path, app: str, handler: str, message: str) -> None:
    task_root = tmp_path / "fn"
    task_root.mkdir()
    (task_root / "app.py").write_text(app)
    result = profile(task_root, "--svg", str(tmp_path / "chart.svg"), handler=handler)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith(f"lambdaloop profile: {handler} failed to import: {message}"), result.stderr
    assert "lambdaloop/" not in result.stderr, "no runtime internals in the message"
    if "ValueError" in message:  # the user's own exception: where it was raised
        assert 'File "' in result.stderr and 'app.py", line 1' in result.stderr
        assert "<string>" not in result.stderr, "no frame of the profiler itself"
    assert not (tmp_path / "chart.svg").exists()


def test_importtime_parser_keeps_nesting_and_ignores_other_lines() -> None:
    lines = [
        "import time: self [us] | cumulative | imported package",
        "import time:        10 |         10 |     c",
        "some output of the function",
        "import time:        20 |         30 |   b",
        "import time:         5 |          5 |   d",
        "import time: garbage | 1 | x",
        "import time:         1 |         36 | a",
        "import time:         7 |          7 | e",
    ]
    a, e = parse(lines)
    assert (a.name, a.self_us, a.cumulative_us) == ("a", 1, 36)
    assert [child.name for child in a.children] == ["b", "d"]
    assert [child.name for child in a.children[0].children] == ["c"]
    assert (e.name, e.children) == ("e", [])
