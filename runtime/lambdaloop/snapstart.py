"""SnapStart for custom runtimes: before-snapshot hooks, ``/restore/next``, after-restore hooks.

Same order and exit codes as awslambdaric: hooks registered with ``snapshot_restore_py`` run
LIFO before the snapshot and FIFO after the restore; a failure before the snapshot is an init
error (``Runtime.BeforeSnapshotError``, exit 64), after it a restore error
(``Runtime.AfterRestoreError`` on ``/restore/error``, exit 65). The connection is dropped after
the restore: TCP does not survive it.

This module reports what failed; posting the error and ending the process are the loop's.
"""

from __future__ import annotations

from .errors import report_exception

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from .errors import ErrorReport
    from .runtime_client import RuntimeClient

    Hook = tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]

BEFORE_SNAPSHOT_ERROR = "Runtime.BeforeSnapshotError"
AFTER_RESTORE_ERROR = "Runtime.AfterRestoreError"
BEFORE_SNAPSHOT_EXIT = 64
AFTER_RESTORE_EXIT = 65


class SnapStartFailure:
    """A hook (or ``/restore/next``) failed: the error to post, where, and the exit status."""

    __slots__ = ("error_type", "exit_code", "report")

    def __init__(self, error_type: str, report: ErrorReport, exit_code: int) -> None:
        self.error_type = error_type
        self.report = report
        self.exit_code = exit_code

    @property
    def after_restore(self) -> bool:
        """Posted to ``/restore/error`` (after the restore) rather than ``/init/error``."""
        return self.error_type == AFTER_RESTORE_ERROR


def _hooks() -> tuple[list[Hook], list[Hook]]:
    try:
        import snapshot_restore_py
    except ImportError:
        return [], []
    return list(snapshot_restore_py.get_before_snapshot()), list(snapshot_restore_py.get_after_restore())


def snapshot_and_restore(client: RuntimeClient) -> SnapStartFailure | None:
    """Run the before-snapshot hooks, wait in ``/restore/next`` while the platform snapshots
    and restores, then run the after-restore hooks. None when all went well."""
    before, after = _hooks()
    try:
        for func, args, kwargs in reversed(before):
            func(*args, **kwargs)
        client.restore_next()
    except Exception as exc:
        return SnapStartFailure(BEFORE_SNAPSHOT_ERROR, report_exception(exc, ""), BEFORE_SNAPSHOT_EXIT)
    client.reset()
    try:
        for func, args, kwargs in after:
            func(*args, **kwargs)
    except Exception as exc:
        return SnapStartFailure(AFTER_RESTORE_ERROR, report_exception(exc, ""), AFTER_RESTORE_EXIT)
    return None
