"""Init errors through the RIE: the runtime posts /init/error and exits 1; the RIE answers 502
with the runtime's error JSON and re-runs init at every later invoke."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from expect import ERROR_KEYS, frame
from rieharness import FUNCTIONS, RiePool, RieServer

SYNTAX_SOURCE = "def broken(:\n    return 1\n"


@pytest.fixture(scope="module")
def task_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A task root with a module that does not parse (it cannot live in the repo: ruff would fail on it)."""
    root = tmp_path_factory.mktemp("task")
    (root / "syntaxerr.py").write_text(SYNTAX_SOURCE)
    (root / "fine.py").write_text("def handler(event, context):\n    return 'fine'\n")
    return root


# (handler, errorType, errorMessage); every Runtime.* fault has an empty stackTrace.
FAULTS = [
    ("app", "Runtime.MalformedHandlerName", "Bad handler 'app': not enough values to unpack (expected 2, got 1)"),
    ("sys.handler", "Runtime.BuiltInModuleConflict", "Cannot use built-in module sys as a handler module"),
    (
        "importerr.handler",
        "Runtime.ImportModuleError",
        "Unable to import module 'importerr': No module named 'does_not_exist_xyz'",
    ),
    (
        "no_such_module.handler",
        "Runtime.ImportModuleError",
        "Unable to import module 'no_such_module': No module named 'no_such_module'",
    ),
    ("app.nope", "Runtime.HandlerNotFound", "Handler 'nope' missing on module 'app'"),
]


def assert_runtime_exited_with_init_error(server: RieServer, mark: int) -> None:
    # The RIE logs the runtime's exit; an init failure must end the process with status 1.
    text = server.wait_output("exited: exit status", mark)
    assert re.search(r"Process runtime-\d+ exited: exit status 1\b", text), text
    assert server.runtime_pids() == [], "the runtime must not linger after an init error"


def invoke_init_failure(server: RieServer) -> dict[str, object]:
    mark = server.output_mark()
    res = server.invoke({"any": "event"})
    assert res.status == 502, res
    body = res.json()
    assert list(body) == ERROR_KEYS, body
    assert body["requestId"] == ""  # init errors belong to no invocation
    assert_runtime_exited_with_init_error(server, mark)
    return body


@pytest.mark.parametrize(("handler", "error_type", "message"), FAULTS, ids=[f[1] + ":" + f[0] for f in FAULTS])
def test_fault_init_errors(rie_pool: RiePool, runtime: str, handler: str, error_type: str, message: str) -> None:
    server = rie_pool.fresh(runtime, handler)
    body = invoke_init_failure(server)
    assert body == {"errorMessage": message, "errorType": error_type, "requestId": "", "stackTrace": []}
    # The RIE re-runs init at the next invoke: the same failure, from a new process.
    assert invoke_init_failure(server) == body
    # And awslambdaric's log line for it.
    assert f"[ERROR] {error_type}: {message}" in server.output()


def test_syntax_error_at_import(rie_pool: RiePool, runtime: str, task_root: Path) -> None:
    server = rie_pool.fresh(runtime, "syntaxerr.handler", task_root=task_root)
    body = invoke_init_failure(server)
    try:
        compile(SYNTAX_SOURCE, str(task_root / "syntaxerr.py"), "exec")
    except SyntaxError as exc:
        expected_message = f"Syntax error in module 'syntaxerr': {exc}"
    else:
        raise AssertionError("the syntax error source compiled")
    assert body["errorType"] == "Runtime.UserCodeSyntaxError"
    assert body["errorMessage"] == expected_message
    assert "(syntaxerr.py, line 1)" in body["errorMessage"]
    # awslambdaric's hand-built element: capital "Line", the offending source line.
    assert body["stackTrace"] == [f'  File "{task_root / "syntaxerr.py"}" Line 1\n    def broken(:\n']


def test_user_exception_at_import(rie_pool: RiePool, runtime: str) -> None:
    server = rie_pool.fresh(runtime, "initexc.handler")
    body = invoke_init_failure(server)
    assert body["errorType"] == "RuntimeError"
    assert body["errorMessage"] == "init failed here"
    path = FUNCTIONS / "initexc.py"
    # The user's frames end the trace, exactly as format_list writes them.
    assert body["stackTrace"][-2:] == [
        frame(path, "<module>", "_configure()"),
        frame(path, "_configure", 'raise RuntimeError("init failed here")'),
    ]
    # No frame from the runtime's own package (awslambdaric trims its bootstrap.py frames). The
    # packages' own folders, not a "/lambdaloop/" anywhere: the checkout may be named that.
    import awslambdaric

    import lambdaloop

    packages = tuple(str(Path(module.__file__).parent) + "/" for module in (lambdaloop, awslambdaric))
    assert not [e for e in body["stackTrace"] if any(f'File "{p}' in e for p in packages)], body["stackTrace"]


def test_module_level_sys_exit_is_not_an_init_error_body(rie_pool: RiePool, runtime: str, task_root: Path) -> None:
    # awslambdaric does not catch BaseException at import: nothing is posted, the RIE sees a
    # plain exit (502, its own Runtime.ExitError) and the exit status is the user's.
    (task_root / "exits.py").write_text("import sys\nsys.exit(7)\n")
    server = rie_pool.fresh(runtime, "exits.handler", task_root=task_root)
    mark = server.output_mark()
    res = server.invoke({})
    assert res.status == 502, res
    text = server.wait_output("exited: exit status", mark)
    assert re.search(r"Process runtime-\d+ exited: exit status 7\b", text), text


def test_a_good_handler_in_the_same_task_root_works(rie_pool: RiePool, runtime: str, task_root: Path) -> None:
    # Control for the tests above: the temporary task root itself is importable.
    server = rie_pool.fresh(runtime, "fine.handler", task_root=task_root)
    res = server.invoke({})
    assert (res.status, res.json()) == (200, "fine")
