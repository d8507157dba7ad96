"""A Lambda-like file system for one run of AWS's RIE, in a private mount namespace.

What the function sees, as on Lambda: the layer at /opt (read-only), the function at /var/task
(read-only), for a managed runtime AWS's interpreter at /var/lang/bin/python3.X and its
/var/runtime (read-only), a fresh writable /tmp, and nothing else writable: the rest of the host's
root is remounted read-only inside the namespace. The host's /usr stays visible (it plays the
Amazon Linux userland: /bin/sh, bash, curl, the system python3 that plays "python3 on PATH").

Why a mount namespace and not environment variables: the runtime hard-codes /opt/python,
/var/lang/lib/..., /var/task and the RIE /opt/bootstrap and /opt/extensions; only the real
paths test those. `unshare -m` needs root; the tests skip otherwise (fail in CI, see `unavailable`).
The network is the host's: the RIE listens on 127.0.0.1 only.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from types import ModuleType
from typing import NoReturn

import pytest
from procs import descendants, free_port, wait_process_listening

ROOT = Path(__file__).resolve().parents[2]

# Why the namespace tests cannot run here: used as their skip reason.
NOT_ROOT = "needs root for `unshare -m` (a private mount namespace with Lambda's /opt, /var/task, /tmp)"

# CI=true (what CI runners set, and what .ci/run is run with): a test that cannot run for want of a
# tool (root, podman, runc, debootstrap, the RIE, SAM CLI) fails. A skip would turn a broken
# install step green; developers without root or podman still get skips outside CI.
STRICT = os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def unavailable(reason: str) -> NoReturn:
    """Skip for want of a tool; in CI, fail instead."""
    if STRICT:
        pytest.fail(f"{reason} [CI=true: a missing tool fails the test instead of skipping it]", pytrace=False)
    pytest.skip(reason)


def can_unshare() -> bool:
    return os.geteuid() == 0 and shutil.which("unshare") is not None


def load_build_module() -> ModuleType:
    """layer/build.py as a module (it is a script, not part of the package)."""
    spec = importlib.util.spec_from_file_location("lambdaloop_layer_build", ROOT / "layer" / "build.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


# The managed Python runtime's environment (aws-lambda-base-images Dockerfile.python3.x).
AWS_PATH = "/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin"
AWS_LD_LIBRARY_PATH = "/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib"

# Runs as root in the new mount namespace, then becomes the RIE (same pid: nothing to reap).
MOUNT_SCRIPT = r"""
set -eu
root=$1 lang_python=$2 version=$3 tools=$4 rie=$5
shift 5
# The function's PATH is restored just before the RIE starts; the set-up needs the host's.
function_path=${PATH-}
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
mount --make-rprivate /
mount -t tmpfs -o mode=0755 lambda-var /var
mkdir -p /var/task /var/runtime /var/lang/bin /var/sandbox-bin
mount --bind "$root/task" /var/task
mount -o remount,bind,ro /var/task
if [ -d "$root/runtime" ]; then
    mount --bind "$root/runtime" /var/runtime
    mount -o remount,bind,ro /var/runtime
fi
if [ -n "$lang_python" ]; then
    ln -s "$lang_python" "/var/lang/bin/python$version"
    ln -s "python$version" /var/lang/bin/python3
fi
for tool in $tools; do
    ln -s "$(command -v "$tool")" "/var/sandbox-bin/$tool"
done
# The RIE is bound in, not run from where it is cached: that may be under /tmp (HOME=/tmp/...),
# which the fresh /tmp below hides.
mkdir /var/rie
touch /var/rie/aws-lambda-rie
mount --bind "$rie" /var/rie/aws-lambda-rie
mount -o remount,ro /var
mount --bind "$root/opt" /opt
mount -o remount,bind,ro /opt
mount -o remount,bind,ro /
mount -t tmpfs -o mode=1777 lambda-tmp /tmp
cd /var/task
export PATH="$function_path"
exec "$@"
"""


def aws_python_bootstrap(version: str) -> str:
    """/var/runtime/bootstrap of the managed python3.X runtime (the wrapper-aware script)."""
    return f"""#!/bin/bash
export AWS_EXECUTION_ENV=AWS_Lambda_python{version}
if [ -z "$AWS_LAMBDA_EXEC_WRAPPER" ]; then
  exec /var/lang/bin/python{version} /var/runtime/bootstrap.py
else
  wrapper="$AWS_LAMBDA_EXEC_WRAPPER"
  if [ ! -f "$wrapper" ]; then
    echo "$wrapper: does not exist"
    exit 127
  fi
  if [ ! -x "$wrapper" ]; then
    echo "$wrapper: is not an executable"
    exit 126
  fi
    exec -- "$wrapper" /var/lang/bin/python{version} /var/runtime/bootstrap.py
fi
"""


# What AWS's /var/runtime/bootstrap.py does, shortened: sys.path, then awslambdaric.
AWS_BOOTSTRAP_PY = """import os, sys
sys.path.insert(0, os.environ["LAMBDA_TASK_ROOT"])
import awslambdaric.__main__ as awslambdaricmain
awslambdaricmain.main([os.environ["LAMBDA_TASK_ROOT"], os.environ["_HANDLER"]])
"""

# Where awslambdaric cannot run (no build of it for that interpreter), the stand-in fails loudly:
# an invoke that reaches it did not go through lambdaloop.
STANDIN_BOOTSTRAP_PY = """import sys
sys.stderr.write("AWS-RUNTIME-STANDIN: the managed runtime's own bootstrap.py ran\\n")
sys.exit(3)
"""


def write_executable(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o755)


class LambdaSandbox:
    """One RIE in one Lambda-like root. Use as a context manager: every process ends on exit."""

    def __init__(
        self,
        root: Path,
        rie: Path,
        env: dict[str, str],
        command: list[str] | None = None,
        lang_python: str = "",
        version: str = "",
        tools: tuple[str, ...] = (),
    ) -> None:
        self.root = root
        self.rie = rie
        self.env = env
        self.command = command or []
        self.lang_python = lang_python
        self.version = version
        self.tools = tools
        self.port = free_port()
        self.api_port = free_port()
        self.log_path = root / "rie.log"
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> LambdaSandbox:
        rie_cmd = [
            "/var/rie/aws-lambda-rie", "--log-level", "info",
            "--runtime-interface-emulator-address", f"127.0.0.1:{self.port}",
            "--runtime-api-address", f"127.0.0.1:{self.api_port}",
            *self.command,
        ]  # fmt: skip
        cmd = [
            shutil.which("unshare") or "/usr/bin/unshare", "--mount", "--propagation", "private",
            "/bin/sh", "-c", MOUNT_SCRIPT, "lambda-sandbox",
            str(self.root), self.lang_python, self.version, " ".join(self.tools), str(self.rie), *rie_cmd,
        ]  # fmt: skip
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(cmd, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        try:
            self._wait_listening()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _wait_listening(self, timeout: float = 10.0) -> None:
        assert self.process is not None
        wait_process_listening(self.process, self.port, timeout, logs=self.logs)

    def invoke(self, payload: bytes = b"{}", timeout: float = 30.0) -> tuple[int, bytes]:
        url = f"http://127.0.0.1:{self.port}/2015-03-31/functions/function/invocations"
        request = urllib.request.Request(url, data=payload, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def logs(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def __exit__(self, *exc: object) -> None:
        process = self.process
        if process is None:
            return
        below = descendants(process.pid)
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        for pid in below + descendants(process.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def copy_awslambdaric(site_packages: Path, runtime_dir: Path) -> None:
    """awslambdaric 4.2.2 and what it imports, from the dev venv, as /var/runtime holds them."""
    # runtime_client*.so: awslambdaric's C++ client is a top-level extension module.
    names = ["awslambdaric", "simplejson", "snapshot_restore_py.py"]
    names += [p.name for p in site_packages.glob("runtime_client*.so")]
    for name in names:
        source = site_packages / name
        if source.is_dir():
            shutil.copytree(source, runtime_dir / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copyfile(source, runtime_dir / name)
