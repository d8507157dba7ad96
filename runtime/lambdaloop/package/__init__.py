"""``lambdaloop package``: a function's deployment zip for Lambda, built without Docker.

The user's code plus its requirements, as wheels for the target architecture and Python
(manylinux, binary only), .pyc for the target version, tests/caches/build leftovers dropped, and
a byte-reproducible zip. One module per step: ``targets`` (what Lambda runs), ``requirements``
(what the project asks for), ``wheels`` (pip, for another platform), ``tree`` (what is shipped
and what is dropped), ``bytecode`` (.pyc), ``zipwriter`` (reproducible zip), ``report``, and
``build`` which runs them in order. Tooling only: none of it is on the runtime's start-up path.
"""

from __future__ import annotations


class PackageError(Exception):
    """A problem the user can fix (bad input, no wheel for the target, over Lambda's limits):
    reported as one clear message, no traceback, exit status 1."""
