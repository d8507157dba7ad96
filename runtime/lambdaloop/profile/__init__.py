"""``lambdaloop profile HANDLER``: where a function's cold start goes, on Lambda's terms.

The function's init runs as Lambda runs it (a fresh interpreter, the runtime, the handler's
module imported from the task root, which is read-only: no .pyc written), under ``-X importtime``,
then one invocation. ``capture`` runs it and reads the phases and the import tree
(``importtime``); ``table`` prints the top entries, ``chart`` draws an SVG icicle of the tree,
``hints`` names the biggest wins. Tooling only: never on the runtime's start-up path.
"""

from __future__ import annotations


class ProfileError(Exception):
    """The function could not be profiled (bad handler, import failure): one clear message."""
