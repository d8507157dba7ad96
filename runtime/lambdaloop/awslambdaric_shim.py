"""The awslambdaric names that APM agents monkeypatch, for agents that integrate only that
way (sentry-sdk's ``AwsLambdaIntegration``, sentry-sdk 1.x and 2.x).

Sentry looks for awslambdaric's ``bootstrap`` module at ``sys.modules["__main__"].bootstrap``
(where ``python -m awslambdaric`` has it), and disables itself, with no error, unless it has
``handle_event_request`` and ``LambdaRuntimeClient``. It then replaces:

- ``handle_event_request``, to wrap the handler (scope, transaction, capture of exceptions);
- ``LambdaRuntimeClient.post_init_error``, to report an init error from its JSON body;
- ``LambdaRuntimeClient.post_invocation_result`` / ``post_invocation_error``, to flush its
  queue before the environment can be frozen.

``expose`` puts this module where Sentry looks. The loop asks it for the handler to call
after init (``resolve_handler``), and reports an init error through it
(``report_init_error``). When the posting methods were replaced, a public ``after_invoke``
hook calls them once the response is posted and before the next ``/next``: the invoker is not
kept waiting by the flush, and the environment is not frozen before it. Nothing replaced, no
cost: no call per invocation.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any


class LambdaRuntimeClient:
    """Stand-ins with awslambdaric's signatures. lambdaloop posts by itself; these exist to be
    wrapped, and the originals do nothing."""

    def post_init_error(self, error_response_data: Any, error_type_override: str | None = None) -> None:
        return None

    def post_invocation_result(
        self, invoke_id: str, result_data: Any, result_data_type: str = "application/json", invocation_id: Any = None
    ) -> None:
        return None

    def post_invocation_error(
        self, invoke_id: str, error_response_data: Any, xray_fault: Any, invocation_id: Any = None
    ) -> None:
        return None


def handle_event_request(lambda_runtime_client: Any, request_handler: Any, *args: Any, **kwargs: Any) -> Any:
    """The original returns the handler it is given, so a replacement that wraps the handler
    and calls the original returns the wrapped handler."""
    return request_handler


client = LambdaRuntimeClient()
_ORIGINAL_HANDLE = handle_event_request
_ORIGINAL_INIT_ERROR = LambdaRuntimeClient.post_init_error
_ORIGINAL_RESULT = LambdaRuntimeClient.post_invocation_result
_ORIGINAL_ERROR = LambdaRuntimeClient.post_invocation_error


def expose() -> None:
    """Make this module ``__main__.bootstrap``, as under ``python -m awslambdaric``."""
    main = sys.modules.get("__main__")
    if main is not None and getattr(main, "bootstrap", None) is None:
        main.bootstrap = sys.modules[__name__]  # type: ignore[attr-defined]


def resolve_handler(handler: Callable[..., Any]) -> Callable[..., Any]:
    """After init: the handler as an agent wrapped it (itself when nothing did), and the
    flush hook if the posting methods were replaced."""
    this = sys.modules[__name__]
    if (
        LambdaRuntimeClient.post_invocation_result is not _ORIGINAL_RESULT
        or LambdaRuntimeClient.post_invocation_error is not _ORIGINAL_ERROR
    ):
        from . import hooks

        hooks.after_invoke(_after_post)
    if this.handle_event_request is _ORIGINAL_HANDLE:
        return handler
    try:
        return this.handle_event_request(client, handler)
    except Exception as exc:  # a broken agent must not cost the function its handler
        sys.stderr.write(f"lambdaloop: handle_event_request wrapper raised {type(exc).__name__}: {exc}\n")
        return handler


def report_init_error(body: dict[str, Any]) -> None:
    """awslambdaric calls ``post_init_error(error_result)`` outside any ``except`` block, so
    an agent reads the error from the body; called the same way here."""
    if LambdaRuntimeClient.post_init_error is not _ORIGINAL_INIT_ERROR:
        try:
            client.post_init_error(body)
        except Exception as exc:
            sys.stderr.write(f"lambdaloop: post_init_error wrapper raised {type(exc).__name__}: {exc}\n")


def _after_post(event: Any, context: Any, outcome: Any) -> None:
    request_id = getattr(context, "aws_request_id", "")
    if outcome.ok:
        client.post_invocation_result(request_id, outcome.result)
    else:
        client.post_invocation_error(request_id, outcome.error, None)
