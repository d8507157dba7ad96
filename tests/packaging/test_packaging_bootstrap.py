"""How `bootstrap` reads its command line: wrapper mode, bootstrap mode, handler argument, chaining.

A fake interpreter (a shell script that prints what it was given) stands in for Python, so each
case is one fork of /bin/sh; the real interpreter and the RIE are in test_packaging_layer.py.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

BOOTSTRAP = str(ROOT / "bootstrap")

FAKE_PYTHON = """#!/bin/sh
# Prints its argv and the variables the bootstrap may set, as JSON, one value per line.
printf '{"tool": "%s", "argv": [' "$(basename "$0")"
sep=
for a do printf '%s"%s"' "$sep" "$a"; sep=', '; done
printf '], "handler": "%s", "chained": "%s"}\\n' "${_HANDLER-}" "${_LAMBDALOOP_CHAINED-}"
"""

# A next wrapper as LAMBDALOOP_NEXT_WRAPPER runs it: it says it ran, then execs its arguments,
# as otel-instrument and Datadog's wrapper do in the end.
NEXT_WRAPPER = """#!/bin/sh
echo "next-wrapper ran with: $*" >&2
exec "$@"
"""


@pytest.fixture()
def fakes(tmp_path: Path) -> Path:
    for name, text in (("python3", FAKE_PYTHON), ("fakepython", FAKE_PYTHON), ("next-wrapper", NEXT_WRAPPER)):
        (tmp_path / name).write_text(text)
        (tmp_path / name).chmod(0o755)
    return tmp_path


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {"PATH": "/usr/bin:/bin"}
    return subprocess.run([BOOTSTRAP, *args], env={**base, **env}, capture_output=True, text=True, timeout=10)


def parsed(result: subprocess.CompletedProcess[str]) -> dict[str, object]:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_no_argument_is_bootstrap_mode(fakes: Path) -> None:
    out = parsed(run([], {"LAMBDALOOP_PYTHON": str(fakes / "fakepython"), "_HANDLER": "app.handler"}))
    assert out["argv"] == [BOOTSTRAP]  # the interpreter runs this same file, which reads _HANDLER
    assert out["handler"] == "app.handler"


@pytest.mark.parametrize("handler", ["app.handler", "pkg/sub/mod.func", "run.sh"])
def test_a_sole_handler_argument_is_passed_on(fakes: Path, handler: str) -> None:
    out = parsed(run([handler], {"LAMBDALOOP_PYTHON": str(fakes / "fakepython")}))
    assert out["argv"] == [BOOTSTRAP, handler]


def test_managed_runtime_command_line_is_wrapper_mode(fakes: Path) -> None:
    # What /var/runtime/bootstrap of python3.x runs: $wrapper /var/lang/bin/python3.x /var/runtime/bootstrap.py
    # LAMBDALOOP_PYTHON is ignored here: the interpreter is AWS's.
    env = {"LAMBDALOOP_PYTHON": "/nonexistent"}
    out = parsed(run([str(fakes / "fakepython"), "/var/runtime/bootstrap.py"], env))
    assert out["tool"] == "fakepython"
    assert out["argv"] == [BOOTSTRAP]


def test_wrapper_mode_keeps_interpreter_options_and_drops_the_script(fakes: Path) -> None:
    args = [
        str(fakes / "fakepython"),
        "-u",
        "-X",
        "frozen_modules=off",
        "-W",
        "ignore",
        "/var/runtime/bootstrap.py",
        "x",
    ]
    assert parsed(run(args, {}))["argv"] == ["-u", "-X", "frozen_modules=off", "-W", "ignore", BOOTSTRAP]
    args = [str(fakes / "fakepython"), "-s", "-m", "awslambdaric", "app.handler"]
    assert parsed(run(args, {}))["argv"] == ["-s", BOOTSTRAP]


def test_wrapper_mode_with_an_interpreter_on_path(fakes: Path) -> None:
    # A wrapper earlier in a chain may pass `python3` rather than a path.
    out = parsed(run(["python3", "/var/runtime/bootstrap.py"], {"PATH": f"{fakes}:/usr/bin:/bin"}))
    assert out["tool"] == "python3"
    assert out["argv"] == [BOOTSTRAP]


def test_interpreter_search_order(fakes: Path, tmp_path: Path) -> None:
    # No LAMBDALOOP_PYTHON, no layer interpreter, no /var/lang here: python3 on PATH.
    out = parsed(run([], {"PATH": f"{fakes}:/usr/bin:/bin", "_HANDLER": "app.handler"}))
    assert out["tool"] == "python3"
    # The layer's own interpreter, next to the bootstrap, comes before PATH.
    layer = tmp_path / "opt"
    (layer / "lambdaloop" / "python" / "bin").mkdir(parents=True)
    (layer / "bootstrap").write_bytes(Path(BOOTSTRAP).read_bytes())
    (layer / "bootstrap").chmod(0o755)
    own = layer / "lambdaloop" / "python" / "bin" / "python3"
    own.write_text(FAKE_PYTHON.replace('"$(basename "$0")"', '"layer-python"'))
    own.chmod(0o755)
    result = subprocess.run(
        [str(layer / "bootstrap")], env={"PATH": f"{fakes}:/usr/bin:/bin"}, capture_output=True, text=True, timeout=10
    )
    assert json.loads(result.stdout)["tool"] == "layer-python"


def test_a_bad_lambdaloop_python_is_an_error_not_a_silent_fallback(fakes: Path) -> None:
    result = run([], {"LAMBDALOOP_PYTHON": str(fakes / "missing"), "PATH": f"{fakes}:/usr/bin:/bin"})
    assert result.returncode == 127
    assert "LAMBDALOOP_PYTHON" in result.stderr and "is not an executable file" in result.stderr


def test_next_wrapper_in_wrapper_mode(fakes: Path) -> None:
    env = {"LAMBDALOOP_NEXT_WRAPPER": str(fakes / "next-wrapper")}
    result = run([str(fakes / "fakepython"), "-u", "/var/runtime/bootstrap.py"], env)
    out = parsed(result)
    # The next wrapper got a normal wrapper command line (interpreter, options, script) and ran it.
    assert f"next-wrapper ran with: {fakes / 'fakepython'} -u {BOOTSTRAP}" in result.stderr
    assert out["argv"] == ["-u", BOOTSTRAP]
    assert out["chained"] == "1"  # the marker that stops a second round through the shell part


def test_next_wrapper_in_bootstrap_mode_gets_the_handler_in_the_environment(fakes: Path) -> None:
    env = {"LAMBDALOOP_NEXT_WRAPPER": str(fakes / "next-wrapper"), "LAMBDALOOP_PYTHON": str(fakes / "fakepython")}
    result = run(["app.handler"], env)
    out = parsed(result)
    assert out["argv"] == [BOOTSTRAP]
    assert out["handler"] == "app.handler"  # so the next wrapper may redirect it, as otel-instrument does


def test_next_wrapper_is_not_chained_twice(fakes: Path) -> None:
    env = {
        "LAMBDALOOP_NEXT_WRAPPER": str(fakes / "next-wrapper"),
        "LAMBDALOOP_PYTHON": str(fakes / "fakepython"),
        "_LAMBDALOOP_CHAINED": "1",
    }
    result = run([], env)
    assert "next-wrapper ran" not in result.stderr
    assert parsed(result)["argv"] == [BOOTSTRAP]


@pytest.mark.parametrize(
    ("make", "status", "text"), [(None, 127, "does not exist"), (0o644, 126, "is not an executable")]
)
def test_broken_next_wrapper_fails_like_aws_does(fakes: Path, make: int | None, status: int, text: str) -> None:
    wrapper = fakes / "broken-wrapper"
    if make is not None:
        wrapper.write_text("#!/bin/sh\n")
        wrapper.chmod(make)
    result = run([str(fakes / "fakepython"), "/var/runtime/bootstrap.py"], {"LAMBDALOOP_NEXT_WRAPPER": str(wrapper)})
    assert result.returncode == status
    assert text in result.stderr


def test_real_python_too_old_is_reported(tmp_path: Path) -> None:
    # The Python half refuses interpreters older than 3.10 with a clear message (AL2023's system
    # python3 is 3.9, and python3 on PATH is the last resort of the search).
    import glob
    import shutil

    pyenv = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    old = None
    for version in ("3.9", "3.8", "3.7", "3.6"):
        for candidate in [
            shutil.which(f"python{version}"),
            *glob.glob(f"{pyenv}/versions/{version}.*/bin/python{version}"),
        ]:
            if candidate and subprocess.run([candidate, "-c", "pass"], capture_output=True).returncode == 0:
                old = candidate
                break
        if old:
            break
    if old is None:
        pytest.skip("no Python older than 3.10 here")
    result = subprocess.run([BOOTSTRAP, "app.handler"], env={"LAMBDALOOP_PYTHON": old, "PATH": os.defpath},
                            capture_output=True, text=True, timeout=10)  # fmt: skip
    assert result.returncode == 1
    assert "lambdaloop needs Python 3.10 or newer" in result.stderr
