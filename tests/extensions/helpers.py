"""Shared helpers: where the test functions and extension programs live, installing an
extension program as an executable (the platform's ``/opt/extensions/NAME``), and reading
the JSON-lines records the functions and extensions write."""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
FUNCTIONS = HERE / "functions"
PROGRAMS = HERE / "programs"


def install_extension(directory: Path, name: str, program: str = "recorder") -> Path:
    """An executable named ``name`` that runs ``programs/<program>.py`` with this interpreter.
    The platform matches an external extension by file name, so the name is the point."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(
        f"#!{sys.executable}\nimport sys\nsys.path.insert(0, {str(PROGRAMS)!r})\nfrom {program} import main\nmain()\n"
    )
    path.chmod(0o755)
    return path


def read_records(path: Path) -> list[dict[str, object]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def kinds(records: list[dict[str, object]]) -> list[object]:
    return [r["kind"] for r in records]
