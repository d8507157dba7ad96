"""What the ``bootstrap`` executable runs: the module search path AWS's own
``/var/runtime/bootstrap.py`` sets up, then the loop.

Handler: the first argument, else ``_HANDLER``. Task root: ``LAMBDA_TASK_ROOT``, else the
working directory.

AWS's managed runtime (python3.10 to 3.14, the same code in each) does, in this order:

- unless ``PYTHONPATH`` is set, put ``/var/lang/lib/pythonX.Y/site-packages``, ``/opt/python``
  and ``/opt/python/lib/pythonX.Y/site-packages`` in front of ``sys.path`` (each inserted at 0,
  so the last named ends first; entries already there are inserted again, not moved);
- put ``LAMBDA_TASK_ROOT`` in front of everything;
- ``site.addsitedir`` the task root and, unless ``PYTHONPATH`` is set, both ``/opt`` folders,
  so ``.pth`` files there work;
- unless ``PYTHONPATH`` is set, set it to ``LAMBDA_RUNTIME_DIR`` for child processes.

The same order is kept here, so a function sees the ``sys.path`` it saw under awslambdaric, in
exec-wrapper mode on AWS's interpreter as well as on the provided runtime.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, MutableMapping


def setup_sys_path(environ: MutableMapping[str, str], path: list[str]) -> None:
    """Mirror the managed runtime: layer paths first unless PYTHONPATH is set, then the task
    root in front of everything."""
    task_root = environ.get("LAMBDA_TASK_ROOT") or os.getcwd()
    if "PYTHONPATH" not in environ:
        version = f"python{sys.version_info.major}.{sys.version_info.minor}"
        path.insert(0, f"/var/lang/lib/{version}/site-packages")
        path.insert(0, "/opt/python")
        path.insert(0, f"/opt/python/lib/{version}/site-packages")
    path.insert(0, task_root)


def add_site_directories(environ: MutableMapping[str, str], task_root: str) -> None:
    """``.pth`` files in the function's folder and in the layers' folders work, as on AWS."""
    import site

    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    folders = [task_root]
    if "PYTHONPATH" not in environ:
        folders += [f"/opt/python/lib/{version}/site-packages", "/opt/python"]
    for folder in folders:
        if os.path.isdir(folder):
            site.addsitedir(folder)


def main(argv: list[str], fallback_paths: Iterable[str] = ()) -> None:
    """``fallback_paths``: where lambdaloop and its compiled dependencies live (the bootstrap's
    own folders). They go last, so they never shadow the function's modules and are still found
    when ``PYTHONPATH`` (set by an APM wrapper, say) keeps AWS's layer paths away."""
    handler = argv[0] if argv else os.environ.get("_HANDLER", "")
    if not handler:
        sys.stderr.write("lambdaloop bootstrap: no handler: pass MODULE.FUNCTION or set _HANDLER\n")
        sys.exit(2)
    environ = os.environ
    pythonpath_was_set = "PYTHONPATH" in environ
    setup_sys_path(environ, sys.path)
    task_root = sys.path[0]
    add_site_directories(environ, task_root)
    for folder in fallback_paths:
        if folder not in sys.path:
            sys.path.append(folder)
    runtime_dir = environ.get("LAMBDA_RUNTIME_DIR")
    if not pythonpath_was_set and runtime_dir:
        environ["PYTHONPATH"] = runtime_dir  # as AWS does, for the function's child processes
    from .entry import run

    run(handler)
