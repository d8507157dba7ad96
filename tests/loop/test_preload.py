"""LAMBDALOOP_PRELOAD=1 under Lambda Managed Instances: the supervisor imports the handler once,
then forks the workers, which share that init; the after_fork hook runs in each worker; threads
alive at fork time are named in a warning. Without it, every worker imports for itself."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from .fakeapi import event
from .test_lmi_async import children, wait_for
from .test_loop import run  # noqa: F401  (the fixture)


def marks(path: Path) -> list[tuple[str, int]]:
    if not path.exists():
        return []
    return [(what, int(pid)) for what, pid in (line.split() for line in path.read_text().splitlines())]


@pytest.mark.parametrize(("handler", "processes"), [("handler", 3), ("async_handler", None)], ids=["sync", "async"])
def test_preload_imports_once_then_forks(run, tmp_path: Path, handler: str, processes: int | None) -> None:  # noqa: F811
    mark = tmp_path / "marks"
    env = {"AWS_LAMBDA_MAX_CONCURRENCY": "3", "LAMBDALOOP_PRELOAD": "1", "LAMBDALOOP_SIGTERM": "0"}
    env["PRELOAD_MARK"] = str(mark)
    api, runtime = run([event(f"r{i}") for i in range(3)], f"preloadfns.{handler}", env=env)
    answers = [json.loads(api.wait_post().body) for _ in range(3)]
    assert all(answer["after_fork_here"] for answer in answers)
    imports = [pid for what, pid in marks(mark) if what == "import"]
    assert imports == [runtime.pid]  # the module body ran once, in the supervisor
    expected = processes if processes is not None else min(3, len(os.sched_getaffinity(0)))
    assert wait_for(lambda: len(children(runtime.pid)) == expected)
    workers = children(runtime.pid)
    assert wait_for(lambda: sorted(pid for what, pid in marks(mark) if what == "after_fork") == sorted(workers))
    assert "poller-made-at-import" in runtime.output and "after_fork" in runtime.output


def test_without_preload_every_worker_imports(run, tmp_path: Path) -> None:  # noqa: F811
    mark = tmp_path / "marks"
    env = {"AWS_LAMBDA_MAX_CONCURRENCY": "3", "LAMBDALOOP_SIGTERM": "0", "PRELOAD_MARK": str(mark)}
    api, runtime = run([event(f"r{i}") for i in range(3)], "preloadfns.handler", env=env)
    answers = [json.loads(api.wait_post().body) for _ in range(3)]
    assert not any(answer["after_fork_here"] for answer in answers)
    assert wait_for(lambda: len(children(runtime.pid)) == 3)
    assert wait_for(lambda: len(marks(mark)) == 3)  # each worker imports, when its turn comes
    imports = sorted(pid for what, pid in marks(mark) if what == "import")
    assert imports == sorted(children(runtime.pid)) and runtime.pid not in imports
