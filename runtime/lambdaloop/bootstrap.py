"""What the ``bootstrap`` executable runs: the module search path AWS's own
``/var/runtime/bootstrap.py`` sets up, then the loop.

Handler: the first argument, else ``_HANDLER``. Task root: ``LAMBDA_TASK_ROOT``, else the
working directory.
"""

from __future__ import annotations

import os
import sys


def setup_sys_path(environ: os._Environ[str] | dict[str, str], path: list[str]) -> None:
    """Mirror the managed runtime: layer paths first unless PYTHONPATH is set, then the task
    root in front of everything, with its .pth files honoured."""
    task_root = environ.get("LAMBDA_TASK_ROOT") or os.getcwd()
    if "PYTHONPATH" not in environ:
        version = f"python{sys.version_info.major}.{sys.version_info.minor}"
        layer_paths = [
            f"/opt/python/lib/{version}/site-packages",
            "/opt/python",
            f"/var/lang/lib/{version}/site-packages",
        ]
        for entry in reversed(layer_paths):
            if entry not in path:
                path.insert(0, entry)
    if task_root in path:
        path.remove(task_root)
    path.insert(0, task_root)


def main(argv: list[str]) -> None:
    handler = argv[0] if argv else os.environ.get("_HANDLER", "")
    if not handler:
        sys.stderr.write("lambdaloop bootstrap: no handler: pass MODULE.FUNCTION or set _HANDLER\n")
        sys.exit(2)
    setup_sys_path(os.environ, sys.path)
    task_root = sys.path[0]
    if os.path.isdir(task_root):
        import site

        site.addsitedir(task_root)  # .pth files in the function's folder work, as on AWS
        # addsitedir appends; the task root must stay first.
        sys.path.remove(task_root)
        sys.path.insert(0, task_root)
    from .loop import run

    run(handler)
