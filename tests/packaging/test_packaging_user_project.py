"""A new user's own function: the README's "Your own function" steps, followed as written, in a
folder of their own with HOME elsewhere; and `./dev` run from a user's folder.

The install is the real one: a fresh venv, `pip install` of (a copy of) this checkout, which
builds lambdaloop's wheel and installs it with its dependencies. pip reads its files from its
cache, which `./dev` filled when it made the dev venv, so only PyPI's index is asked (the same
network `./dev` itself needs); the copy keeps setuptools' build files out of the work tree.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

APP = """
def handler(event, context):
    return {"path": event.get("rawPath"), "function": context.function_name}
"""

# Left out of the copy: the dev venv, git's store, build leftovers and caches.
NOT_SOURCES = shutil.ignore_patterns(".venv", ".git", "__pycache__", "*.egg-info", "build", "dist", ".*_cache")


def readme_commands() -> list[str]:
    """The shell block of the README's "Your own function" section, line by line."""
    section = (ROOT / "README.md").read_text().split("## Your own function", 1)[1].split("\n## ", 1)[0]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    return [line.split("#", 1)[0].strip() for line in block.splitlines() if line.strip()]


def pip_cache() -> str:
    """The cache `./dev` filled (pip's default place under the real HOME, unless told otherwise)."""
    return os.environ.get("PIP_CACHE_DIR") or str(Path.home() / ".cache" / "pip")


def test_the_readme_path_for_your_own_function_works_as_written(tmp_path: Path) -> None:
    checkout = tmp_path / "lambdaloop"
    shutil.copytree(ROOT, checkout, ignore=NOT_SOURCES)
    project = tmp_path / "my-function"
    project.mkdir()
    (project / "app.py").write_text(APP)
    home = tmp_path / "home"
    home.mkdir()
    env = {
        "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        "HOME": str(home),
        "PIP_CACHE_DIR": pip_cache(),
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }
    commands = readme_commands()
    assert commands == [
        "cd my-function",
        "python3 -m venv .venv",
        ".venv/bin/pip install /path/to/lambdaloop",
        ".venv/bin/lambdaloop invoke app.handler --event apigw-v2",
    ]
    # Word for word, but for where the checkout is: one shell, as a user types them.
    script = "set -e\n" + "\n".join(line.replace("/path/to/lambdaloop", str(checkout)) for line in commands)
    # python3 is this interpreter (the dev venv's), whose base a new venv is made from.
    (home / "bin").mkdir()
    (home / "bin" / "python3").symlink_to(sys.executable)
    env["PATH"] = f"{home / 'bin'}:{env['PATH']}"
    done = subprocess.run(["/bin/sh", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout + done.stderr
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert answer["path"] == "/hello"  # the apigw-v2 sample event reached the user's handler
    assert "REPORT RequestId:" in done.stderr
    # The installed copy, not this checkout, served it; the user's HOME stayed the user's.
    site = subprocess.run(
        [str(project / ".venv" / "bin" / "python"), "-c", "import lambdaloop; print(lambdaloop.__file__)"],
        capture_output=True, text=True, env=env,
    )  # fmt: skip
    assert site.stdout.startswith(str(project / ".venv")), site.stdout + site.stderr


def test_dev_resolves_relative_paths_against_the_callers_folder(tmp_path: Path) -> None:
    if not (ROOT / ".venv" / "bin" / "lambdaloop").exists():
        pytest.skip("no .venv in the checkout: ./dev would build one first (run the suite with ./dev test)")
    (tmp_path / "app.py").write_text(APP)
    (tmp_path / "event.json").write_text('{"rawPath": "/from-a-file"}')
    done = subprocess.run(
        [str(ROOT / "dev"), "invoke", "app.handler", "--task-root", ".", "--event", "event.json"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["path"] == "/from-a-file"
