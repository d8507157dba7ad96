"""lambdaloop: a fast, drop-in custom runtime for AWS Lambda in Python.

Importing the package costs nothing beyond this file: the runtime loop, the emulator and
the streaming API each load on first use, so a cold start pays only for what it runs.
"""

__version__ = "0.1.0"


def trace_id() -> str | None:
    """The X-Ray trace header of the invocation the calling code runs for (see
    ``lambdaloop.current``): ``_X_AMZN_TRACE_ID`` one invocation at a time, the calling
    task's own invocation's when a process serves many at once (Lambda Managed Instances)."""
    from .current import trace_id as current_trace_id

    return current_trace_id()
