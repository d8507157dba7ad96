"""``lambdaloop package``, start to end: read, install, prune, merge, compile, check, zip, report."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from . import PackageError
from .bytecode import compile_tree, find_interpreter
from .report import Report, measure, mib
from .requirements import read_requirements
from .targets import UNZIPPED_LIMIT, ZIPPED_DIRECT_UPLOAD_LIMIT, Target
from .tree import Dropped, files_under, merge_project, project_files, prune_dependencies
from .wheels import install_requirements
from .zipwriter import write_zip

# The runtime's own modules, for --with-runtime: everything but the tooling (CLI, emulator, this
# packager, the profiler, the pytest plugin, the RIE fetcher, the sample events).
TOOLING = {"cli.py", "emulator", "events", "package", "profile", "pytest_plugin.py", "rie.py", "__pycache__"}


def default_out(project: Path, target: Target) -> Path:
    return Path.cwd() / f"{project.resolve().name}-{target.arch}-py{target.python}.zip"


def build(
    project: Path,
    target: Target,
    out: Path,
    with_runtime: bool = False,
    pyc: bool = True,
    progress: Callable[[str], None] = lambda message: None,
) -> Report:
    project = project.resolve()
    out = out.resolve()
    if not project.is_dir():
        raise PackageError(f"{project} is not a folder")
    if not out.parent.is_dir():
        raise PackageError(f"cannot write {out}: {out.parent} is not a folder")
    dropped = Dropped()
    files = project_files(project, dropped, exclude={out})
    if not files:
        raise PackageError(f"{project} has no files to package")
    with tempfile.TemporaryDirectory(prefix="lambdaloop-package-") as tmp:
        scratch = Path(tmp)
        requirements = read_requirements(project, scratch)
        report = Report(str(out), target.describe(), requirements.describe(), dropped=dropped)
        stage = scratch / "stage"
        progress(f"installing {requirements.source or 'nothing'} for {target.describe()}")
        install_requirements(requirements, target, stage)
        prune_dependencies(stage, dropped)
        replaced = merge_project(project, files, stage)
        if replaced:
            shown = ", ".join(replaced[:5]) + (" ..." if len(replaced) > 5 else "")
            report.warnings.append(f"the project's own files replaced files of its dependencies: {shown}")
        if with_runtime:
            add_runtime(stage)
        report.pyc = compile_for_target(stage, target, pyc, report, progress)
        check_unzipped_size(stage)
        progress(f"writing {out.name}")
        write_zip(stage, out)
    measure(out, report)
    if report.zipped_bytes > ZIPPED_DIRECT_UPLOAD_LIMIT:
        report.warnings.append(
            f"{mib(report.zipped_bytes)} zipped is over Lambda's 50 MiB direct upload limit: upload it through S3"
        )
    return report


def compile_for_target(stage: Path, target: Target, pyc: bool, report: Report, progress: Callable[[str], None]) -> str:
    if not pyc:
        return "none (--no-pyc): every cold start compiles the modules it imports"
    interpreter = find_interpreter(target.python)
    if interpreter is None:
        report.warnings.append(
            f"no Python {target.python} interpreter here (python{target.python} on PATH or pyenv): "
            f"shipped without .pyc, so every cold start on Lambda's read-only /var/task compiles what it imports"
        )
        return f"none: no Python {target.python} interpreter found here"
    progress(f"compiling .pyc with {interpreter}")
    failed = compile_tree(interpreter, stage)
    if failed:
        shown = ", ".join(failed[:5]) + (" ..." if len(failed) > 5 else "")
        report.warnings.append(f"{len(failed)} files do not compile on Python {target.python}: {shown}")
    return f"Python {target.python}, unchecked-hash ({interpreter})"


def check_unzipped_size(stage: Path) -> None:
    """Before the zip is written: a function over 250 MiB unzipped cannot be deployed at all."""
    total = 0
    for dirpath, _, filenames in os.walk(stage):
        for name in filenames:
            total += os.stat(os.path.join(dirpath, name)).st_size
    if total > UNZIPPED_LIMIT:
        sizes: dict[str, int] = {}
        for entry in stage.iterdir():
            sizes[entry.name] = files_under(entry)[1]
        largest = ", ".join(f"{name} {mib(size)}" for name, size in sorted(sizes.items(), key=lambda i: -i[1])[:5])
        raise PackageError(
            f"the function unzips to {mib(total)}, over Lambda's 250 MiB limit for a function and its "
            f"layers: no zip written. Largest: {largest}. Move big dependencies to a layer or use a container image"
        )


def runtime_sources() -> tuple[Path, Path]:
    """The installed lambdaloop package and the bootstrap beside its source tree."""
    package = Path(__file__).resolve().parents[1]
    bootstrap = package.parents[1] / "bootstrap"
    if not bootstrap.is_file():
        raise PackageError(
            "--with-runtime needs lambdaloop's bootstrap script, which is in its source tree "
            f"(not found at {bootstrap}); install lambdaloop from a checkout, or use the layer"
        )
    return package, bootstrap


def add_runtime(stage: Path) -> None:
    """lambdaloop's runtime at the zip's root, and its bootstrap as /var/task/bootstrap: what
    provided.al2023 runs first (and what AWS_LAMBDA_EXEC_WRAPPER=/var/task/bootstrap can name)."""
    package, bootstrap = runtime_sources()
    if (stage / "lambdaloop").exists() or (stage / "bootstrap").exists():
        raise PackageError("--with-runtime: the project already has a lambdaloop package or a bootstrap file")

    def tooling(directory: str, names: list[str]) -> list[str]:
        top = Path(directory) == package
        return [n for n in names if n == "__pycache__" or (top and n in TOOLING)]

    shutil.copytree(package, stage / "lambdaloop", ignore=tooling)
    shutil.copy(bootstrap, stage / "bootstrap")
    (stage / "bootstrap").chmod(0o755)
