"""SAM CLI and a container engine for it, for test_packaging_sam.py: no Docker daemon, no registry.

- `ensure_sam()`: the real `sam` (aws-sam-cli, lambdaloop.rie.SAM_CLI_VERSION) in its own venv under
  ~/.cache/lambdaloop (LAMBDALOOP_CACHE), installed once from sam-cli-requirements.txt: every file
  hash-pinned, wheels only. Not the project's venv: SAM's ~80 pinned packages (boto3, click,
  flask, ...) would then be pinned for every developer and for the compat suite.
- `PodmanEngine`: podman's Docker-compatible API on a private socket (what SAM's docker SDK talks
  to through DOCKER_HOST) over a private image store in a scratch directory. Private because the
  test tags look-alikes of AWS's images (`public.ecr.aws/lambda/python:3.11-x86_64`): in the
  system store they would shadow, then delete, a developer's real ones, and race with another run.
  Everything it started or stored is gone after `close()`.

podman 4.3 on Debian 12 on this machine kind needs runc and lowered ulimits: crun fails with
`error setting rlimit type 7` (layer/image/containers.conf).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from lambda_sandbox import ROOT

HERE = Path(__file__).resolve().parent
LOCK_FILE = HERE / "sam-cli-requirements.txt"
CONTAINERS_CONF = ROOT / "layer" / "image" / "containers.conf"


class SamUnavailable(RuntimeError):
    pass


def sam_cli_version() -> str:
    from lambdaloop.rie import SAM_CLI_VERSION

    return SAM_CLI_VERSION


def sam_venv_dir() -> Path:
    from lambdaloop.rie import cache_dir

    # Per interpreter minor: a venv is tied to the Python that made it.
    return cache_dir() / f"sam-cli-{sam_cli_version()}-py{sys.version_info[0]}.{sys.version_info[1]}"


def ensure_sam() -> Path:
    """Path of a working `sam`, installing it the first time (about 25 s) or when the lock changed."""
    venv = sam_venv_dir()
    sam = venv / "bin" / "sam"
    want = hashlib.sha256(LOCK_FILE.read_bytes()).hexdigest()
    stamp = venv / ".lambdaloop-lock-sha256"
    venv.parent.mkdir(parents=True, exist_ok=True)
    # Two test runs at once (two developers' sessions, xdist) must not build one venv together.
    with open(venv.parent / f".{venv.name}.lock", "w") as guard:
        fcntl.flock(guard, fcntl.LOCK_EX)
        if not (stamp.is_file() and stamp.read_text() == want and sam.is_file()):
            shutil.rmtree(venv, ignore_errors=True)
            steps = [
                [sys.executable, "-m", "venv", str(venv)],
                # --no-deps: the lock names every package (with markers); --only-binary: nothing
                # is built, so the hashes pinned are the only bytes that can land.
                [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                 "--require-hashes", "--only-binary=:all:", "--no-deps", "-r", str(LOCK_FILE)],
            ]  # fmt: skip
            for cmd in steps:
                result = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
                if result.returncode != 0:
                    shutil.rmtree(venv, ignore_errors=True)
                    noise = "WARNING: Location"  # pip's complaints about this machine's find-links
                    errors = "\n".join(line for line in result.stderr.splitlines() if noise not in line)
                    raise SamUnavailable(f"{' '.join(cmd)} failed:\n{errors[-3000:]}")
            stamp.write_text(want)
    version = subprocess.run([str(sam), "--version"], capture_output=True, text=True, timeout=120)
    if version.returncode != 0 or sam_cli_version() not in version.stdout:
        raise SamUnavailable(f"{sam} --version: {version.stdout}{version.stderr}")
    return sam


class _UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: str) -> None:
        super().__init__("localhost", timeout=5)
        self.unix_path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(5)
        sock.connect(self.unix_path)
        self.sock = sock


class PodmanEngine:
    """podman with a private store (`--root`, `--runroot`, `--tmpdir` under `workdir`), and its
    Docker API service on `workdir/podman.sock` once `start()` ran. Use as a context manager."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.socket = workdir / "podman.sock"
        self.service: subprocess.Popen[bytes] | None = None
        self.service_log = workdir / "podman-service.log"
        # The socket path must fit sockaddr_un (108 bytes).
        if len(str(self.socket)) > 100:
            raise ValueError(f"{self.socket}: too long for a unix socket path")

    @property
    def docker_host(self) -> str:
        return f"unix://{self.socket}"

    def env(self) -> dict[str, str]:
        return {**os.environ, "CONTAINERS_CONF": str(CONTAINERS_CONF)}

    def base_cmd(self) -> list[str]:
        store = self.workdir / "store"
        return [
            "podman", "--root", str(store / "root"), "--runroot", str(store / "run"),
            "--tmpdir", str(store / "tmp"),
        ]  # fmt: skip

    def podman(self, *args: str, timeout: float = 300, **kwargs: object) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [*self.base_cmd(), *args], env=self.env(), capture_output=True, text=True, timeout=timeout, **kwargs
        )  # type: ignore[call-overload]
        if result.returncode != 0:
            raise RuntimeError(f"podman {' '.join(args)} failed ({result.returncode}):\n{result.stderr[-3000:]}")
        return result  # type: ignore[no-any-return]

    def load_from_system_store(self, image: str) -> None:
        """Copy an image from root's usual store (where layer/build_image.py caches the Debian base)."""
        save = subprocess.Popen(["podman", "save", image], stdout=subprocess.PIPE, env=self.env())
        try:
            load = subprocess.run(
                [*self.base_cmd(), "load", "-q"], stdin=save.stdout, env=self.env(), capture_output=True, timeout=300
            )
        finally:
            if save.stdout:
                save.stdout.close()
            save.wait(timeout=60)
        if save.returncode != 0 or load.returncode != 0:
            raise RuntimeError(f"podman save {image} | podman load failed: {load.stderr.decode()[-2000:]}")

    def start(self, timeout: float = 30) -> None:
        cmd = [*self.base_cmd(), "system", "service", "--time=0", self.docker_host]
        with open(self.service_log, "wb") as log:
            # Its own process group: the service's helpers are ended with it.
            self.service = subprocess.Popen(
                cmd, env=self.env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + timeout
        while True:
            if self.service.poll() is not None:
                raise RuntimeError(f"podman system service exited: {self.service_log.read_text()[-2000:]}")
            with contextlib.suppress(OSError, http.client.HTTPException):
                connection = _UnixHTTPConnection(str(self.socket))
                connection.request("GET", "/_ping")
                if connection.getresponse().status == 200:
                    connection.close()
                    return
            if time.monotonic() > deadline:
                raise RuntimeError(f"podman's API did not answer on {self.socket} within {timeout}s")
            time.sleep(0.1)

    def close(self) -> None:
        service, self.service = self.service, None
        if service is not None and service.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(service.pid, signal.SIGTERM)
            try:
                service.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(service.pid, signal.SIGKILL)
                service.wait(timeout=15)
        # Containers first (SAM removes its own; a failed run may not have), then the images,
        # which unmounts their overlays; anything still mounted below workdir is detached so the
        # directory can go. Not `podman system reset`: it also deletes the host's CNI networks.
        if (self.workdir / "store" / "root").exists():
            for args in (("rm", "-af", "-t", "0"), ("rmi", "-af")):
                with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
                    self.podman(*args, timeout=120)
        for mountpoint in sorted(self._mounts_below(), reverse=True):
            subprocess.run(["umount", "-l", mountpoint], capture_output=True)
        shutil.rmtree(self.workdir / "store", ignore_errors=True)
        with contextlib.suppress(FileNotFoundError):
            self.socket.unlink()

    def _mounts_below(self) -> list[str]:
        prefix = str(self.workdir) + "/"
        with open("/proc/self/mounts") as f:
            points = [line.split()[1].replace("\\040", " ") for line in f]
        return [p for p in points if p.startswith(prefix)]

    def __enter__(self) -> PodmanEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
