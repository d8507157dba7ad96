"""Build lambdaloop's base image (the repo-root Dockerfile) with podman, without any registry.

    python layer/build_image.py                          # -> localhost/lambdaloop:python3.11
    python layer/build_image.py --suite trixie --tag localhost/lambdaloop:python3.13
    python layer/build_image.py --arch arm64             # -> localhost/lambdaloop:python3.11-arm64

The Dockerfile's BASE is made here when missing: `debootstrap --variant=minbase` of a Debian suite
with python3 (bookworm: 3.11, trixie: 3.13) and ca-certificates, imported with `podman import`
(public.ecr.aws and Docker Hub may be out of reach, as on the machines this was built on).
With a registry, pass --base python:3.13-slim-bookworm instead.

--arch builds for the other architecture (default: this machine's). The image of a foreign
architecture gets the architecture in its tag (as AWS's python:3.11-arm64), so it never takes the
native image's name: podman's local store resolves FROM by name, not by architecture. Its RUN steps
(debootstrap's second stage, apt, pip) run under qemu user emulation, which binfmt_misc must route
into containers: ensure_binfmt() mounts it and registers qemu with the F flag when needed.

Needs root, podman, runc, debootstrap (Debian packages: `apt-get install podman buildah runc
debootstrap`). podman runs with layer/image/containers.conf (runc, lowered ulimits), through
CONTAINERS_CONF, never a system-wide change. The build context is a staged copy holding only what
the Dockerfile copies, so the work tree's .venv and caches are never sent.
"""

from __future__ import annotations

import argparse
import os
import platform
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
# Lambda's architecture names -> Debian's and the OCI image's (the same words for both), and
# the machine name qemu and binfmt_misc use.
DEBIAN_ARCH = {"x86_64": "amd64", "arm64": "arm64"}
QEMU_ARCH = {"x86_64": "x86_64", "arm64": "aarch64"}
# ELF e_machine, little-endian, as binfmt_misc shows it in an entry's magic (bytes 18-19).
ELF_MACHINE = {"x86_64": "3e00", "arm64": "b700"}
BINFMT = Path("/proc/sys/fs/binfmt_misc")
# Where qemu-user-static packages keep their binfmt_misc registrations (systemd-binfmt's format,
# which is also the kernel's register format): Debian/Ubuntu, then Fedora's file names.
BINFMT_CONFS = ("/usr/lib/binfmt.d/qemu-{m}.conf", "/usr/lib/binfmt.d/qemu-{m}-static.conf")


class BuildError(RuntimeError):
    pass


# Architectures ensure_binfmt() has checked in this process: build() and make_base() both ask.
_BINFMT_READY: set[str] = set()


def log(message: str) -> None:
    print(f"image: {message}", file=sys.stderr, flush=True)


def podman_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("CONTAINERS_CONF", str(IMAGE_DIR / "containers.conf"))
    return env


def run(cmd: list[str], **kwargs: object) -> subprocess.CompletedProcess[bytes]:
    log(" ".join(cmd))
    return subprocess.run(cmd, check=True, env=podman_env(), **kwargs)  # type: ignore[call-overload]


def host_arch() -> str:
    machine = platform.machine().lower()
    return {"amd64": "x86_64", "aarch64": "arm64"}.get(machine, machine)


def missing_tools(need_debootstrap: bool, arch: str | None = None) -> list[str]:
    tools = ["podman", "runc"] + (["debootstrap"] if need_debootstrap else [])
    if arch and arch != host_arch():
        tools.append(f"qemu-{QEMU_ARCH[arch]}-static")
    return [tool for tool in tools if shutil.which(tool) is None]


def binfmt_entry(arch: str) -> tuple[str, str] | None:
    """(name, flags) of the enabled binfmt_misc entry for arch's 64-bit ELF binaries, if any: by
    its magic, whatever its name or interpreter path (Debian's is .../qemu-binfmt/aarch64-binfmt-P)."""
    for entry in sorted(BINFMT.iterdir()):
        if entry.name in ("register", "status"):
            continue
        try:
            text = entry.read_text()
        except OSError:
            continue
        fields = dict(line.split(" ", 1) for line in text.splitlines() if " " in line)
        magic = fields.get("magic", "")
        if text.startswith("enabled") and magic.startswith("7f454c4602") and magic[36:40] == ELF_MACHINE[arch]:
            return entry.name, fields.get("flags:", "")
    return None


def ensure_binfmt(arch: str) -> None:
    """Make this kernel run arch's binaries through qemu, inside containers too. Idempotent.

    A container's root has no qemu in it: the registration must carry the F (fix-binary) flag,
    which makes the kernel open the interpreter once, at registration, from the host's root.
    No systemd (systemd-binfmt) and no binfmt-support: the mount and the register file only.
    """
    if arch in _BINFMT_READY:
        return
    qemu_arch = QEMU_ARCH[arch]
    if not (BINFMT / "register").exists():
        run(["mount", "-t", "binfmt_misc", "binfmt_misc", str(BINFMT)])
        log(f"binfmt: mounted binfmt_misc on {BINFMT} (it was not mounted)")
    if (BINFMT / "status").read_text().strip() != "enabled":
        raise BuildError(f"binfmt: {BINFMT}/status says disabled; `echo 1 > {BINFMT}/status` to enable it")
    found = binfmt_entry(arch)
    if found and "F" in found[1]:
        log(f"binfmt: {found[0]} already registered (flags {found[1]}): nothing to do")
        _BINFMT_READY.add(arch)
        return
    if found:
        # Enabled without F: works on the host, fails in a container ("exec format error" or
        # "no such file"): replaced by the packaged registration, which has F.
        (BINFMT / found[0]).write_text("-1")
        log(f"binfmt: removed {found[0]} (flags {found[1] or 'none'}: no F, qemu unreachable from containers)")
    confs = [Path(c.format(m=qemu_arch)) for c in BINFMT_CONFS]
    conf = next((c for c in confs if c.is_file()), None)
    if conf is None:
        raise BuildError(
            f"binfmt: no {' or '.join(map(str, confs))}: install qemu-user-static "
            "(Debian: apt-get install qemu-user-static)"
        )
    line = next(x for x in conf.read_text().splitlines() if x.startswith(":"))
    name, flags = line.split(":")[1], line.rstrip().split(":")[-1]
    if "F" not in flags:
        line = line.rstrip() + "F"
    # One write() per registration: the kernel parses each write as a whole entry.
    (BINFMT / "register").write_text(line)
    found = binfmt_entry(arch)
    if not found or "F" not in found[1]:
        raise BuildError(f"binfmt: registering {name} from {conf} did not take: {found}")
    log(f"binfmt: registered {found[0]} from {conf} (flags {found[1]})")
    _BINFMT_READY.add(arch)


def image_exists(name: str) -> bool:
    return subprocess.run(["podman", "image", "exists", name], env=podman_env()).returncode == 0


def image_arch(name: str) -> str | None:
    """The architecture an image says it is for (OCI's word: amd64, arm64), None if absent."""
    result = subprocess.run(
        ["podman", "image", "inspect", "--format", "{{.Architecture}}", name],
        env=podman_env(), capture_output=True, text=True,
    )  # fmt: skip
    return result.stdout.strip() if result.returncode == 0 else None


def make_base(name: str, suite: str, mirror: str, arch: str | None = None) -> None:
    """A Debian rootfs with python3 as a podman image: what `FROM python:3.x-slim` would give.

    For a foreign arch, debootstrap's second stage (dpkg configuring every package) runs the
    target's binaries in a chroot: through qemu, which ensure_binfmt() routes there."""
    arch = arch or host_arch()
    if arch != host_arch():
        ensure_binfmt(arch)
    with tempfile.TemporaryDirectory(prefix="lambdaloop-rootfs-") as tmp:
        rootfs = Path(tmp) / "rootfs"
        run(
            ["debootstrap", f"--arch={DEBIAN_ARCH[arch]}", "--variant=minbase", "--include=python3,ca-certificates",
             suite, str(rootfs), mirror],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        # apt's caches are not part of a base image.
        shutil.rmtree(rootfs / "var" / "cache" / "apt" / "archives", ignore_errors=True)
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "--numeric-owner", "-c", "."], stdout=subprocess.PIPE)
        try:
            # --arch: podman import would record the host's architecture, and `podman build
            # --arch arm64` would then refuse this base (or look for it in a registry).
            cmd = ["podman", "import", "--arch", DEBIAN_ARCH[arch], "--change", 'CMD ["/bin/bash"]', "-", name]
            run(cmd, stdin=tar.stdout)
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


def default_tags(suite: str, arch: str) -> tuple[str, str]:
    """(base, image) tags: the host's architecture keeps the plain names users write FROM; another
    gets a -ARCH suffix, as AWS's public.ecr.aws/lambda/python:3.11-arm64 does."""
    suffix = "" if arch == host_arch() else f"-{arch}"
    return (
        f"localhost/lambdaloop/debian-python:{suite}{suffix}",
        f"localhost/lambdaloop:python{PYTHON_OF_SUITE[suite]}{suffix}",
    )


def build(
    tag: str,
    base: str,
    suite: str = DEFAULT_SUITE,
    mirror: str = MIRROR,
    rebuild_base: bool = False,
    layer_cache: bool = True,
    arch: str | None = None,
) -> str:
    """layer_cache=False: no intermediate images are kept (podman's layer cache makes a rebuild
    take seconds, but every changed tree leaves a few hundred MB of them behind)."""
    arch = arch or host_arch()
    if arch != host_arch():
        ensure_binfmt(arch)  # the Dockerfile's RUN steps execute the target's binaries
    if base.startswith("localhost/lambdaloop/") and (rebuild_base or image_arch(base) != DEBIAN_ARCH[arch]):
        if image_exists(base):
            log(f"{base} is for {image_arch(base)}, not {DEBIAN_ARCH[arch]}: made again")
        make_base(base, suite, mirror, arch)
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
        cmd = ["podman", "build", f"--arch={DEBIAN_ARCH[arch]}", f"--layers={str(layer_cache).lower()}"]
        cmd += ["--build-arg", f"BASE={base}", *ca_args, "-t", tag, "-f", f"{tmp}/Dockerfile", tmp]
        run(cmd)
    return tag


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--suite", default=DEFAULT_SUITE, choices=sorted(PYTHON_OF_SUITE), help="Debian suite")
    parser.add_argument(
        "--arch", default=host_arch(), choices=sorted(DEBIAN_ARCH), help="target architecture (default: this machine's)"
    )
    parser.add_argument(
        "--base", help="FROM image (default: localhost/lambdaloop/debian-python:SUITE[-ARCH], made here)"
    )
    parser.add_argument(
        "--tag", help="default: localhost/lambdaloop:pythonX.Y of the suite, -ARCH if not this machine's"
    )
    parser.add_argument("--mirror", default=MIRROR)
    parser.add_argument("--rebuild-base", action="store_true", help="debootstrap again even if the base exists")
    args = parser.parse_args(argv)
    default_base, default_tag = default_tags(args.suite, args.arch)
    base = args.base or default_base
    tag = args.tag or default_tag
    missing = missing_tools(base.startswith("localhost/lambdaloop/"), args.arch)
    if missing:
        log(f"missing: {', '.join(missing)} (apt-get install podman buildah runc debootstrap qemu-user-static)")
        return 2
    if os.geteuid() != 0:
        log("run as root: debootstrap, binfmt_misc and this machine's podman set-up need it")
        return 2
    try:
        print(build(tag, base, args.suite, args.mirror, args.rebuild_base, arch=args.arch))
    except BuildError as exc:
        log(str(exc))
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
