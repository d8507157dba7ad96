"""What the project asks for: requirements.txt, else pyproject.toml's [project] dependencies."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from . import PackageError

HASH_OPTION = re.compile(r"(^|\s)--hash[=\s]")


@dataclass
class Requirements:
    source: str  # "requirements.txt", "pyproject.toml" or "" (none)
    file: Path | None  # a requirements file pip can read (-r), or None when there is nothing to install
    hashed: bool  # the file carries --hash options: pip then enforces them for every requirement

    def describe(self) -> str:
        if not self.source:
            return "no requirements.txt or pyproject.toml dependencies: the code alone"
        return f"{self.source}{' (hashes enforced)' if self.hashed else ''}"


def read_requirements(project: Path, scratch: Path) -> Requirements:
    """scratch: a folder where pyproject's dependencies are written out as a requirements file."""
    txt = project / "requirements.txt"
    if txt.is_file():
        text = txt.read_text(errors="replace")
        return Requirements("requirements.txt", txt, bool(HASH_OPTION.search(text)))
    pyproject = project / "pyproject.toml"
    if pyproject.is_file():
        dependencies = pyproject_dependencies(pyproject)
        if not dependencies:
            return Requirements("pyproject.toml", None, False)
        file = scratch / "pyproject-requirements.txt"
        file.write_text("".join(f"{dep}\n" for dep in dependencies))
        return Requirements("pyproject.toml", file, False)
    return Requirements("", None, False)


def pyproject_dependencies(pyproject: Path) -> list[str]:
    try:
        import tomllib  # type: ignore[import-not-found,unused-ignore]
    except ImportError:  # Python 3.10
        try:
            import tomli as tomllib  # type: ignore[import-not-found,no-redef,unused-ignore]
        except ImportError:
            raise PackageError(
                "reading pyproject.toml needs Python 3.11+ (tomllib) or the tomli package; "
                "or list the dependencies in requirements.txt"
            ) from None
    try:
        data = tomllib.loads(pyproject.read_text(errors="replace"))
    except tomllib.TOMLDecodeError as exc:
        raise PackageError(f"{pyproject} is not valid TOML: {exc}") from None
    project = data.get("project")
    dependencies = project.get("dependencies", []) if isinstance(project, dict) else []
    if not isinstance(dependencies, list) or not all(isinstance(d, str) for d in dependencies):
        raise PackageError(f"{pyproject}: [project] dependencies must be a list of strings")
    return dependencies
