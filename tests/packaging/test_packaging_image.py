"""The base image: its entry script and runtime bootstrap on the host (fast), and the real
image built with podman and invoked through its RIE (slow: LAMBDALOOP_SLOW_TESTS=1)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest
from lambda_sandbox import (
    ROOT,
    load_build_module,
    unavailable,
    write_executable,
)
from procs import descendants, free_port, unzip

HERE = Path(__file__).resolve().parent
IMAGE_DIR = ROOT / "layer" / "image"
ENTRYPOINT = IMAGE_DIR / "lambda-entrypoint.sh"
RUNTIME_BOOTSTRAP = IMAGE_DIR / "runtime-bootstrap.sh"


@pytest.mark.parametrize("args", [[], ["app.handler", "extra"]])
def test_entrypoint_wants_exactly_one_argument(args: list[str]) -> None:
    result = subprocess.run([str(ENTRYPOINT), *args], capture_output=True, text=True, timeout=10, env={})
    assert result.returncode == 142
    assert "entrypoint requires the handler name to be the first argument" in result.stderr


@pytest.mark.parametrize(
    ("mode", "status", "text"), [(None, 127, "does not exist"), (0o644, 126, "is not an executable")]
)
def test_runtime_bootstrap_checks_the_exec_wrapper_like_aws(
    tmp_path: Path, mode: int | None, status: int, text: str
) -> None:
    wrapper = tmp_path / "wrapper"
    if mode is not None:
        wrapper.write_text("#!/bin/sh\n")
        wrapper.chmod(mode)
    env = {"AWS_LAMBDA_EXEC_WRAPPER": str(wrapper), "PATH": "/usr/bin:/bin"}
    result = subprocess.run([str(RUNTIME_BOOTSTRAP)], capture_output=True, text=True, timeout=10, env=env)
    assert result.returncode == status
    assert f"{wrapper}: {text}" in result.stdout


# Inside a mount and network namespace: the image's paths, and the RIE on the namespace's own
# 0.0.0.0:8080 exactly as the entry script starts it (no address flag), unreachable from outside.
HOST_SCRIPT = r"""
set -eu
root=$1 python=$2 rie=$3 entry=$4 client=$5 wrapper=$6
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
ip link set lo up
mount --make-rprivate /
mount -t tmpfs -o mode=0755 lambda-var /var
mkdir -p /var/task /var/runtime /var/lang/bin
mount --bind "$root/runtime" /var/runtime
mount -o remount,bind,ro /var/runtime
mount --bind "$root/task" /var/task
mount -o remount,bind,ro /var/task
ln -s "$python" /var/lang/bin/python3
mount -o remount,ro /var
mount -t tmpfs -o mode=0755 lambda-usr-local-bin /usr/local/bin
# Copies, not links: /tmp is masked below, and the checkout (or the cache) may live there.
cp "$rie" /usr/local/bin/aws-lambda-rie
cp "$entry" /usr/local/bin/lambda-entrypoint.sh
entry=/usr/local/bin/lambda-entrypoint.sh
mount -o remount,bind,ro /
mount -t tmpfs -o mode=1777 lambda-tmp /tmp
cd /var/task
env -i PATH=/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin LANG=C.UTF-8 TZ=:/etc/localtime \
    LAMBDA_TASK_ROOT=/var/task LAMBDA_RUNTIME_DIR=/var/runtime AWS_LAMBDA_FUNCTION_TIMEOUT=20 \
    ${wrapper:+AWS_LAMBDA_EXEC_WRAPPER=$wrapper} "$entry" app.handler >&2 &
rie_pid=$!
status=0
"$python" -S -c "$client" || status=$?
kill -TERM "$rie_pid" 2>/dev/null || true
wait "$rie_pid" || true
exit "$status"
"""

CLIENT = r"""
import json, socket, sys, time, urllib.request
deadline = time.monotonic() + 10
while True:
    try:
        socket.create_connection(("127.0.0.1", 8080), timeout=0.2).close()
        break
    except OSError:
        if time.monotonic() > deadline:
            sys.exit("the RIE did not listen on :8080")
        time.sleep(0.02)
url = "http://127.0.0.1:8080/2015-03-31/functions/function/invocations"
with urllib.request.urlopen(urllib.request.Request(url, data=b'{"deps": true}'), timeout=30) as r:
    print("RESPONSE " + r.read().decode())
"""


def stage_image_runtime(layer_zip: Path, version: str, runtime: Path) -> None:
    """/var/runtime as the Dockerfile lays it out: lambdaloop and its dependencies side by side,
    lambdaloop's bootstrap as bootstrap.py, the AWS-shaped wrapper-aware script as bootstrap."""
    unpacked = runtime.parent / "unpacked"
    unzip(layer_zip, unpacked)
    shutil.copytree(unpacked / "python" / "lambdaloop", runtime / "lambdaloop")
    shutil.copytree(unpacked / "python" / "lib" / f"python{version}" / "site-packages", runtime, dirs_exist_ok=True)
    shutil.copyfile(unpacked / "bootstrap", runtime / "bootstrap.py")
    write_executable(runtime / "bootstrap", RUNTIME_BOOTSTRAP.read_text())


@pytest.mark.usefixtures("namespace")
@pytest.mark.parametrize("wrapper", ["", "/var/task/chain-wrapper"])
def test_entrypoint_and_runtime_bootstrap_on_the_host(
    wrapper: str, interpreters: dict[str, str], layer_zip: Path, rie: Path, tmp_path: Path
) -> None:
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    if version not in interpreters:
        pytest.skip(f"no Python {version} interpreter outside the venv")
    root = tmp_path / "root"
    stage_image_runtime(layer_zip, version, root / "runtime")
    (root / "task").mkdir()
    shutil.copyfile(HERE / "function" / "app.py", root / "task" / "app.py")
    # AWS_LAMBDA_EXEC_WRAPPER in an image: the wrapper gets /var/lang/bin/python3 /var/runtime/bootstrap.py.
    write_executable(
        root / "task" / "chain-wrapper",
        '#!/bin/sh\necho "image-wrapper ran with: $*" >&2\nexport CHAIN_RECORD="$*"\nexec "$@"\n',
    )
    unshare = shutil.which("unshare") or "/usr/bin/unshare"
    cmd = [unshare, "--mount", "--net", "--propagation", "private", "/bin/sh", "-c", HOST_SCRIPT, "image-host"]
    cmd += [str(root), interpreters[version], str(rie), str(ENTRYPOINT), CLIENT, wrapper]
    process = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={})
    try:
        stdout, stderr = process.communicate(timeout=60)
    finally:
        for pid in [*descendants(process.pid), process.pid]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        process.wait()
    assert process.returncode == 0, stdout + stderr
    (line,) = [x for x in stdout.splitlines() if x.startswith("RESPONSE ")]
    out = json.loads(line.removeprefix("RESPONSE "))
    assert out["lambdaloop"] == "/var/runtime/lambdaloop/__init__.py", out
    assert out["awslambdaric_loaded"] is False
    assert out["executable"] == "/var/lang/bin/python3"
    assert out["handler_env"] == "app.handler"  # exported by the entry script
    assert out["execution_env"].startswith("AWS_Lambda_python3")  # the version goes in at image build
    assert out["deps"]["uvloop"] == "/var/runtime/uvloop/__init__.py"
    assert out["deps"]["snapshot_restore_py"] == "/var/runtime/snapshot_restore_py.py"  # SnapStart hooks' API
    if wrapper:
        assert out["chain_record"] == "/var/lang/bin/python3 /var/runtime/bootstrap.py"
        assert "image-wrapper ran with" in stderr


# -- the real image ----------------------------------------------------------------------------


def podman_env() -> dict[str, str]:
    return {**os.environ, "CONTAINERS_CONF": str(IMAGE_DIR / "containers.conf")}


@pytest.mark.slow
def test_base_image_builds_and_runs_a_function_read_only_as_lambdas_user(tmp_path: Path) -> None:
    """Build the Dockerfile (Debian bookworm base made with debootstrap, cached by podman after
    the first run: about 60 s cold, 10 s warm), derive a function image the way users do, run it
    as Lambda does (read-only root, /tmp tmpfs, uid 993) and invoke it through the bundled RIE."""
    missing = [tool for tool in ("podman", "runc", "debootstrap") if shutil.which(tool) is None]
    if missing or os.geteuid() != 0:
        unavailable(
            f"needs root and {', '.join(missing) or 'podman'} (apt-get install podman buildah runc debootstrap)"
        )
    sys.path.insert(0, str(ROOT / "layer"))
    try:
        import build_image
    finally:
        sys.path.remove(str(ROOT / "layer"))
    assert load_build_module()  # the layer tooling imports cleanly too
    # A tag of this run's own, removed at the end with no layer cache left behind (.ci/run used to
    # leave ~870 MB per run); the Debian base is kept: it is the same every run (debootstrap, ~60 s).
    base_tag = f"localhost/lambdaloop-test-base:{uuid.uuid4().hex[:8]}"
    build_image.build(base_tag, "localhost/lambdaloop/debian-python:bookworm", layer_cache=False)

    function = function_folder(
        tmp_path, base_tag, "app.handler", {"stream.py": (ROOT / "examples" / "stream.py").read_text()}
    )
    tag = f"localhost/lambdaloop-function-test:{uuid.uuid4().hex[:8]}"
    env = podman_env()
    container = ""
    try:
        subprocess.run(["podman", "build", "-q", "-t", tag, "-f", str(function / "Containerfile"), str(function)],
                       check=True, env=env, capture_output=True)  # fmt: skip
        wrong = subprocess.run(["podman", "run", "--rm", tag, "a", "b"], env=env, capture_output=True, text=True)
        assert wrong.returncode == 142, wrong.stderr

        container, url = run_as_lambda(tag, env)
        out = invoke_when_up(url, b'{"deps": true}', within=20)
        logs = subprocess.run(["podman", "logs", container], env=env, capture_output=True, text=True).stdout
        streamed = stream_from_the_image(tag, env)
    finally:
        if container:
            subprocess.run(["podman", "rm", "-f", container], env=env, capture_output=True)
        subprocess.run(["podman", "rmi", "-f", tag, base_tag], env=env, capture_output=True)
    assert out["lambdaloop"] == "/var/runtime/lambdaloop/__init__.py", (out, logs)
    assert out["awslambdaric_loaded"] is False
    assert out["executable"] == "/var/lang/bin/python3"
    assert (out["task_writable"], out["tmp_writable"]) == (False, True)
    assert out["deps"]["orjson"] == "/var/runtime/orjson/__init__.py"
    assert out["deps"]["snapshot_restore_py"] == "/var/runtime/snapshot_restore_py.py"
    assert streamed.returncode == 0, streamed.stderr
    assert streamed.stdout == "chunk 1 of 3\nchunk 2 of 3\nchunk 3 of 3\n", streamed.stderr
    # As AWS's python images (and a managed runtime) set it; the RIE passes it on.
    assert out["execution_env"] == f"AWS_Lambda_python{out['version']}"
    # The runtime only (layer/runtime-files.txt): no tooling in /var/runtime/lambdaloop.
    assert "loop.py" in out["shipped"]
    for tooling in ("cli.py", "pytest_plugin.py", "rie.py", "emulator", "events"):
        assert tooling not in out["shipped"], out["shipped"]


# layer/README.md's recipe for a streaming function in the image: lambdaloop's emulator (which has
# the streaming invoke endpoint the image's RIE lacks) runs the image's runtime as its bootstrap.
STREAM_RECIPE = (
    "podman run --rm -i --name {name} --network host -e AWS_LAMBDA_RUNTIME_API -e AWS_LAMBDA_FUNCTION_NAME "
    "-e AWS_LAMBDA_FUNCTION_MEMORY_SIZE -e AWS_LAMBDA_FUNCTION_VERSION -e AWS_LAMBDA_FUNCTION_TIMEOUT "
    "-e AWS_REGION {tag}"
)


def stream_from_the_image(tag: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    name = f"lambdaloop-stream-test-{uuid.uuid4().hex[:8]}"
    readme = (ROOT / "layer" / "README.md").read_text()
    assert STREAM_RECIPE.format(name="my-function", tag="my-function") in " ".join(readme.split())
    command = [sys.executable, "-m", "lambdaloop.cli", "invoke", "stream.handler", "--stream"]
    command += ["--event", '{"count": 3, "delay": 0.2}', "--bootstrap", STREAM_RECIPE.format(name=name, tag=tag)]
    try:
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    finally:
        subprocess.run(["podman", "rm", "-f", name], env=env, capture_output=True)


# The arm64 image, built and run on any machine: natively on arm64, under qemu user emulation
# (binfmt_misc, set up by layer/build_image.py) elsewhere. The handler reports the machine it runs
# on from inside, runs `uname -m` as a child (an arm64 binary exec'd from the runtime, through
# binfmt_misc too), and round-trips through the image's aarch64 orjson.
ARM64_APP = """import platform
import subprocess
import sys

import orjson

from app import report


def handler(event, context):
    out = report(event)
    out["machine"] = platform.machine()
    out["uname_m"] = subprocess.run(["uname", "-m"], capture_output=True, text=True, check=True).stdout.strip()
    out["orjson_roundtrip"] = orjson.loads(orjson.dumps({"text": "h\\u00e9", "n": [1, 2.5]}))
    print("arm64-handler-ran", file=sys.stderr, flush=True)
    return out
"""

# What the RIE itself writes to the container's log: its per-invoke lines on stdout, its own
# "(rapid)" log on stderr. Anything else in the log came from the runtime.
RIE_LINE = re.compile(r"^(START|END|REPORT) RequestId: |^\d\d \w{3} \d{4} [\d:,]+ \[\w+\] \(rapid\) ")


def function_folder(tmp_path: Path, base_tag: str, handler: str, files: dict[str, str]) -> Path:
    """A user's function image folder: tests/packaging/function/app.py and ``files``, and a
    Containerfile FROM the base image under test, copying them to the task root."""
    function = tmp_path / "function"
    function.mkdir()
    shutil.copyfile(HERE / "function" / "app.py", function / "app.py")
    for name, text in files.items():
        (function / name).write_text(text)
    names = " ".join(["app.py", *files])
    (function / "Containerfile").write_text(
        f'FROM {base_tag}\nCOPY {names} ${{LAMBDA_TASK_ROOT}}/\nCMD ["{handler}"]\n'
    )
    return function


def run_as_lambda(tag: str, env: dict[str, str], *options: str) -> tuple[str, str]:
    """``podman run`` the function image detached, as Lambda runs it (read-only root, a writable
    /tmp, Lambda's uid and gid), its RIE on a free loopback port: (container id, invoke URL)."""
    port = free_port()
    run = subprocess.run(
        ["podman", "run", *options, "-d", "--read-only", "--tmpfs", "/tmp", "--user", "993:990",
         "-p", f"127.0.0.1:{port}:8080", tag],
        check=True, env=env, capture_output=True, text=True,
    )  # fmt: skip
    return run.stdout.strip(), f"http://127.0.0.1:{port}/2015-03-31/functions/function/invocations"


def invoke_when_up(url: str, body: bytes, within: float) -> dict[str, object]:
    """POST to the RIE once it listens (under emulation the container takes seconds to start)."""
    deadline = time.monotonic() + within
    while True:
        try:
            with urllib.request.urlopen(urllib.request.Request(url, data=body), timeout=60) as r:
                return dict(json.loads(r.read()))
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


@pytest.mark.slow
def test_arm64_base_image_builds_and_runs_a_function_read_only_as_lambdas_user(tmp_path: Path) -> None:
    """`build_image.py --arch arm64`: the arm64 Debian base (debootstrap, second stage under qemu;
    kept in podman's store like the x86_64 one), the Dockerfile built with `podman build --arch
    arm64` (its RUN steps run under qemu: apt, pip fetching aarch64 wheels, lambdaloop.rie picking
    the arm64 RIE), a function image FROM it, run with `podman run --arch arm64` as Lambda does."""
    sys.path.insert(0, str(ROOT / "layer"))
    try:
        import build_image
    finally:
        sys.path.remove(str(ROOT / "layer"))
    missing = build_image.missing_tools(True, "arm64")
    if missing or os.geteuid() != 0:
        unavailable(
            f"needs root and {', '.join(missing) or 'podman'} "
            "(apt-get install podman buildah runc debootstrap qemu-user-static)"
        )
    if build_image.host_arch() != "arm64":
        try:
            build_image.ensure_binfmt("arm64")
        except (build_image.BuildError, OSError, subprocess.CalledProcessError) as exc:
            unavailable(f"cannot run arm64 binaries in containers (binfmt_misc): {exc}")
    base, _ = build_image.default_tags(build_image.DEFAULT_SUITE, "arm64")
    base_tag = f"localhost/lambdaloop-test-base:arm64-{uuid.uuid4().hex[:8]}"
    build_image.build(base_tag, base, layer_cache=False, arch="arm64")

    function = function_folder(tmp_path, base_tag, "arm64app.handler", {"arm64app.py": ARM64_APP})
    tag = f"localhost/lambdaloop-function-test:arm64-{uuid.uuid4().hex[:8]}"
    env = podman_env()
    container = ""
    try:
        subprocess.run(["podman", "build", "--arch", "arm64", "-q", "-t", tag, "-f", str(function / "Containerfile"),
                        str(function)], check=True, env=env, capture_output=True)  # fmt: skip
        image_arch = build_image.image_arch(tag)
        container, url = run_as_lambda(tag, env, "--arch", "arm64")
        out = invoke_when_up(url, b'{"deps": true}', within=60)
        logs = subprocess.run(["podman", "logs", container], env=env, capture_output=True, text=True)
        rie = subprocess.run(["podman", "run", "--arch", "arm64", "--rm", "--entrypoint", "/bin/sh", tag, "-c",
                              "uname -m; sha256sum /usr/local/bin/aws-lambda-rie"],
                             env=env, capture_output=True, text=True)  # fmt: skip
    finally:
        if container:
            subprocess.run(["podman", "rm", "-f", container], env=env, capture_output=True)
        subprocess.run(["podman", "rmi", "-f", tag, base_tag], env=env, capture_output=True)
    from lambdaloop.rie import RIE_SHA256

    assert image_arch == "arm64"
    assert rie.returncode == 0, rie.stderr
    assert rie.stdout.split()[:2] == ["aarch64", RIE_SHA256["arm64"]], rie.stdout  # the arm64 RIE, not x86_64's
    assert (out["machine"], out["uname_m"]) == ("aarch64", "aarch64"), out
    assert out["orjson_roundtrip"] == {"text": "h\u00e9", "n": [1, 2.5]}
    assert out["lambdaloop"] == "/var/runtime/lambdaloop/__init__.py", out
    assert out["awslambdaric_loaded"] is False
    assert out["executable"] == "/var/lang/bin/python3"
    assert out["handler_env"] == "arm64app.handler"
    assert (out["task_writable"], out["tmp_writable"]) == (False, True)
    deps = out["deps"]
    assert isinstance(deps, dict)
    assert deps["orjson"] == "/var/runtime/orjson/__init__.py"
    assert deps["uvloop"] == "/var/runtime/uvloop/__init__.py"
    assert out["simplejson_speedups"] is True  # simplejson's aarch64 C extension loads
    assert out["execution_env"] == f"AWS_Lambda_python{out['version']}"
    # The runtime's own output reaches the container's log (the handler's line proves it), and it
    # says nothing else: no warning, traceback or qemu complaint from the bootstrap. What remains
    # is the RIE's own lines.
    lines = (logs.stdout + logs.stderr).splitlines()
    assert "arm64-handler-ran" in lines, lines
    runtime_lines = [line for line in lines if line != "arm64-handler-ran" and not RIE_LINE.match(line)]
    assert runtime_lines == [], lines
