"""The README shows code that runs: its plugin example is examples/test_hello.py verbatim,
and its two first-screen commands are the ones .ci/run and ./dev provide."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_readme_plugin_example_is_the_tested_file() -> None:
    readme = (ROOT / "README.md").read_text()
    assert (ROOT / "examples" / "test_hello.py").read_text().strip() in readme
    assert (ROOT / "examples" / "test_snapstart_restores.py").read_text().strip() in readme


def test_first_screen_commands_are_wired() -> None:
    first_screen = (ROOT / "README.md").read_text().split("---", 1)[0]
    assert "./dev invoke examples/hello.handler --event apigw-v2" in first_screen
    assert "./dev test" in first_screen
    assert "./dev test" in (ROOT / ".ci" / "run").read_text()
