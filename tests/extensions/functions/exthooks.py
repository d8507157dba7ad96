"""Loaded through LAMBDALOOP_EXTENSIONS: declares an internal extension that also wants the
platform's INVOKE events, and uses the hooks API."""

from __future__ import annotations

from extfns import record

from lambdaloop import hooks
from lambdaloop.extensions import InternalExtension

apm = InternalExtension("test-apm")


@apm.on_invoke
def _invoke(event: object) -> None:
    record("internal_invoke", request_id=getattr(event, "request_id", None))


@hooks.before_invoke
def _before(event: object, context: object) -> None:
    record("apm_before", request_id=getattr(context, "aws_request_id", None))
