"""Fails while it is imported: the error type is the exception's class name."""


def _configure() -> None:
    raise RuntimeError("init failed here\nwith a second line")


_configure()


def handler(event, context):
    return "unreachable"
