"""The layer as Lambda runs it: unzipped to a read-only /opt, the function in a read-only
/var/task, only /tmp writable, AWS's RIE starting the runtime the way each route does.

The proof that lambdaloop (and not awslambdaric) served an invoke comes from inside the function's
process: `sys.modules` holds `lambdaloop.loop`, loaded from /opt/python, and no `awslambdaric`
module. Where AWS's runtime could run instead (python3.11, whose awslambdaric build the dev venv
has), the real awslambdaric sits in /var/runtime, and a control test shows the same check reporting
awslambdaric when the wrapper is not set.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path
from types import ModuleType

import pytest
from lambda_sandbox import (
    AWS_BOOTSTRAP_PY,
    AWS_LD_LIBRARY_PATH,
    AWS_PATH,
    ROOT,
    STANDIN_BOOTSTRAP_PY,
    LambdaSandbox,
    aws_python_bootstrap,
    copy_awslambdaric,
    write_executable,
)
from procs import unzip

HERE = Path(__file__).resolve().parent
VERSIONS = ("3.10", "3.11", "3.12", "3.13", "3.14")

# Root for `unshare -m`: skipped without, a failure in CI (conftest's `namespace` fixture).
needs_namespace = pytest.mark.usefixtures("namespace")

CHAIN_WRAPPER = """#!/bin/sh
# A stand-in for /opt/otel-instrument: records that it ran and with what, redirects the handler
# the way otel-instrument does, then runs its arguments.
echo "chain-wrapper ran with: $*" >&2
export CHAIN_RECORD="$*"
export ORIG_HANDLER="$_HANDLER"
export _HANDLER=app.wrapped
exec "$@"
"""


def lambda_env(handler: str, **extra: str) -> dict[str, str]:
    """The environment Lambda gives a managed Python runtime (the RIE adds the AWS_LAMBDA_* ones)."""
    env = {
        "PATH": AWS_PATH,
        "LD_LIBRARY_PATH": AWS_LD_LIBRARY_PATH,
        "LANG": "C.UTF-8",
        "TZ": ":/etc/localtime",
        "LAMBDA_TASK_ROOT": "/var/task",
        "LAMBDA_RUNTIME_DIR": "/var/runtime",
        "AWS_LAMBDA_FUNCTION_TIMEOUT": "20",
        "_HANDLER": handler,
    }
    env.update(extra)
    return env


def awslambdaric_runs_on(version: str) -> bool:
    """The dev venv's awslambdaric has a C extension built for the venv's Python only."""
    return f"{sys.version_info[0]}.{sys.version_info[1]}" == version


def make_root(tmp_path: Path, layer_zip: Path, runtime: str | None = None, version: str = "") -> Path:
    """tmp_path/{opt,task,runtime}: what the mount namespace shows at /opt, /var/task, /var/runtime.
    runtime: None (provided.al2023: no /var/runtime), "aws" (a managed python3.X runtime)."""
    root = tmp_path / "root"
    unzip(layer_zip, root / "opt")
    task = root / "task"
    task.mkdir(parents=True)
    shutil.copyfile(HERE / "function" / "app.py", task / "app.py")
    write_executable(task / "chain-wrapper", CHAIN_WRAPPER)
    if runtime == "aws":
        runtime_dir = root / "runtime"
        write_executable(runtime_dir / "bootstrap", aws_python_bootstrap(version))
        if awslambdaric_runs_on(version):
            copy_awslambdaric(Path(sysconfig.get_paths()["purelib"]), runtime_dir)
            (runtime_dir / "bootstrap.py").write_text(AWS_BOOTSTRAP_PY)
        else:
            (runtime_dir / "bootstrap.py").write_text(STANDIN_BOOTSTRAP_PY)
    return root


def invoke_json(box: LambdaSandbox, event: dict[str, object]) -> dict[str, object]:
    status, body = box.invoke(json.dumps(event).encode())
    assert status == 200, f"{status} {body!r}\n{box.logs()}"
    try:
        return json.loads(body)
    except ValueError:
        raise AssertionError(f"not JSON: {body!r}\n{box.logs()}") from None


def assert_lambdaloop_from_layer(out: dict[str, object], version: str) -> None:
    assert out["lambdaloop"] == "/opt/python/lambdaloop/__init__.py", out
    assert out["lambdaloop_loop_loaded"] is True
    assert out["awslambdaric_loaded"] is False
    assert out["version"] == version
    assert (out["task_writable"], out["opt_writable"], out["tmp_writable"]) == (False, False, True)


def need_interpreter(interpreters: dict[str, str], version: str) -> str:
    if version not in interpreters:
        pytest.skip(f"no Python {version} on this machine to play AWS's /var/lang/bin/python{version}")
    return interpreters[version]


# -- the zip itself ---------------------------------------------------------------------------


def test_layer_build_is_reproducible_and_well_formed(
    layer_build: ModuleType,
    layer_dir: Path,
    layer_zip: Path,
    host_arch: str,
    frozen_sources: tuple[Path, Path],
    tmp_path: Path,
) -> None:
    again = tmp_path / "again"
    package, bootstrap = frozen_sources
    layer_build.build(again, [host_arch], list(layer_build.PYTHONS), {}, package=package, bootstrap=bootstrap)
    assert (again / layer_zip.name).read_bytes() == layer_zip.read_bytes(), "same inputs, different bytes"

    with zipfile.ZipFile(layer_zip) as zf:
        infos = zf.infolist()
        names = [i.filename for i in infos]
        assert names == sorted(names)
        assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
        modes = {i.filename: stat.S_IMODE(i.external_attr >> 16) for i in infos}
        assert modes["bootstrap"] == 0o755
        assert zf.read("bootstrap") == bootstrap.read_bytes()
        for name, mode in modes.items():
            assert mode in (0o644, 0o755), name
            if name.endswith(".py") or name.endswith(".pyc"):
                assert mode == 0o644, name
        for version in VERSIONS:
            site = f"python/lib/python{version}/site-packages/"
            for package in ("orjson/", "simplejson/", "uvloop/", "snapshot_restore_py.py"):
                assert any(n.startswith(site + package) for n in names), site + package
        assert "python/lambdaloop/loop.py" in names
        assert not any(n.endswith((".pyx", ".c", "/REQUESTED", ".part")) for n in names)
        # No trace of the build machine's paths: the .pyc carry /opt paths.
        for info in infos:
            if info.filename.endswith(".pyc"):
                data = zf.read(info)
                assert b"lambdaloop-layer-" not in data and b"/tmp/" not in data, info.filename

    (report,) = json.loads((layer_dir / "layer-report.json").read_text())
    assert report["unzipped_bytes"] < layer_build.UNZIPPED_LIMIT
    assert report["zipped_bytes"] == layer_zip.stat().st_size


def test_the_layer_carries_the_runtime_only(layer_build: ModuleType, layer_zip: Path) -> None:
    """Exactly layer/runtime-files.txt of lambdaloop, each with bytecode for every version the
    machine can compile: no emulator, CLI, pytest plugin, sample events or RIE downloader."""
    listed = layer_build.runtime_files()
    with zipfile.ZipFile(layer_zip) as zf:
        names = [n for n in zf.namelist() if n.startswith("python/lambdaloop/") and not n.endswith("/")]
    sources = sorted(n.removeprefix("python/lambdaloop/") for n in names if "/__pycache__/" not in n)
    assert sources == sorted(listed)
    for tooling in ("cli.py", "pytest_plugin.py", "rie.py", "emulator/", "events/", "package", "profile"):
        assert not any(n.removeprefix("python/lambdaloop/").startswith(tooling) for n in names), tooling
    compiled = {n.split("/__pycache__/")[0] + "/" + n.rsplit("/", 1)[1].split(".")[0] for n in names if ".pyc" in n}
    assert {f"python/lambdaloop/{p.removesuffix('.py')}" for p in listed if p.endswith(".py")} == compiled


def imported_lambdaloop_modules(path: Path, package: Path) -> set[str]:
    """The lambdaloop modules a file imports, anywhere in it (lazy imports included), as paths
    relative to runtime/lambdaloop."""
    import ast

    found: set[str] = set()
    here = path.relative_to(package).parent
    for node in ast.walk(ast.parse(path.read_text())):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = here.parts[: len(here.parts) - (node.level - 1)] if node.level > 1 else here.parts
                prefix = ".".join([*base, *(node.module.split(".") if node.module else [])])
                names = [prefix, *(f"{prefix}.{alias.name}" if prefix else alias.name for alias in node.names)]
            elif node.module and (node.module == "lambdaloop" or node.module.startswith("lambdaloop.")):
                prefix = node.module.removeprefix("lambdaloop").lstrip(".")
                names = [prefix, *(f"{prefix}.{alias.name}".lstrip(".") for alias in node.names)]
        elif isinstance(node, ast.Import):
            ours = [a.name for a in node.names if a.name.startswith("lambdaloop")]
            names = [name.removeprefix("lambdaloop").lstrip(".") for name in ours]
        for name in names:
            parts = [p for p in name.split(".") if p]
            for candidate in (Path(*parts).with_suffix(".py") if parts else None, Path(*parts, "__init__.py")):
                if candidate is not None and parts and (package / candidate).is_file():
                    found.add(candidate.as_posix())
    return found


def test_the_runtime_files_import_only_runtime_files(layer_build: ModuleType) -> None:
    """A new module the runtime imports must be in layer/runtime-files.txt, or the layer breaks."""
    package = ROOT / "runtime" / "lambdaloop"
    listed = set(layer_build.runtime_files())
    missing = {
        f"{name} (imported by {source})"
        for source in sorted(listed)
        if source.endswith(".py")
        for name in imported_lambdaloop_modules(package / source, package)
        if name not in listed
    }
    assert not missing, f"add to layer/runtime-files.txt or stop importing: {sorted(missing)}"
    # The check sees what it must: loop.py's own imports are found.
    assert {"protocol.py", "transport.py"} <= imported_lambdaloop_modules(package / "loop.py", package)


def test_shipped_bytecode_is_used_even_with_a_newer_source_mtime(
    layer_zip: Path, interpreters: dict[str, str], tmp_path: Path
) -> None:
    opt = tmp_path / "opt"
    unzip(layer_zip, opt)
    # Lambda's extraction does not promise mtimes: an unchecked-hash .pyc does not look at them.
    future = 2_000_000_000
    for source in (opt / "python" / "lambdaloop").rglob("*.py"):
        os.utime(source, (future, future))
    if not interpreters:
        pytest.skip("no target interpreter here")
    for version, python in interpreters.items():
        tag = version.replace(".", "")
        code = f"import sys; sys.path.insert(0, {str(opt / 'python')!r}); import lambdaloop.loop"
        env = {"PATH": os.defpath, "PYTHONDONTWRITEBYTECODE": "1"}
        result = subprocess.run([python, "-S", "-v", "-c", code], capture_output=True, text=True, env=env)
        assert result.returncode == 0, result.stderr
        assert f"lambdaloop/__pycache__/loop.cpython-{tag}.pyc matches" in result.stderr, version


# -- route A: a managed python3.X runtime with AWS_LAMBDA_EXEC_WRAPPER=/opt/bootstrap ----------


@needs_namespace
@pytest.mark.parametrize("version", VERSIONS)
def test_exec_wrapper_on_the_managed_runtime(
    version: str, interpreters: dict[str, str], layer_zip: Path, rie: Path, tmp_path: Path
) -> None:
    python = need_interpreter(interpreters, version)
    root = make_root(tmp_path, layer_zip, runtime="aws", version=version)
    env = lambda_env("app.handler", AWS_LAMBDA_EXEC_WRAPPER="/opt/bootstrap")
    # The RIE starts /var/runtime/bootstrap as Lambda starts a managed runtime's bootstrap.
    with LambdaSandbox(root, rie, env, ["/var/runtime/bootstrap"], python, version) as box:
        out = invoke_json(box, {"deps": True})
        again = invoke_json(box, {})
        logs = box.logs()
    assert_lambdaloop_from_layer(out, version)
    assert out["executable"] == f"/var/lang/bin/python{version}"  # AWS's interpreter, kept
    assert out["argv"] == ["/opt/bootstrap"]
    site = f"/opt/python/lib/python{version}/site-packages"
    assert out["deps"] == {
        "orjson": f"{site}/orjson/__init__.py",
        "simplejson": f"{site}/simplejson/__init__.py",
        "uvloop": f"{site}/uvloop/__init__.py",
        # The layer's copy (first on AWS's sys.path); the one AWS's runtime has is further down.
        "snapshot_restore_py": f"{site}/snapshot_restore_py.py",
    }
    assert out["simplejson_speedups"] is True  # the manylinux C extension loaded
    # AWS's sys.path order: task root, the layer's site-packages, /opt/python, AWS's site-packages.
    assert out["sys_path"][:4] == ["/var/task", site, "/opt/python", f"/var/lang/lib/python{version}/site-packages"]
    assert out["pythonpath"] == "/var/runtime"  # what AWS's bootstrap.py leaves for child processes
    assert again["lambdaloop"] == out["lambdaloop"]
    assert "AWS-RUNTIME-STANDIN" not in logs
    # Every cold start's stderr lands in the function's logs: nothing from Python itself there
    # (the polyglot bootstrap's sh half once made 3.12+ print a SyntaxWarning on each start).
    assert "Warning:" not in logs and "Traceback" not in logs, logs


@needs_namespace
def test_control_without_the_wrapper_awslambdaric_runs(
    interpreters: dict[str, str], layer_zip: Path, rie: Path, tmp_path: Path
) -> None:
    """The same function and check, AWS_LAMBDA_EXEC_WRAPPER unset: the check sees awslambdaric."""
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    python = need_interpreter(interpreters, version)
    root = make_root(tmp_path, layer_zip, runtime="aws", version=version)
    with LambdaSandbox(root, rie, lambda_env("app.handler"), ["/var/runtime/bootstrap"], python, version) as box:
        out = invoke_json(box, {})
    assert out["awslambdaric_loaded"] is True
    assert out["lambdaloop"] is None


@needs_namespace
def test_exec_wrapper_runs_async_handlers_on_the_layers_uvloop(
    interpreters: dict[str, str], layer_zip: Path, rie: Path, tmp_path: Path
) -> None:
    version = max(interpreters, key=lambda v: tuple(map(int, v.split("."))), default="3.11")
    python = need_interpreter(interpreters, version)
    root = make_root(tmp_path, layer_zip, runtime="aws", version=version)
    env = lambda_env("app.async_handler", AWS_LAMBDA_EXEC_WRAPPER="/opt/bootstrap")
    with LambdaSandbox(root, rie, env, ["/var/runtime/bootstrap"], python, version) as box:
        out = invoke_json(box, {})
    assert_lambdaloop_from_layer(out, version)
    assert out["loop"] == "uvloop"


@needs_namespace
def test_exec_wrapper_chains_the_next_wrapper(
    interpreters: dict[str, str], layer_zip: Path, rie: Path, tmp_path: Path
) -> None:
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    python = need_interpreter(interpreters, version)
    root = make_root(tmp_path, layer_zip, runtime="aws", version=version)
    env = lambda_env(
        "app.handler", AWS_LAMBDA_EXEC_WRAPPER="/opt/bootstrap", LAMBDALOOP_NEXT_WRAPPER="/var/task/chain-wrapper"
    )
    with LambdaSandbox(root, rie, env, ["/var/runtime/bootstrap"], python, version) as box:
        out = invoke_json(box, {})
        logs = box.logs()
    assert f"chain-wrapper ran with: /var/lang/bin/python{version} /opt/bootstrap" in logs
    assert out["chain_record"] == f"/var/lang/bin/python{version} /opt/bootstrap"
    assert out["wrapped_original"] == "app.handler"  # the wrapper's handler redirection took effect
    assert out["handler_env"] == "app.wrapped"
    assert_lambdaloop_from_layer(out, version)


# -- route B: provided.al2023 (and the RIE, and `sam local invoke`) run /opt/bootstrap ---------


@needs_namespace
def test_provided_runtime_runs_opt_bootstrap_with_python_from_path(layer_zip: Path, rie: Path, tmp_path: Path) -> None:
    system_python = shutil.which("python3", path="/usr/local/bin:/usr/bin:/bin")
    if not system_python:
        pytest.skip("no python3 in /usr/bin to be found on PATH")
    version = subprocess.run(
        [system_python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"], capture_output=True, text=True
    ).stdout.strip()
    root = make_root(tmp_path, layer_zip)
    # No command: the RIE looks for /var/task/bootstrap, then /opt/bootstrap, as Lambda does.
    with LambdaSandbox(root, rie, lambda_env("app.handler")) as box:
        out = invoke_json(box, {"deps": True})
    assert_lambdaloop_from_layer(out, version)
    assert out["argv"] == ["/opt/bootstrap"]  # the RIE found the layer's bootstrap by itself
    assert os.path.realpath(out["executable"]) == os.path.realpath(system_python)
    assert out["deps"]["orjson"].startswith(f"/opt/python/lib/python{version}/site-packages/")
    # provided.al2023 has no snapshot_restore_py of its own: SnapStart functions import the layer's.
    assert out["deps"]["snapshot_restore_py"] == f"/opt/python/lib/python{version}/site-packages/snapshot_restore_py.py"


@needs_namespace
def test_sam_local_python_function_runs_the_layers_bootstrap(
    interpreters: dict[str, str], layer_zip: Path, rie: Path, tmp_path: Path
) -> None:
    """`sam local invoke` starts the RIE with no command in a python3.x image: a layer's
    /opt/bootstrap wins over /var/runtime/bootstrap, and must find /var/lang/bin/python3."""
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    python = need_interpreter(interpreters, version)
    root = make_root(tmp_path, layer_zip, runtime="aws", version=version)
    with LambdaSandbox(root, rie, lambda_env("app.handler"), [], python, version) as box:
        out = invoke_json(box, {})
    assert_lambdaloop_from_layer(out, version)
    assert out["executable"] == "/var/lang/bin/python3"


@needs_namespace
@pytest.mark.parametrize("tool", ["curl", "bash"])
def test_provided_runtime_without_python_says_what_is_missing(
    tool: str, layer_zip: Path, rie: Path, tmp_path: Path
) -> None:
    root = make_root(tmp_path, layer_zip)
    # PATH holds only the tool that posts the error: no python3 anywhere the bootstrap looks.
    env = lambda_env("app.handler", PATH="/var/sandbox-bin")
    with LambdaSandbox(root, rie, env, tools=(tool,)) as box:
        status, body = box.invoke(b"{}")
        logs = box.logs()
    assert status == 502, (status, body, logs)
    error = json.loads(body)
    assert error["errorType"] == "Runtime.PythonNotFound", (body, logs)
    assert "no Python interpreter found" in error["errorMessage"]
    assert "/var/lang/bin/python3" in error["errorMessage"] and "AWS_LAMBDA_EXEC_WRAPPER" in error["errorMessage"]
    assert "lambdaloop bootstrap: no Python interpreter found" in logs  # and on stderr


# -- an extension in a layer's extensions/ folder, written with lambdaloop's extension client --

PROBE_EXTENSION = """#!/usr/bin/python3
# A layer's external extension: started by the platform from /opt/extensions before the runtime,
# registered under its file name, told about every invoke.
import os, sys
sys.path.insert(0, "/opt/python")
from lambdaloop.extensions.client import ExtensionsClient

client = ExtensionsClient(os.environ["AWS_LAMBDA_RUNTIME_API"])
client.register(os.path.basename(__file__), ["INVOKE", "SHUTDOWN"])
print("lambdaloop-probe: registered", flush=True)
while True:
    event = client.next_event()
    print(f"lambdaloop-probe: {event.event_type} {getattr(event, 'request_id', '')}", flush=True)
    if event.event_type == "SHUTDOWN":
        break
"""


@needs_namespace
def test_an_extension_in_the_layers_extensions_folder_runs(
    layer_zip: Path, rie: Path, tmp_path: Path, frozen_sources: tuple[Path, Path]
) -> None:
    package, _ = frozen_sources
    assert (package / "extensions" / "client.py").is_file()
    if not Path("/usr/bin/python3").is_file():
        pytest.skip("the probe extension runs on /usr/bin/python3")
    root = make_root(tmp_path, layer_zip)
    # A second layer merged into /opt, as Lambda merges layers: it brings extensions/.
    write_executable(root / "opt" / "extensions" / "lambdaloop-probe", PROBE_EXTENSION)
    with LambdaSandbox(root, rie, lambda_env("app.handler")) as box:
        out = invoke_json(box, {})
        logs = box.logs()
    assert_lambdaloop_from_layer(out, out["version"])
    assert "lambdaloop-probe: registered" in logs, logs
    request_ids = [line.split()[2] for line in logs.splitlines() if line.startswith("START RequestId: ")]
    assert request_ids and f"lambdaloop-probe: INVOKE {request_ids[0]}" in logs, logs
