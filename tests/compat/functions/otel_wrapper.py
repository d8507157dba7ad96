"""The OpenTelemetry Lambda layer's handler redirection, as its ``otel_wrapper.py`` does it
(open-telemetry/opentelemetry-lambda ``python/src/otel/otel_sdk/otel_wrapper.py``): Lambda
runs ``_HANDLER=otel_wrapper.lambda_handler``, which instruments and then imports the function's
real handler, named by ``ORIG_HANDLER``.

The layer's ``otel-instrument`` script configures the SDK from the environment; here the
provider is set up in code instead, with an exporter that prints one JSON line per span
(``OTEL_SPAN {...}``) to the function's log, so nothing leaves the machine.
"""

from __future__ import annotations

import os
from importlib import import_module

from opentelemetry import metrics, trace
from opentelemetry.instrumentation.aws_lambda import AwsLambdaInstrumentor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SimpleSpanProcessor


def _one_line(span: ReadableSpan) -> str:
    return "OTEL_SPAN " + span.to_json(indent=None) + "\n"


provider = TracerProvider(resource=Resource.create({"service.name": os.environ["AWS_LAMBDA_FUNCTION_NAME"]}))
provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter(formatter=_one_line)))
trace.set_tracer_provider(provider)
# An SDK meter provider too, as the layer has: the instrumentation flushes it after each invoke.
metrics.set_meter_provider(MeterProvider())


class HandlerError(Exception):
    pass


AwsLambdaInstrumentor().instrument()

path = os.environ.get("ORIG_HANDLER")
if path is None:
    raise HandlerError("ORIG_HANDLER is not defined.")
try:
    (mod_name, handler_name) = path.rsplit(".", 1)
except ValueError as e:
    raise HandlerError(f"Bad path '{path}' for ORIG_HANDLER: {e}") from e

handler_module = import_module(mod_name.replace("/", "."))
lambda_handler = getattr(handler_module, handler_name)
