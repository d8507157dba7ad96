"""The context object handlers receive: awslambdaric's ``LambdaContext``, attribute for
attribute (types, ``repr``, ``w3c()``, ``log()``), built from one Invocation.

Libraries duck-type this object (Powertools, Mangum, Sentry, OpenTelemetry read its
attributes by name), so names and types follow awslambdaric 4.2.2 exactly
(held to it by tests/unit and tests/conformance), including ``memory_limit_in_mb`` as a str.
"""

from __future__ import annotations

import os
import sys
import time

from .errors import LAMBDA_CONTEXT_UNMARSHAL_ERROR, FaultError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from .protocol import Invocation
    from .typedefs import LogSink

# Only these W3C trace-context fields are surfaced, and only when they are strings.
W3C_ALLOWED_FIELDS = ("traceparent", "tracestate", "baggage")


class FunctionEnvironment:
    """The function's static facts, read from the environment once at start."""

    __slots__ = ("function_name", "function_version", "log_group_name", "log_stream_name", "memory_limit_in_mb")

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.log_group_name = environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.function_name = environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.memory_limit_in_mb = environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.function_version = environ.get("AWS_LAMBDA_FUNCTION_VERSION")


class LambdaContext:
    def __init__(
        self,
        invoke_id: str,
        client_context: dict[str, Any] | None,
        cognito_identity: dict[str, Any] | None,
        epoch_deadline_time_in_ms: int,
        invoked_function_arn: str | None = None,
        tenant_id: str | None = None,
        environment: FunctionEnvironment | None = None,
        log_sink: LogSink | None = None,
    ) -> None:
        env = environment if environment is not None else FunctionEnvironment(os.environ)
        self.aws_request_id: str = invoke_id
        self.log_group_name: str | None = env.log_group_name
        self.log_stream_name: str | None = env.log_stream_name
        self.function_name: str | None = env.function_name
        # A str, as awslambdaric has it (read from the environment); Powertools' typing says int.
        self.memory_limit_in_mb: str | None = env.memory_limit_in_mb
        self.function_version: str | None = env.function_version
        self.invoked_function_arn: str | None = invoked_function_arn
        self.tenant_id: str | None = tenant_id
        self._w3c_fields = _pop_w3c(client_context)
        self.client_context = ClientContext(client_context) if client_context is not None else None
        self.identity = CognitoIdentity()
        if cognito_identity is not None:
            self.identity = CognitoIdentity(
                cognito_identity.get("cognitoIdentityId"), cognito_identity.get("cognitoIdentityPoolId")
            )
        self._epoch_deadline_time_in_ms = epoch_deadline_time_in_ms
        self._log_sink = log_sink

    def get_remaining_time_in_millis(self) -> int:
        # Wall clock, as awslambdaric: the deadline is an epoch timestamp from the platform.
        delta_ms = self._epoch_deadline_time_in_ms - int(time.time() * 1000)
        return delta_ms if delta_ms > 0 else 0

    def w3c(self) -> dict[str, str]:
        """The W3C trace context of this invocation (a copy)."""
        return dict(self._w3c_fields)

    def log(self, msg: object) -> None:
        """Write ``str(msg)`` as is (no newline added) to the function's log."""
        if self._log_sink is not None:
            self._log_sink.log(str(msg))
        else:
            sys.stdout.write(str(msg))

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__}(["
            f"aws_request_id={self.aws_request_id},"
            f"log_group_name={self.log_group_name},"
            f"log_stream_name={self.log_stream_name},"
            f"function_name={self.function_name},"
            f"memory_limit_in_mb={self.memory_limit_in_mb},"
            f"function_version={self.function_version},"
            f"invoked_function_arn={self.invoked_function_arn},"
            f"client_context={self.client_context},"
            f"identity={self.identity},"
            f"tenant_id={self.tenant_id}"
            "])"
        )


class CognitoIdentity:
    """The caller's Amazon Cognito identity; always present, its fields None when there is none."""

    __slots__ = ("cognito_identity_id", "cognito_identity_pool_id")

    def __init__(self, cognito_identity_id: str | None = None, cognito_identity_pool_id: str | None = None) -> None:
        self.cognito_identity_id: str | None = cognito_identity_id
        self.cognito_identity_pool_id: str | None = cognito_identity_pool_id

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__}(["
            f"cognito_identity_id={self.cognito_identity_id},"
            f"cognito_identity_pool_id={self.cognito_identity_pool_id}"
            "])"
        )


class Client:
    """The calling mobile app (from the client context)."""

    __slots__ = ("app_package_name", "app_title", "app_version_code", "app_version_name", "installation_id")

    def __init__(self, values: Mapping[str, Any]) -> None:
        self.installation_id: str | None = values.get("installation_id")
        self.app_title: str | None = values.get("app_title")
        self.app_version_name: str | None = values.get("app_version_name")
        self.app_version_code: str | None = values.get("app_version_code")
        self.app_package_name: str | None = values.get("app_package_name")

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__}(["
            f"installation_id={self.installation_id},"
            f"app_title={self.app_title},"
            f"app_version_name={self.app_version_name},"
            f"app_version_code={self.app_version_code},"
            f"app_package_name={self.app_package_name}"
            "])"
        )


class ClientContext:
    """The client context an invoker passed (``X-Amz-Client-Context``), as awslambdaric builds it."""

    __slots__ = ("client", "custom", "env")

    def __init__(self, values: Mapping[str, Any]) -> None:
        client = values.get("client")
        self.client: Client | None = Client(client) if client is not None else None
        self.custom: dict[str, Any] | None = values.get("custom")
        self.env: dict[str, Any] | None = values.get("env")

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}([custom={self.custom},env={self.env},client={self.client}])"


def _pop_w3c(client_context: Any) -> dict[str, str]:
    # awslambdaric pops "w3c" out of the client context, so it is visible only via w3c().
    if not isinstance(client_context, dict) or "w3c" not in client_context:
        return {}
    raw = client_context.pop("w3c")
    if not isinstance(raw, dict):
        return {}
    return {key: raw[key] for key in W3C_ALLOWED_FIELDS if isinstance(raw.get(key), str)}


def parse_json_header(value: str, name: str) -> Any:
    """Client context and Cognito identity, parsed as awslambdaric parses them (stdlib json)."""
    from .marshal import loads_json

    try:
        return loads_json(value)
    except Exception:
        pass
    import json  # only for a header the fast scanner refused: the exact message matters

    try:
        return json.loads(value)
    except Exception as exc:
        raise FaultError(LAMBDA_CONTEXT_UNMARSHAL_ERROR, f"Unable to parse {name} JSON: {exc}") from None


def build_context(
    invocation: Invocation, environment: FunctionEnvironment, log_sink: LogSink | None = None
) -> LambdaContext:
    client_context = (
        parse_json_header(invocation.client_context, "Client Context") if invocation.client_context else None
    )
    cognito = (
        parse_json_header(invocation.cognito_identity, "Cognito Identity") if invocation.cognito_identity else None
    )
    return LambdaContext(
        invocation.request_id,
        client_context,
        cognito,
        invocation.deadline_ms,
        invocation.invoked_function_arn,
        invocation.tenant_id,
        environment,
        log_sink,
    )
