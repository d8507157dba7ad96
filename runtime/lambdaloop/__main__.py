"""``python -m lambdaloop app.handler``: the drop-in for ``python -m awslambdaric app.handler``.

As with awslambdaric, the module search path is what the launcher set up (``-m`` puts the
working directory first, hence ``WORKDIR`` in Dockerfiles). With no argument the handler
comes from ``_HANDLER``, as Lambda sets it.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    args = sys.argv if argv is None else argv
    handler = args[1] if len(args) > 1 else os.environ.get("_HANDLER", "")
    if not handler:
        raise SystemExit("usage: python -m lambdaloop MODULE.FUNCTION (or set _HANDLER)")
    from .entry import run

    run(handler)


if __name__ == "__main__":
    main()
