"""Handlers whose hooks misbehave on purpose (HOOK_MODE picks how)."""

import os
import sys
import tempfile

from lambdaloop import hooks


class BadStr(Exception):
    def __str__(self):
        raise RuntimeError("__str__ itself fails")


MODE = os.environ.get("HOOK_MODE", "")
SEEN = []

if MODE == "on_error_exits":
    hooks.on_error(lambda exc, event, context: sys.exit(3))
elif MODE == "on_error_bad_str":

    def raise_bad(exc, event, context):
        raise BadStr()

    hooks.on_error(raise_bad)
elif MODE == "before_raises":
    hooks.before_invoke(lambda event, context: 1 / 0)


@hooks.after_invoke
def remember(event, context, outcome):
    SEEN.append((outcome.ok, (outcome.error or {}).get("errorType")))


def fails(event, context):
    raise ValueError("handler failed")


def ok(event, context):
    return {"seen": SEEN}


def deletes_cwd_then_fails(event, context):
    folder = tempfile.mkdtemp()
    os.chdir(folder)
    os.rmdir(folder)
    raise KeyError("after rmdir")


def bad_str(event, context):
    raise BadStr()


def dispatch(event, context):
    return globals()[event["fn"]](event, context)
