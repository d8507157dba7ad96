"""SnapStart for custom runtimes: before-snapshot hooks, ``/restore/next``, after-restore hooks.

Same order and exit codes as awslambdaric (``shared/design/awslambdaric.md`` §7): hooks
registered with ``snapshot_restore_py`` run LIFO before the snapshot and FIFO after the
restore; a failure before the snapshot is an init error (exit 64), after it a restore
error (exit 65). The connection is reopened after the restore: TCP does not survive it.
"""

from __future__ import annotations

import sys

from . import protocol
from .errors import report_exception
from .logs import log_runtime_error

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .loop import Runtime

BEFORE_SNAPSHOT_ERROR = "Runtime.BeforeSnapshotError"
AFTER_RESTORE_ERROR = "Runtime.AfterRestoreError"


def _hooks() -> tuple[list, list]:
    try:
        import snapshot_restore_py
    except ImportError:
        return [], []
    return list(snapshot_restore_py.get_before_snapshot()), list(snapshot_restore_py.get_after_restore())


def run_snapstart_hooks(runtime: Runtime) -> None:
    before, after = _hooks()
    try:
        for func, args, kwargs in reversed(before):
            func(*args, **kwargs)
        response = runtime.connection.request(protocol.restore_next_request(runtime.host, runtime.user_agent))
        if response.status != 200:
            raise RuntimeError(f"/restore/next answered HTTP {response.status}")
    except Exception as exc:
        report = report_exception(exc, "")
        log_runtime_error(runtime.sink, report.body)
        runtime.post_init_error(report, BEFORE_SNAPSHOT_ERROR)
        sys.exit(64)
    runtime.connection.close()
    try:
        for func, args, kwargs in after:
            func(*args, **kwargs)
    except Exception as exc:
        report = report_exception(exc, "")
        log_runtime_error(runtime.sink, report.body)
        runtime.post_init_error(report, AFTER_RESTORE_ERROR, protocol.RESTORE_ERROR_PATH)
        sys.exit(65)
