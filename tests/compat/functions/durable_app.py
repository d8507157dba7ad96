"""A durable function (AWS's durable execution SDK): two steps, a wait, and a step that
fails its first attempt and succeeds on the retry (or fails every attempt, with
``"fail_reserve": true`` in the event). Its checkpoints go to the Lambda API at
``AWS_ENDPOINT_URL_LAMBDA`` (the SDK's local checkpoint service on 127.0.0.1 in the tests).

Every log record says which invocation it expects to belong to (``expectedRequestId``, read
from the Lambda context when the handler is entered) and which thread wrote it, so a test can
check that records written in the SDK's worker threads carry the invocation's request id.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from aws_durable_execution_sdk_python import DurableContext, StepContext, durable_execution
from aws_durable_execution_sdk_python.config import Duration, JitterStrategy, StepConfig
from aws_durable_execution_sdk_python.retries import RetryStrategyConfig, create_retry_strategy

log = logging.getLogger("durable_app")
log.setLevel(logging.INFO)


class FlakyWarehouse(Exception):
    """The first attempt of the reservation step fails with this."""


# One retry after one second, no jitter: the schedule is the same in every run.
RETRY_ONCE = StepConfig(
    retry_strategy=create_retry_strategy(
        RetryStrategyConfig(
            max_attempts=2,
            initial_delay=Duration.from_seconds(1),
            backoff_rate=1,
            jitter_strategy=JitterStrategy.NONE,
            retryable_error_types=[FlakyWarehouse],
        )
    )
)


def _where(request_id: str, **more: Any) -> dict[str, Any]:
    return {"expectedRequestId": request_id, "writer": threading.current_thread().name, **more}


@durable_execution
def handler(event: dict[str, Any], context: DurableContext) -> dict[str, Any]:
    request_id = context.lambda_context.aws_request_id
    log.info("invocation entered", extra=_where(request_id, replaying=context.is_replaying()))

    def price(step: StepContext) -> int:
        step.logger.info("pricing", extra=_where(request_id, attempt=step.attempt))
        return sum(line["qty"] * line["unit"] for line in event["lines"])

    def reserve(step: StepContext) -> str:
        log.info("reserving", extra=_where(request_id, attempt=step.attempt))
        if event.get("fail_reserve"):
            raise FlakyWarehouse("warehouse down")  # every attempt: the retries run out
        if step.attempt == 1:
            raise FlakyWarehouse("warehouse busy, try again")
        return f"R-{event['order']}-{step.attempt}"

    def confirm(step: StepContext) -> str:
        log.info("confirming", extra=_where(request_id, attempt=step.attempt))
        return "confirmed"

    total = context.step(price, name="price")
    reservation = context.step(reserve, name="reserve", config=RETRY_ONCE)
    context.wait(Duration.from_seconds(2), name="cool-off")
    status = context.step(confirm, name="confirm")
    return {"order": event["order"], "total": total, "reservation": reservation, "status": status}
