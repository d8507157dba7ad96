"""aws-lambda-powertools as its documentation uses it: Logger, Metrics and Tracer decorators
on a sync handler, the same on the ``asyncio.run`` pattern its docs give for async code, a
native ``async def`` handler (lambdaloop only), and the event-handler resolvers."""

from __future__ import annotations

import asyncio
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import (
    APIGatewayHttpResolver,
    APIGatewayRestResolver,
    LambdaFunctionUrlResolver,
)
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()  # service: POWERTOOLS_SERVICE_NAME
metrics = Metrics()  # namespace: POWERTOOLS_METRICS_NAMESPACE
tracer = Tracer()  # POWERTOOLS_TRACE_DISABLED=true: no X-Ray daemon here


def _running_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


@metrics.log_metrics(capture_cold_start_metric=True)
@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    metrics.add_metric(name="Orders", unit=MetricUnit.Count, value=event["orders"])
    metrics.add_dimension(name="channel", value=event["channel"])
    logger.info("order received", extra={"order_id": event["id"]})
    return {"id": event["id"], "remaining_is_int": isinstance(context.get_remaining_time_in_millis(), int)}


async def _fetch(order_id: str) -> str:
    await asyncio.sleep(0)
    logger.info("fetched inside a coroutine", extra={"order_id": order_id})
    return order_id.upper()


@metrics.log_metrics
@logger.inject_lambda_context
def asyncio_run_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Powertools' documented way to call async code: a sync handler and ``asyncio.run``.
    lambdaloop runs sync handlers with no running loop, so ``asyncio.run`` works on every
    invoke."""
    running = _running_loop()
    value = asyncio.run(_fetch(event["id"]))
    metrics.add_metric(name="Fetched", unit=MetricUnit.Count, value=1)
    return {"value": value, "loop_was_running": running}


@logger.inject_lambda_context
async def async_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """A native coroutine handler (lambdaloop). ``inject_lambda_context`` is a sync
    decorator, but it only appends keys to the logger before returning the coroutine, so
    the records logged while the coroutine runs still carry them. Metrics are flushed by
    hand: ``log_metrics`` would flush before the coroutine has run (see
    ``async_log_metrics_handler``)."""
    try:
        value = await _fetch(event["id"])
        metrics.add_metric(name="AsyncOrders", unit=MetricUnit.Count, value=1)
        return {"value": value, "loop_was_running": _running_loop()}
    finally:
        metrics.flush_metrics()


@metrics.log_metrics
async def async_log_metrics_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """The trap (docs/MIGRATING.md, "Works with"): ``log_metrics`` calls the handler synchronously, gets a
    coroutine, and flushes before lambdaloop awaits it."""
    await asyncio.sleep(0)
    metrics.add_metric(name="LateMetric", unit=MetricUnit.Count, value=1)
    return {"id": event["id"]}


def context_shape(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """The type of every attribute Powertools' ``LambdaContext`` annotation declares, read on
    the real context object (nested objects too)."""
    from aws_lambda_powertools.utilities.typing import lambda_context as lc
    from aws_lambda_powertools.utilities.typing.lambda_client_context import LambdaClientContext
    from aws_lambda_powertools.utilities.typing.lambda_client_context_mobile_client import (
        LambdaClientContextMobileClient,
    )
    from aws_lambda_powertools.utilities.typing.lambda_cognito_identity import LambdaCognitoIdentity

    def props(cls: type) -> list[str]:
        return sorted(name for name, value in vars(cls).items() if isinstance(value, property))

    def shape(obj: object, cls: type) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in props(cls):
            value = getattr(obj, name)
            nested = {
                "identity": LambdaCognitoIdentity,
                "client_context": LambdaClientContext,
                "client": LambdaClientContextMobileClient,
            }.get(name)
            out[name] = shape(value, nested) if nested and value is not None else type(value).__name__
        return out

    result = shape(context, lc.LambdaContext)
    result["get_remaining_time_in_millis"] = type(context.get_remaining_time_in_millis()).__name__
    result["client_context.custom"] = context.client_context.custom if context.client_context else None
    return result


rest_app = APIGatewayRestResolver()
http_app = APIGatewayHttpResolver()
url_app = LambdaFunctionUrlResolver()


@rest_app.get("/orders/<order_id>")
@http_app.get("/orders/<order_id>")
@url_app.get("/orders/<order_id>")
def get_order(order_id: str) -> dict[str, Any]:
    app = _current_app()
    return {"order_id": order_id, "query": app.current_event.get_query_string_value("verbose", "")}


@rest_app.post("/orders")
@http_app.post("/orders")
@url_app.post("/orders")
def create_order() -> tuple[dict[str, Any], int]:
    app = _current_app()
    return {"created": app.current_event.json_body}, 201


_CURRENT: list[Any] = []


def _current_app() -> Any:
    return _CURRENT[-1]


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
def rest_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    _CURRENT[:] = [rest_app]
    return rest_app.resolve(event, context)


def http_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    _CURRENT[:] = [http_app]
    return http_app.resolve(event, context)


def url_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    _CURRENT[:] = [url_app]
    return url_app.resolve(event, context)


resolver_async_app = APIGatewayHttpResolver()


@resolver_async_app.get("/async/<name>")
async def async_route(name: str) -> dict[str, Any]:
    await asyncio.sleep(0)
    return {"hello": name, "loop_was_running": _running_loop()}


def resolve_async_run_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Powertools' documented async pattern for resolvers: ``asyncio.run(app.resolve_async())``."""
    return asyncio.run(resolver_async_app.resolve_async(event, context))


async def resolve_async_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """The same resolver awaited on lambdaloop's persistent loop."""
    return await resolver_async_app.resolve_async(event, context)
