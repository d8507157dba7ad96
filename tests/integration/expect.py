"""Expected values computed from the handler sources themselves, so line numbers never drift."""

from __future__ import annotations

import importlib.util
import traceback
from pathlib import Path
from types import ModuleType
from typing import Any

from rieharness import FUNCTIONS

ERROR_KEYS = ["errorMessage", "errorType", "requestId", "stackTrace"]  # awslambdaric's fixed order


def load_function_module(name: str) -> ModuleType:
    """Import functions/<name>.py under a private name, with the same file path the runtime sees."""
    path = FUNCTIONS / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"_it_functions_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def expected_stack(module: str, func: str, *args: Any) -> list[str]:
    """The stackTrace awslambdaric reports for calling module.func(*args): traceback.format_list
    of the frames from the handler down (the caller's frame, here this function, is dropped)."""
    handler = getattr(load_function_module(module), func)
    try:
        handler(*args)
    except Exception as exc:
        # awslambdaric rebuilds frames as (file, line, name, text) tuples, so no caret lines.
        frames = [
            traceback.FrameSummary(f.filename, f.lineno, f.name, line=f.line)
            for f in traceback.extract_tb(exc.__traceback__)[1:]
        ]
        return traceback.format_list(frames)
    raise AssertionError(f"{module}.{func}{args!r} did not raise")


def line_of(path: Path, text: str) -> int:
    """1-based number of the only line of path that is text (leading/trailing blanks aside)."""
    hits = [n for n, line in enumerate(path.read_text().splitlines(), 1) if line.strip() == text]
    assert len(hits) == 1, f"{text!r} found on lines {hits} of {path}"
    return hits[0]


def frame(path: Path, func: str, code: str) -> str:
    """One traceback.format_list entry for a statement that fills its line (so no caret line)."""
    return f'  File "{path}", line {line_of(path, code)}, in {func}\n    {code}\n'
