"""Build lambdaloop's base image (the repo-root Dockerfile) with podman, without any registry.

    python layer/build_image.py                          # -> localhost/lambdaloop:python3.11
    python layer/build_image.py --suite trixie --tag localhost/lambdaloop:python3.13

The Dockerfile's BASE is made here when missing: `debootstrap --variant=minbase` of a Debian suite
with python3 (bookworm: 3.11, trixie: 3.13) and ca-certificates, imported with `podman import`
(public.ecr.aws and Docker Hub may be out of reach, as on the machines this was built on).
With a registry, pass --base python:3.13-slim-bookworm instead.

Needs root, podman, runc, debootstrap (Debian packages: `apt-get install podman buildah runc
debootstrap`). podman runs with layer/image/containers.conf (runc, lowered ulimits), through
CONTAINERS_CONF, never a system-wide change. The build context is a staged copy holding only what
the Dockerfile copies, so the work tree's .venv and caches are never sent.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IMAGE_DIR = Path(__file__).resolve().parent / "image"
MIRROR = "http://deb.debian.org/debian"
DEFAULT_SUITE = "bookworm"
PYTHON_OF_SUITE = {"bookworm": "3.11", "trixie": "3.13"}


def log(message: str) -> None:
    print(f"image: {message}", file=sys.stderr, flush=True)


def podman_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("CONTAINERS_CONF", str(IMAGE_DIR / "containers.conf"))
    return env


def run(cmd: list[str], **kwargs: object) -> subprocess.CompletedProcess[bytes]:
    log(" ".join(cmd))
    return subprocess.run(cmd, check=True, env=podman_env(), **kwargs)  # type: ignore[call-overload]


def missing_tools(need_debootstrap: bool) -> list[str]:
    tools = ["podman", "runc"] + (["debootstrap"] if need_debootstrap else [])
    return [tool for tool in tools if shutil.which(tool) is None]


def image_exists(name: str) -> bool:
    return subprocess.run(["podman", "image", "exists", name], env=podman_env()).returncode == 0


def make_base(name: str, suite: str, mirror: str) -> None:
    """A Debian rootfs with python3 as a podman image: what `FROM python:3.x-slim` would give."""
    with tempfile.TemporaryDirectory(prefix="lambdaloop-rootfs-") as tmp:
        rootfs = Path(tmp) / "rootfs"
        run(
            ["debootstrap", "--variant=minbase", "--include=python3,ca-certificates", suite, str(rootfs), mirror],
            stdout=subprocess.DEVNULL,
        )
        # apt's caches are not part of a base image.
        shutil.rmtree(rootfs / "var" / "cache" / "apt" / "archives", ignore_errors=True)
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "--numeric-owner", "-c", "."], stdout=subprocess.PIPE)
        try:
            run(["podman", "import", "--change", 'CMD ["/bin/bash"]', "-", name], stdin=tar.stdout)
        finally:
            if tar.stdout:
                tar.stdout.close()
            tar.wait()


def stage_context(where: Path) -> None:
    """Exactly what the Dockerfile COPYs, nothing else."""
    shutil.copyfile(ROOT / "Dockerfile", where / "Dockerfile")
    shutil.copyfile(ROOT / "bootstrap", where / "bootstrap")
    shutil.copytree(
        ROOT / "runtime" / "lambdaloop", where / "runtime" / "lambdaloop", ignore=shutil.ignore_patterns("__pycache__")
    )
    (where / "layer" / "image").mkdir(parents=True)
    for name in ("requirements.txt", "runtime-files.txt"):
        shutil.copyfile(ROOT / "layer" / name, where / "layer" / name)
    for name in ("lambda-entrypoint.sh", "runtime-bootstrap.sh"):
        shutil.copy2(IMAGE_DIR / name, where / "layer" / "image" / name)


def host_ca_bundle() -> str | None:
    """The CA bundle this machine's pip trusts, if it names one (a TLS-intercepting proxy's CA is
    in it): the build's RUN steps that reach PyPI get it as a read-only mount, not a layer."""
    for variable in ("PIP_CERT", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE"):
        path = os.environ.get(variable)
        if path and os.path.isfile(path):
            return path
    return None


def build(
    tag: str,
    base: str,
    suite: str = DEFAULT_SUITE,
    mirror: str = MIRROR,
    rebuild_base: bool = False,
    layer_cache: bool = True,
) -> str:
    """layer_cache=False: no intermediate images are kept (podman's layer cache makes a rebuild
    take seconds, but every changed tree leaves a few hundred MB of them behind)."""
    if base.startswith("localhost/lambdaloop/") and (rebuild_base or not image_exists(base)):
        make_base(base, suite, mirror)
    ca_args: list[str] = []
    if bundle := host_ca_bundle():
        ca_args = [
            "--volume",
            f"{bundle}:/run/lambdaloop-host-ca.crt:ro",
            "--build-arg",
            "PIP_CERT=/run/lambdaloop-host-ca.crt",
        ]
    with tempfile.TemporaryDirectory(prefix="lambdaloop-image-") as tmp:
        stage_context(Path(tmp))
        cmd = ["podman", "build", f"--layers={str(layer_cache).lower()}", "--build-arg", f"BASE={base}", *ca_args]
        cmd += ["-t", tag, "-f", f"{tmp}/Dockerfile", tmp]
        run(cmd)
    return tag


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--suite", default=DEFAULT_SUITE, choices=sorted(PYTHON_OF_SUITE), help="Debian suite")
    parser.add_argument("--base", help="FROM image (default: localhost/lambdaloop/debian-python:SUITE, made here)")
    parser.add_argument("--tag", help="default: localhost/lambdaloop:pythonX.Y of the suite")
    parser.add_argument("--mirror", default=MIRROR)
    parser.add_argument("--rebuild-base", action="store_true", help="debootstrap again even if the base exists")
    args = parser.parse_args(argv)
    base = args.base or f"localhost/lambdaloop/debian-python:{args.suite}"
    tag = args.tag or f"localhost/lambdaloop:python{PYTHON_OF_SUITE[args.suite]}"
    missing = missing_tools(base.startswith("localhost/lambdaloop/"))
    if missing:
        log(f"missing: {', '.join(missing)} (apt-get install podman buildah runc debootstrap)")
        return 2
    if os.geteuid() != 0:
        log("run as root: debootstrap and this machine's podman set-up need it")
        return 2
    print(build(tag, base, args.suite, args.mirror, args.rebuild_base))
    return 0


if __name__ == "__main__":
    sys.exit(main())
