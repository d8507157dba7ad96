"""What goes into the zip and what is dropped: caches, tests, build leftovers, tooling.

Two trees with different rules. The project (the user's folder): version control, virtualenvs,
caches, build outputs and top-level test folders are not part of the function. The installed
dependencies: console scripts (their shebangs point at this machine's Python), pip's install
markers and test suites inside packages (pandas ships 30+ MiB of them) are dead weight in
Lambda's 250 MiB. Anything else is kept, byte for byte.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

# Anywhere in the project: never code the function runs.
PROJECT_DROP_DIRS = {
    "__pycache__": "caches", ".pytest_cache": "caches", ".mypy_cache": "caches", ".ruff_cache": "caches",
    ".hypothesis": "caches", ".tox": "caches", ".nox": "caches",
    ".git": "version control", ".hg": "version control", ".svn": "version control",
    ".venv": "virtualenvs", "venv": "virtualenvs",
    ".idea": "editor settings", ".vscode": "editor settings",
    ".aws-sam": "build leftovers", "build": "build leftovers", "dist": "build leftovers", "htmlcov": "caches",
    "node_modules": "build leftovers",
}  # fmt: skip
# Only at the project's top level: a package of the function may well be called "test".
PROJECT_DROP_TOP_DIRS = {"tests": "tests", "test": "tests"}
PROJECT_DROP_FILES = {".DS_Store": "caches", ".coverage": "caches"}
CACHE_SUFFIXES = {".pyc": "caches", ".pyo": "caches"}
# Inside installed packages (not at the top level, where such a name is the package itself).
DEPENDENCY_DROP_DIRS = {"tests": "tests", "test": "tests", "__pycache__": "caches"}
DEPENDENCY_DROP_TOP = {"bin": "console scripts (this machine's shebangs)"}
DEPENDENCY_DROP_MARKERS = {"REQUESTED", "direct_url.json"}


@dataclass
class Dropped:
    """reason -> files, bytes and a few example paths, for the report."""

    files: dict[str, int] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)
    examples: dict[str, list[str]] = field(default_factory=dict)

    def add(self, reason: str, path: Path, relative: str) -> None:
        count, size = files_under(path)
        self.files[reason] = self.files.get(reason, 0) + count
        self.sizes[reason] = self.sizes.get(reason, 0) + size
        examples = self.examples.setdefault(reason, [])
        if len(examples) < 3:
            examples.append(relative + ("/" if path.is_dir() and not path.is_symlink() else ""))

    @property
    def total_files(self) -> int:
        return sum(self.files.values())

    @property
    def total_bytes(self) -> int:
        return sum(self.sizes.values())


def files_under(path: Path) -> tuple[int, int]:
    if path.is_symlink() or path.is_file():
        return 1, path.stat().st_size if path.exists() else 0
    count = size = 0
    for dirpath, _, filenames in os.walk(path):
        for name in filenames:
            count += 1
            with contextlib.suppress(OSError):
                size += os.stat(os.path.join(dirpath, name)).st_size
    return count, size


def project_files(project: Path, dropped: Dropped, exclude: set[Path]) -> list[str]:
    """Relative paths of the project's files to ship (sorted); what is left out goes to dropped.
    exclude: absolute paths never shipped (the zip being written, when it is inside the project)."""
    kept: list[str] = []
    for dirpath, dirnames, filenames in os.walk(project):
        here = Path(dirpath)
        top = here == project
        for name in sorted(dirnames):
            path = here / name
            relative = path.relative_to(project).as_posix()
            reason = PROJECT_DROP_DIRS.get(name) or (PROJECT_DROP_TOP_DIRS.get(name) if top else None)
            if reason is None and name.endswith(".egg-info"):
                reason = "build leftovers"
            if reason is None and path.is_symlink():
                reason = "symlinked folders"
            if reason is not None:
                dropped.add(reason, path, relative)
                dirnames.remove(name)
        for name in filenames:
            path = here / name
            relative = path.relative_to(project).as_posix()
            reason = PROJECT_DROP_FILES.get(name) or CACHE_SUFFIXES.get(path.suffix)
            if path.absolute() in exclude or (top and name.endswith(".zip")):
                reason = "zips in the project folder"
            if reason is None and not path.exists():
                reason = "broken symlinks"
            if reason is not None:
                dropped.add(reason, path, relative)
                continue
            kept.append(relative)
    return sorted(kept)


def prune_dependencies(site: Path, dropped: Dropped) -> None:
    """Remove dead weight from the installed requirements, in place."""
    for name, reason in DEPENDENCY_DROP_TOP.items():
        path = site / name
        if path.is_dir():
            dropped.add(reason, path, name)
            shutil.rmtree(path)
    for dirpath, dirnames, filenames in os.walk(site, topdown=True):
        here = Path(dirpath)
        if here.name.endswith(".dist-info"):
            for name in filenames:
                if name in DEPENDENCY_DROP_MARKERS:
                    (here / name).unlink()
        if here == site:
            continue
        for name in list(dirnames):
            why = DEPENDENCY_DROP_DIRS.get(name)
            if why is not None:
                path = here / name
                dropped.add(why, path, path.relative_to(site).as_posix())
                shutil.rmtree(path)
                dirnames.remove(name)


def merge_project(project: Path, files: list[str], stage: Path) -> list[str]:
    """Copy the project's files over the installed dependencies; returns the paths where the
    project's own file replaced a dependency's (worth a warning: an import may now change)."""
    replaced = []
    for relative in files:
        target = stage / relative
        if target.exists():
            replaced.append(relative)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(project / relative, target)  # keeps the executable bit (a bootstrap script)
    return replaced
