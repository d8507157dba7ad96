"""boto3 clients created at init and reused by every invoke, against a stub endpoint on
127.0.0.1 (``COMPAT_AWS_ENDPOINT``): no AWS call is ever made."""

from __future__ import annotations

import os
from typing import Any

import boto3
from botocore.config import Config

# At init, as AWS recommends: the client (and its connection pool) outlives the invoke.
dynamodb = boto3.client(
    "dynamodb",
    endpoint_url=os.environ["COMPAT_AWS_ENDPOINT"],
    config=Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=2, read_timeout=5),
)
TABLE = "orders"


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    dynamodb.put_item(TableName=TABLE, Item={"pk": {"S": event["id"]}, "n": {"N": str(event["n"])}})
    item = dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": event["id"]}})["Item"]
    return {"id": item["pk"]["S"], "n": int(item["n"]["N"]), "client": id(dynamodb)}


async def async_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The same client from a coroutine handler (lambdaloop): a blocking call, but it works
    and shares the pool."""
    return handler(event, context)
