"""SnapStart for custom runtimes: before-snapshot hooks, ``/restore/next``, after-restore hooks.

Same order and exit codes as awslambdaric: hooks registered with ``snapshot_restore_py`` run
LIFO before the snapshot and FIFO after the restore; a failure before the snapshot is an init
error (``Runtime.BeforeSnapshotError``, exit 64), after it a restore error
(``Runtime.AfterRestoreError`` on ``/restore/error``, exit 65). The connection is dropped after
the restore: TCP does not survive it.

At the restore, before the after-restore hooks, lambdaloop also does what a restored
environment needs and functions forget: every environment restored from one snapshot starts
from the same memory, so the global random generators (``random``, and NumPy's legacy one when
it is loaded) are reseeded from the kernel, whose pool is fresh after a restore. awslambdaric
does not; ``os.urandom``, ``secrets`` and ``uuid.uuid4`` need nothing (they read the kernel).

Under lambdaloop's emulator the snapshot is a process that forks each restore (``snapfork``),
and each restored process leaves a fingerprint for the emulator's uniqueness check
(``snapcheck``); both only when the emulator asks, through the environment.

This module reports what failed; posting the error and ending the process are the loop's.
"""

from __future__ import annotations

import os
import sys

from .errors import report_exception
from .protocol import SNAPSHOT_ENV, SNAPSTART_PROBE_ENV

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
    probe = os.environ.get(SNAPSTART_PROBE_ENV)
    if probe:
        from . import snapcheck  # noqa: F401  (imported before the snapshot, not in each restore)
    try:
        for func, args, kwargs in reversed(before):
            func(*args, **kwargs)
        _wait_for_restore(client)
    except Exception as exc:
        return SnapStartFailure(BEFORE_SNAPSHOT_ERROR, report_exception(exc, ""), BEFORE_SNAPSHOT_EXIT)
    client.reset()
    reseed_random_generators()
    try:
        for func, args, kwargs in after:
            func(*args, **kwargs)
    except Exception as exc:
        return SnapStartFailure(AFTER_RESTORE_ERROR, report_exception(exc, ""), AFTER_RESTORE_EXIT)
    if probe:
        _leave_fingerprint(probe)
    return None


def _wait_for_restore(client: RuntimeClient) -> None:
    if os.environ.get(SNAPSHOT_ENV) == "fork":
        from .snapfork import restore_by_fork

        restore_by_fork(client)  # returns in each restored process
    else:
        client.restore_next()


def _leave_fingerprint(directory: str) -> None:
    """The emulator's uniqueness check; a failure of the check must not fail the restore."""
    from .snapcheck import write_fingerprint

    try:
        write_fingerprint(directory)
    except Exception as exc:
        print(f"lambdaloop: the SnapStart uniqueness check failed: {exc!r}", file=sys.stderr, flush=True)


def reseed_random_generators() -> None:
    """Reseed the process-wide generators a function may have used at init, so two environments
    restored from one snapshot do not draw the same "random" values."""
    random = sys.modules.get("random")
    if random is not None:
        random.seed()
    numpy_random = sys.modules.get("numpy.random")
    seed = getattr(numpy_random, "seed", None)  # NumPy's legacy global generator, if loaded
    if callable(seed):
        seed()
