"""The platform's START / END / REPORT lines and the memory figure behind them (pure, plus
one small /proc reader).

Format as Lambda and the RIE print them (tab-separated fields, a trailing tab). Unlike the
RIE, ``Init Duration`` is the real time from starting the runtime to its first ``/next``
(the RIE prints 0.02 ms there) and ``Max Memory Used`` is measured, not the memory size.
"""

from __future__ import annotations

import math
from collections.abc import Iterable


def start_line(request_id: str, version: str) -> str:
    return f"START RequestId: {request_id} Version: {version}"


def end_line(request_id: str) -> str:
    return f"END RequestId: {request_id}"


def billed_ms(duration_ms: float) -> int:
    # Lambda bills in 1 ms steps, rounded up, at least 1 ms.
    return max(1, math.ceil(duration_ms))


def report_line(
    request_id: str,
    duration_ms: float,
    memory_mb: int,
    max_memory_mb: int,
    init_duration_ms: float | None = None,
    status: str | None = None,
    restore: tuple[float, int] | None = None,
) -> str:
    """``restore``: (Restore Duration, Billed Restore Duration) for the first invoke of an
    environment restored from a SnapStart snapshot; Lambda prints them after the memory."""
    fields = [f"REPORT RequestId: {request_id}"]
    if init_duration_ms is not None:
        fields.append(f"Init Duration: {init_duration_ms:.2f} ms")
    fields += [
        f"Duration: {duration_ms:.2f} ms",
        f"Billed Duration: {billed_ms(duration_ms)} ms",
        f"Memory Size: {memory_mb} MB",
        f"Max Memory Used: {max_memory_mb} MB",
    ]
    if restore is not None:
        fields.append(f"Restore Duration: {restore[0]:.2f} ms")
        fields.append(f"Billed Restore Duration: {restore[1]} ms")
    if status and status != "success":
        fields.append(f"Status: {status}")
    return "\t".join(fields) + "\t"


def init_report_line(duration_ms: float, status: str, error_type: str | None = None) -> str:
    line = f"INIT_REPORT Init Duration: {duration_ms:.2f} ms\tPhase: init\tStatus: {status}"
    return line + (f"\tError Type: {error_type}" if error_type else "")


def restore_report_line(duration_ms: float, status: str | None = None, error_type: str | None = None) -> str:
    line = f"RESTORE_REPORT Restore Duration: {duration_ms:.2f} ms"
    if status and status != "success":
        line += f"\tStatus: {status}" + (f"\tError Type: {error_type}" if error_type else "")
    return line


def parse_hwm_kib(status_text: str) -> int:
    """VmHWM (peak resident set, KiB) from the text of /proc/PID/status; 0 if absent."""
    for line in status_text.splitlines():
        if line.startswith("VmHWM:"):
            parts = line.split()
            if len(parts) >= 2 and parts[1].isdigit():
                return int(parts[1])
    return 0


def peak_memory_mb(pids: Iterable[int]) -> int:
    """Sum of the peak RSS of the given live processes, in MB (rounded up). Processes that
    are gone count 0: the figure is a best effort, as on Lambda, not an accounting."""
    total_kib = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as f:
                total_kib += parse_hwm_kib(f.read())
        except OSError:
            continue
    return math.ceil(total_kib / 1024)
