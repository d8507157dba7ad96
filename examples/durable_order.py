"""A durable function (AWS's durable execution SDK, ``pip install aws-durable-execution-sdk-python``):
each step runs once and is checkpointed, a failed step is retried after a delay, and a wait
suspends the function, which is invoked again when it is over and replays to where it stopped.

Run the whole execution locally, every invocation through lambdaloop (needs
``aws-durable-execution-sdk-python-testing`` too, AWS's local durable service)::

    lambdaloop invoke examples/durable_order.handler --durable --event '{"order": "o-1", "qty": 3}'
"""

from __future__ import annotations

import logging
from typing import Any

from aws_durable_execution_sdk_python import DurableContext, StepContext, durable_execution
from aws_durable_execution_sdk_python.config import Duration, JitterStrategy, StepConfig
from aws_durable_execution_sdk_python.retries import RetryStrategyConfig, create_retry_strategy

log = logging.getLogger(__name__)
log.setLevel(logging.INFO)

RETRY = StepConfig(
    retry_strategy=create_retry_strategy(
        RetryStrategyConfig(max_attempts=3, initial_delay=Duration.from_seconds(1), jitter_strategy=JitterStrategy.NONE)
    )
)


@durable_execution
def handler(event: dict[str, Any], context: DurableContext) -> dict[str, Any]:
    def reserve(step: StepContext) -> str:
        log.info("reserving %s x %s, attempt %s", event["order"], event["qty"], step.attempt)
        if step.attempt == 1 or event.get("out_of_stock"):
            raise RuntimeError("the warehouse did not answer")
        return f"R-{event['order']}"

    def charge(step: StepContext) -> int:
        log.info("charging for %s", event["order"])
        return 12 * event["qty"]

    reservation = context.step(reserve, name="reserve", config=RETRY)
    context.wait(Duration.from_seconds(3), name="hold")  # the function is not running meanwhile
    amount = context.step(charge, name="charge")
    return {"order": event["order"], "reservation": reservation, "charged": amount}
