"""Imports fine itself; a module it imports needs something that is not installed."""

import transitive_dep  # noqa: F401


def handler(event, context):
    return "unreachable"
