"""Build lambdaloop's Lambda layer: one zip per architecture, reproducibly.

    python layer/build.py --out dist/                      # x86_64 and arm64, Python 3.10-3.14
    python layer/build.py --out dist/ --arch x86_64 --python 3.11
    python layer/build.py --out dist/ --interpreter 3.13=/opt/py313/bin/python3.13
    python layer/build.py --lock                           # re-pin layer/requirements.txt's hashes

Layout of each zip (extracted by Lambda to /opt):

    bootstrap                                  the dual-mode shim (repo-root `bootstrap`), 0755
    python/lambdaloop/...                      the pure-Python runtime (layer/runtime-files.txt), once;
        __pycache__/*.cpython-3XY.pyc          its bytecode per version (PEP 3147 names side by side)
    python/lambdaloop-V.dist-info/METADATA     so importlib.metadata sees the version
    python/lib/python3.X/site-packages/...     orjson, simplejson, uvloop: compiled, per version;
                                               snapshot_restore_py (SnapStart hooks' API), pure

Why this layout: both folders are where AWS's managed runtime (and lambdaloop's bootstrap, which
mirrors it) looks, so the function can `import lambdaloop` (hooks, streaming) on every route; the
compiled wheels are tied to one CPython minor and one architecture and must live per version,
while the pure-Python part is the same for all and ships once (one zip per architecture instead
of ten, and 4x less duplicated source). A runtime only adds its own python3.X folder.

Reproducible: the same inputs (this tree, the pinned wheels, the interpreters used for .pyc, the
zlib) give the same bytes: entries sorted, every timestamp SOURCE_DATE_EPOCH (default 1980-01-01),
permissions fixed (0755 for executables and shared objects, 0644 else), no build paths inside.

Bytecode: Lambda's /opt is read-only, so without shipped .pyc every cold start compiles
lambdaloop again. Shipped .pyc are compiled with `--invalidation-mode unchecked-hash` (never
checked against the source's mtime, which the zip round trip does not keep exactly) and
PYTHONHASHSEED=0 (set and frozenset constants marshal in a fixed order). .pyc are made for each
target version whose interpreter is found (`python3.X` on PATH or --interpreter); the others get
none (they still work, just compile at import), and the report says so; --require-pyc makes that
an error for release builds.
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "runtime" / "lambdaloop"
RUNTIME_FILES = ROOT / "layer" / "runtime-files.txt"
BOOTSTRAP = ROOT / "bootstrap"
REQUIREMENTS = Path(__file__).resolve().parent / "requirements.txt"

PYTHONS = ("3.10", "3.11", "3.12", "3.13", "3.14")
ARCHES = {"x86_64": "x86_64", "arm64": "aarch64"}  # Lambda's name -> the manylinux tag's
# glibc 2.17 wheels only: python3.10/3.11 run on Amazon Linux 2 (glibc 2.26).
PLATFORMS = ("manylinux2014_{m}", "manylinux_2_17_{m}")
# What Lambda allows: function + all its layers unzipped; a zip uploaded directly (else via S3).
UNZIPPED_LIMIT = 250 * 1024 * 1024
ZIPPED_DIRECT_UPLOAD_LIMIT = 50 * 1024 * 1024
# Not needed to run: Cython/C sources (uvloop) and a package's own tests (simplejson).
DEAD_WEIGHT_SUFFIXES = {".pyx", ".pxd", ".pxi", ".c", ".h"}
DEAD_WEIGHT_DIRS = {("simplejson", "tests")}
# Installed under /opt: the runtime paths baked into .pyc (co_filename) must not be build paths.
OPT = "/opt"


def log(message: str) -> None:
    print(f"layer: {message}", file=sys.stderr, flush=True)


def cache_dir() -> Path:
    root = os.environ.get("LAMBDALOOP_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "lambdaloop"
    )
    return Path(root) / "layer-wheels"


def package_version(package: Path = PACKAGE) -> str:
    text = (package / "__init__.py").read_text()
    match = re.search(r'^__version__ = "([^"]+)"', text, re.M)
    if not match:
        raise SystemExit("layer: no __version__ in runtime/lambdaloop/__init__.py")
    return match.group(1)


def pinned() -> list[tuple[str, str]]:
    """(name, version) of each requirement in requirements.txt."""
    return re.findall(r"^([A-Za-z0-9_.-]+)==([^\s\\]+)", REQUIREMENTS.read_text(), re.M)


def pip(*args: str) -> None:
    cmd = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q", *args]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"layer: {' '.join(cmd)} failed:\n{result.stdout}{result.stderr}")


def platform_args(arch: str, version: str) -> list[str]:
    out = []
    for platform in PLATFORMS:
        out += ["--platform", platform.format(m=ARCHES[arch])]
    return [*out, "--python-version", version, "--implementation", "cp", "--only-binary=:all:", "--no-deps"]


def wheels_present(directory: Path, arch: str, version: str) -> bool:
    tag = "cp" + version.replace(".", "")
    for name, ver in pinned():
        stem = f"{name.replace('-', '_')}-{ver}"
        compiled = glob.glob(str(directory / f"{stem}-{tag}-*{ARCHES[arch]}*.whl"))
        if not compiled and not glob.glob(str(directory / f"{stem}-py3-none-any.whl")):  # or pure Python
            return False
    return True


def fetch_wheels(arch: str, version: str) -> Path:
    """The pinned wheels for one target, hash-checked by pip, cached for offline rebuilds."""
    directory = cache_dir()
    directory.mkdir(parents=True, exist_ok=True)
    if not wheels_present(directory, arch, version):
        log(f"downloading wheels for cp{version.replace('.', '')} {arch}")
        requirements = ["--require-hashes", "-r", str(REQUIREMENTS)]
        pip("download", *requirements, "-d", str(directory), *platform_args(arch, version))
    return directory


def install_wheels(arch: str, version: str, target: Path) -> None:
    wheels = fetch_wheels(arch, version)
    # --no-index --find-links: offline, and no direct_url.json (which would hold a local path);
    # --no-compile: bytecode is made below, deterministically, or not at all.
    pip(
        "install", "--require-hashes", "-r", str(REQUIREMENTS), "--no-index", "--find-links", str(wheels),
        "--target", str(target), "--no-compile", "--no-warn-script-location", *platform_args(arch, version),
    )  # fmt: skip
    # pip's REQUESTED marker says nothing to Lambda; build-time sources and test suites are dead
    # weight in a 250 MB budget shared with the function.
    for extra in target.glob("*.dist-info/REQUESTED"):
        extra.unlink()
    shutil.rmtree(target / "bin", ignore_errors=True)
    for path in sorted(target.rglob("*"), reverse=True):
        relative = path.relative_to(target)
        if path.is_file() and path.suffix in DEAD_WEIGHT_SUFFIXES:
            path.unlink()
        elif path.is_dir() and relative.parts in DEAD_WEIGHT_DIRS:
            shutil.rmtree(path)


def strip_tool(arch: str) -> str | None:
    """llvm-strip reads every architecture; binutils' strip only the host's."""
    tool = shutil.which("llvm-strip")
    if tool:
        return tool
    host = {"x86_64": "x86_64", "aarch64": "arm64"}.get(os.uname().machine)
    return shutil.which("strip") if host == arch else None


def strip_debug(tool: str, target: Path) -> None:
    """uvloop's wheels ship their .so with DWARF debug info (16 MB of a 2 MB library): dropped,
    the code and symbols stay. Deterministic for a given strip version."""
    for so in sorted(target.rglob("*.so")):
        result = subprocess.run([tool, "--strip-debug", str(so)], capture_output=True, text=True)
        if result.returncode != 0:
            raise SystemExit(f"layer: {tool} --strip-debug {so} failed: {result.stderr}")


def runtime_files(listing: Path = RUNTIME_FILES) -> list[str]:
    """The runtime's files, relative to runtime/lambdaloop (layer/runtime-files.txt)."""
    lines = (line.strip() for line in listing.read_text().splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def copy_package(dest: Path, package: Path = PACKAGE) -> None:
    """The runtime's part of runtime/lambdaloop, as listed in layer/runtime-files.txt: no emulator,
    CLI, pytest plugin, sample events or RIE downloader in production."""
    for relative in runtime_files():
        source = package / relative
        if not source.is_file():
            raise SystemExit(f"layer: {relative} is listed in {RUNTIME_FILES.name} but not in {package}")
        target = dest / "lambdaloop" / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    version = package_version(package)
    dist_info = dest / f"lambdaloop-{version}.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: lambdaloop\nVersion: {version}\n")


def find_interpreter(version: str, explicit: dict[str, str]) -> str | None:
    if version in explicit:
        candidates = [explicit[version]]
    else:
        # PATH first, then pyenv's builds (its shims answer only for the selected version).
        pyenv = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
        candidates = [f"python{version}", *sorted(glob.glob(f"{pyenv}/versions/{version}.*/bin/python{version}"))]
    for candidate in candidates:
        path = shutil.which(candidate) or (candidate if os.access(candidate, os.X_OK) else None)
        if not path:
            continue
        probe = subprocess.run([path, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"], capture_output=True)
        if probe.stdout.decode().strip() == version:
            return path
        if version in explicit:
            raise SystemExit(f"layer: --interpreter {version}={candidate} is Python {probe.stdout.decode().strip()}")
    return None


def compile_tree(interpreter: str, directory: Path, runtime_path: str) -> None:
    """compileall with unchecked-hash .pyc; the paths baked in are where Lambda puts the files."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["PYTHONHASHSEED"] = "0"
    cmd = [
        interpreter, "-m", "compileall", "-q", "-f", "-r", "100", "--invalidation-mode", "unchecked-hash",
        "-d", runtime_path, str(directory),
    ]  # fmt: skip
    result = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        raise SystemExit(f"layer: {' '.join(cmd)} failed:\n{result.stdout}{result.stderr}")


def source_date() -> tuple[int, int, int, int, int, int]:
    epoch = int(os.environ.get("SOURCE_DATE_EPOCH", "315532800"))  # 1980-01-01, zip's earliest
    return time.gmtime(max(epoch, 315532800))[:6]


def is_executable(relative: str) -> bool:
    return relative == "bootstrap" or relative.startswith(("extensions/", "bin/")) or ".so" in Path(relative).suffixes


def write_zip(stage: Path, out: Path) -> None:
    """Sorted entries, one timestamp, fixed modes, deflate level 9: the same tree -> the same bytes."""
    date = source_date()
    entries = []
    for path in stage.rglob("*"):
        relative = path.relative_to(stage).as_posix()
        entries.append((relative + "/" if path.is_dir() else relative, path))
    entries.sort()
    partial = out.with_suffix(".part")
    with zipfile.ZipFile(partial, "w") as zf:
        for name, path in entries:
            info = zipfile.ZipInfo(name, date)
            info.create_system = 3  # Unix, so external_attr carries the mode
            if name.endswith("/"):
                info.external_attr = (stat.S_IFDIR | 0o755) << 16 | 0x10
                zf.writestr(info, b"")
                continue
            mode = 0o755 if is_executable(name) else 0o644
            info.external_attr = (stat.S_IFREG | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, path.read_bytes(), compresslevel=9)
    partial.replace(out)


@dataclass
class Report:
    arch: str
    zip_path: str
    sha256: str
    zipped_bytes: int
    unzipped_bytes: int
    files: int
    components: dict[str, int] = field(default_factory=dict)
    pyc_versions: list[str] = field(default_factory=list)
    missing_pyc: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    stripped_with: str = ""


def measure(zip_path: Path, arch: str, pyc: list[str], missing: list[str]) -> Report:
    components: dict[str, int] = {}
    unzipped = files = 0
    with zipfile.ZipFile(zip_path) as zf:
        for info in zf.infolist():
            if info.is_dir():
                continue
            files += 1
            unzipped += info.file_size
            parts = info.filename.split("/")
            if parts[0] == "python" and len(parts) > 3 and parts[1] == "lib":
                key = f"python/lib/{parts[2]}"
            elif parts[0] == "python":
                key = "python/lambdaloop" if parts[1].startswith("lambdaloop") else f"python/{parts[1]}"
            else:
                key = parts[0]
            components[key] = components.get(key, 0) + info.file_size
    data = zip_path.read_bytes()
    report = Report(
        arch, str(zip_path), hashlib.sha256(data).hexdigest(), len(data), unzipped, files,
        dict(sorted(components.items())), pyc, missing,
    )  # fmt: skip
    if unzipped > UNZIPPED_LIMIT:
        raise SystemExit(f"layer: {zip_path.name} unzips to {unzipped} bytes, over Lambda's {UNZIPPED_LIMIT}")
    if len(data) > ZIPPED_DIRECT_UPLOAD_LIMIT:
        report.warnings.append("over 50 MB zipped: publish it from S3, not by direct upload")
    if missing:
        report.warnings.append(f"no .pyc for Python {', '.join(missing)} (no interpreter): those compile at import")
    return report


def mib(n: int) -> str:
    return f"{n / 1048576:.2f} MiB"


def print_report(reports: list[Report]) -> None:
    for r in reports:
        print(f"{Path(r.zip_path).name}  sha256 {r.sha256}")
        print(f"  zipped {mib(r.zipped_bytes)}, unzipped {mib(r.unzipped_bytes)} in {r.files} files")
        print(
            f"  Lambda limits: unzipped function + layers <= 250 MiB (this layer uses "
            f"{100 * r.unzipped_bytes / UNZIPPED_LIMIT:.1f}%, leaving {mib(UNZIPPED_LIMIT - r.unzipped_bytes)}); "
            f"direct upload <= 50 MiB zipped ({'ok' if r.zipped_bytes <= ZIPPED_DIRECT_UPLOAD_LIMIT else 'use S3'})"
        )
        for name, size in r.components.items():
            print(f"    {name:40s} {mib(size):>12s}")
        print(f"  .pyc for: {', '.join(r.pyc_versions) or 'none'}; debug info stripped: {r.stripped_with or 'no'}")
        for warning in r.warnings:
            print(f"  warning: {warning}")


def build(
    out: Path,
    arches: list[str],
    versions: list[str],
    interpreters: dict[str, str],
    pyc: bool = True,
    require_pyc: bool = False,
    strip: bool = True,
    package: Path = PACKAGE,
    bootstrap: Path = BOOTSTRAP,
) -> list[Report]:
    """package, bootstrap: what to ship (default: this tree's); tests pass a frozen copy."""
    out.mkdir(parents=True, exist_ok=True)
    version = package_version(package)
    found = {v: find_interpreter(v, interpreters) for v in versions} if pyc else {}
    have = [v for v in versions if found.get(v)]
    missing = [v for v in versions if pyc and not found.get(v)]
    if missing and require_pyc:
        raise SystemExit(f"layer: --require-pyc: no interpreter for Python {', '.join(missing)}")
    reports = []
    with tempfile.TemporaryDirectory(prefix="lambdaloop-layer-") as tmp:
        shared = Path(tmp) / "shared"
        copy_package(shared, package)
        for v in have:
            log(f"compiling lambdaloop for Python {v} with {found[v]}")
            compile_tree(found[v], shared / "lambdaloop", f"{OPT}/python/lambdaloop")
        for arch in arches:
            stage = Path(tmp) / arch
            shutil.copytree(shared, stage / "python")
            shutil.copyfile(bootstrap, stage / "bootstrap")
            for v in versions:
                site = stage / "python" / "lib" / f"python{v}" / "site-packages"
                install_wheels(arch, v, site)
                if tool := (strip_tool(ARCHES[arch]) if strip else None):
                    strip_debug(tool, site)
                if found.get(v):
                    compile_tree(found[v], site, f"{OPT}/python/lib/python{v}/site-packages")
            zip_path = out / f"lambdaloop-layer-{version}-{arch}.zip"
            write_zip(stage, zip_path)
            report = measure(zip_path, arch, have, missing)
            tool = strip_tool(ARCHES[arch]) if strip else None
            report.stripped_with = os.path.basename(tool) if tool else ""
            if strip and not tool:
                report.warnings.append("no llvm-strip: shared objects keep their debug info (uvloop: +14 MB a version)")
            reports.append(report)
    (out / "layer-report.json").write_text(json.dumps([r.__dict__ for r in reports], indent=2, sort_keys=True) + "\n")
    return reports


def relock() -> None:
    """Download every pinned wheel for every target without hash checks and rewrite the hashes."""
    with tempfile.TemporaryDirectory(prefix="lambdaloop-lock-") as tmp:
        specs = [f"{name}=={ver}" for name, ver in pinned()]
        for arch in ARCHES:
            for v in PYTHONS:
                pip("download", *specs, "-d", tmp, *platform_args(arch, v))
        hashes: dict[str, list[str]] = {}
        for wheel in sorted(Path(tmp).glob("*.whl")):
            name = wheel.name.split("-")[0].replace("_", "-").lower()
            hashes.setdefault(name, []).append(hashlib.sha256(wheel.read_bytes()).hexdigest())
    text = REQUIREMENTS.read_text()
    header = "".join(line for line in text.splitlines(keepends=True) if line.startswith("#"))
    body = ""
    for name, ver in pinned():
        digests = sorted(set(hashes[name.lower()]))  # a pure-Python wheel serves every target
        body += f"{name}=={ver} \\\n" + " \\\n".join(f"    --hash=sha256:{d}" for d in digests) + "\n"
    REQUIREMENTS.write_text(header + body)
    log(f"re-pinned {REQUIREMENTS}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "dist", help="where the zips go (default: dist/)")
    parser.add_argument("--arch", action="append", choices=sorted(ARCHES), help="repeatable; default: both")
    parser.add_argument("--python", action="append", choices=PYTHONS, help="repeatable; default: 3.10 to 3.14")
    parser.add_argument(
        "--interpreter", action="append", default=[], metavar="X.Y=PATH", help="interpreter for X.Y's .pyc"
    )
    parser.add_argument("--no-pyc", action="store_true", help="ship sources only")
    parser.add_argument("--require-pyc", action="store_true", help="fail unless every version gets .pyc")
    parser.add_argument("--keep-debug", action="store_true", help="do not strip debug info from shared objects")
    parser.add_argument("--lock", action="store_true", help="re-pin the wheel hashes in requirements.txt")
    args = parser.parse_args(argv)
    if args.lock:
        relock()
        return 0
    interpreters = dict(item.split("=", 1) for item in args.interpreter)
    reports = build(
        args.out.resolve(), args.arch or list(ARCHES), args.python or list(PYTHONS), interpreters,
        not args.no_pyc, args.require_pyc, not args.keep_debug,
    )  # fmt: skip
    print_report(reports)
    return 0


if __name__ == "__main__":
    sys.exit(main())
