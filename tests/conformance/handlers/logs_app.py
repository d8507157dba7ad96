"""Logging through every channel a handler has: logging, print, stderr, context.log, warnings.

Dispatches on the request id like ``corpus``. Every logged exception's message ends
in ``(logged)``: awslambdaric's text format ends such a record without a newline, and that
marker is how the normaliser finds the end of the traceback (see ``lognorm.py``).
"""

from __future__ import annotations

import decimal
import logging
import os
import sys
import warnings
from typing import Any

# At import time (during init): no request id yet. basicConfig is a no-op under awslambdaric,
# whose root handler is already installed, so the root level is left as the runtime set it.
logging.basicConfig(level=logging.INFO, format="%(message)s")
logging.warning("warning at import")
logging.info("info at import")
print("print at import")

logger = logging.getLogger("app.sub")
# Built at run time, so the marker never appears in a traceback's source lines.
LOGGED = " (logged" + ")"
logging.getLogger("noisy").setLevel(logging.ERROR)


def case_log_levels(event: Any, context: Any) -> Any:
    logging.debug("root debug")
    logging.info("root info")
    logging.warning("root warning %s %d", "arg", 7)
    logging.error("root error")
    logging.critical("root critical")
    logging.log(25, "custom level 25")
    logging.log(5, "below debug")
    logger.debug("named debug")
    logger.info("named info")
    logger.warning("named warning")
    logging.getLogger("noisy").warning("filtered out by its own level")
    return "levels"


def case_log_channels(event: Any, context: Any) -> Any:
    print("printed line")
    print("printed", "several", "args", sep="|")
    print("no newline", end="")
    print()
    sys.stdout.write("raw stdout write\n")
    sys.stderr.write("raw stderr write\n")
    print("printed to stderr", file=sys.stderr)
    context.log("context.log with newline\n")
    context.log("context.log without newline")
    context.log({"not": "a string"})
    warnings.warn("a user warning", UserWarning, stacklevel=1)
    logging.warning("after the others")
    return "channels"


def case_log_exception(event: Any, context: Any) -> Any:
    try:
        print(1 / 0)
    except ZeroDivisionError as exc:
        try:
            raise ArithmeticError("division failed" + LOGGED) from exc
        except ArithmeticError:
            logger.exception("caught it")
    try:
        raise ValueError("value problem" + LOGGED)
    except ValueError:
        logging.exception("second one")
    print("after the exceptions")
    try:
        raise LookupError("k" + LOGGED)
    except LookupError:
        logging.error("error with exc_info", exc_info=True)
    logging.warning("the end")
    return "exceptions"


def case_log_structured(event: Any, context: Any) -> Any:
    logging.warning({"event": "dict message", "n": 1, "nested": {"ok": True}})
    logging.warning({"event": "dict with args %s"}, "x")
    logging.warning("with extra", extra={"customer": "c-1", "amount": decimal.Decimal("9.99"), "none": None})
    logging.warning("unicode: héllo 😀 日本語")
    logging.warning("multi\nline\nmessage")
    logging.warning("tab\tand\rcarriage")
    logging.warning("%s percent %%", "formatted")
    return "structured"


def case_log_then_raise(event: Any, context: Any) -> Any:
    logging.warning("about to fail")
    print("printed before failing")
    raise ValueError("handler failed\nwith two lines")


def case_log_then_unmarshal(event: Any, context: Any) -> Any:
    return "never reached: the event is not JSON"


def case_log_tenant(event: Any, context: Any) -> Any:
    logging.warning("tenant line")
    return context.tenant_id


def case_log_environment(event: Any, context: Any) -> Any:
    # awslambdaric removes _LAMBDA_TELEMETRY_LOG_FD from the environment once it has the fd.
    return {
        "telemetry_fd_env": os.environ.get("_LAMBDA_TELEMETRY_LOG_FD"),
        "log_format": os.environ.get("AWS_LAMBDA_LOG_FORMAT"),
    }


def handler(event: Any, context: Any) -> Any:
    return globals()["case_" + context.aws_request_id.replace("-", "_")](event, context)
