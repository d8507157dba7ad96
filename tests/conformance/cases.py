"""The scenarios: which handler runs, in which environment, with which ``/next`` answers.

Request ids are case ids: the handlers dispatch on them, and the posts carry them in the
path, so each case's requests can be picked out of a run that serves many cases.
"""

from __future__ import annotations

import json
from dataclasses import replace

from .recorder import NextAnswer
from .runner import Scenario


def _json(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


FULL_CLIENT_CONTEXT = json.dumps(
    {
        "custom": {"k": "v", "n": 1, "list": [1, 2]},
        "env": {"platform": "Android", "locale": "en_US"},
        "client": {
            "installation_id": "inst-1",
            "app_title": "App",
            "app_version_name": "1.0",
            "app_version_code": "1",
            "app_package_name": "com.example",
        },
        "w3c": {"traceparent": "00-abc-def-01", "tracestate": "x=1", "baggage": "k=v"},
    }
)
COGNITO = json.dumps({"cognitoIdentityId": "us-east-1:abc", "cognitoIdentityPoolId": "us-east-1:pool"})

# ---- the main corpus: one process serves all of these, in this order -----------------------

_SIMPLE = [
    # results
    "return-dict", "return-list", "return-tuple", "return-str", "return-empty-str", "return-str-escapes",
    "return-none", "return-true", "return-int", "return-big-ints", "return-floats", "return-float",
    "return-decimal", "return-decimals", "return-bytes", "return-empty-bytes", "return-bytearray",
    "return-unicode", "return-control-chars", "return-nested", "return-non-str-keys", "return-key-order",
    "return-1mb", "return-5mb", "return-int-enum", "return-str-enum", "return-dict-subclass",
    # results that cannot be serialized -> Runtime.MarshalError
    "unserializable-set", "unserializable-object", "unserializable-datetime", "unserializable-tuple-key",
    "unserializable-nested-deep", "unserializable-circular", "unserializable-circular-list",
    # exceptions
    "raise-value-error-multiline", "raise-custom", "raise-custom-str", "raise-no-message", "raise-assert",
    "raise-chained", "raise-implicit-chain", "raise-during-handling", "raise-deep", "raise-non-ascii",
    "raise-key-error", "raise-lambda-and-comprehension", "raise-zero-division", "raise-huge-message",
    "raise-os-error", "raise-repeated-frames",
]  # fmt: skip

# NaN and Infinity: awslambdaric sends invalid JSON, lambdaloop null (their own test).
NAN_CASES = ["nan-float", "infinity-float", "nan-decimal"]

_EVENTS: list[NextAnswer] = [
    NextAnswer("echo-json-object", b'{"a": 1, "nested": {"b": [1, 2.5, null, true, false]}, "s": "x"}'),
    NextAnswer("echo-json-list", b"[1, 2, 3]"),
    NextAnswer("echo-json-string", b'"just a string"'),
    NextAnswer("echo-json-number", b"12.50"),
    NextAnswer("echo-json-big-number", b"123456789012345678901234567890"),
    NextAnswer("echo-json-exponent", b"[1e5, 1E-5, -0, 0.0, 1.0e2]"),
    NextAnswer("echo-json-null", b"null"),
    NextAnswer("echo-json-unicode-escapes", b'{"e": "\\ud83d\\ude00 \\u00e9 \\u0000 \\n \\/"}'),
    NextAnswer("echo-json-raw-utf8", '{"e": "é😀 日本"}'.encode()),
    NextAnswer("echo-json-duplicate-keys", b'{"a": 1, "a": 2}'),
    NextAnswer("echo-json-whitespace", b' \n\t{"a" : 1 } \r\n'),
    NextAnswer("event-text-plain", b"plain text \xff\x00", content_type="text/plain"),
    NextAnswer("event-json-with-charset", b'{"a": 1}', content_type="application/json; charset=utf-8"),
    NextAnswer("event-json-uppercase", b'{"a": 1}', content_type="Application/JSON"),
    NextAnswer("event-octet-stream", bytes(range(256)), content_type="application/octet-stream"),
    NextAnswer("event-empty-text", b"", content_type="text/plain"),
    NextAnswer("large-event-summary", _json({"blob": "z" * 1_000_000, "other": 1})),
    # bodies that are not JSON with a JSON content type -> Runtime.UnmarshalError
    NextAnswer("unmarshal-bad-json", b"{bad json"),
    NextAnswer("unmarshal-empty", b""),
    NextAnswer("unmarshal-trailing-data", b"{} x"),
    NextAnswer("unmarshal-truncated", b'{"a": [1, 2'),
    NextAnswer("unmarshal-single-quotes", b"{'a': 1}"),
    NextAnswer("unmarshal-invalid-utf8", b'{"a": "\xff"}'),
    NextAnswer("unmarshal-bom", b'\xef\xbb\xbf{"a": 1}'),
    NextAnswer("unmarshal-control-char-in-string", b'{"a": "x\x01y"}'),
]

_CONTEXT: list[NextAnswer] = [
    NextAnswer(
        "context-full",
        client_context=FULL_CLIENT_CONTEXT,
        cognito_identity=COGNITO,
        tenant_id="tenant-A",
        invocation_id="inv-123",
    ),
    # After context-full: the trace id must be gone from the environment, the ARN is "".
    NextAnswer("context-minimal", function_arn=None, trace_id=None),
    NextAnswer(
        "context-w3c-filtered",
        client_context=json.dumps({"w3c": {"traceparent": "00-abc-def-01", "tracestate": 5, "other": "x"}}),
    ),
    NextAnswer(
        "context-unicode",
        client_context=json.dumps({"custom": {"name": "Zoë 😀"}, "env": None}, ensure_ascii=False),
        cognito_identity=json.dumps({"cognitoIdentityId": "id-é"}, ensure_ascii=False),
        tenant_id="tenant-ü",
    ),
    NextAnswer("context-null-client-context", client_context="null", cognito_identity="{}"),
    NextAnswer("context-deadline", deadline_ms="4102444800000"),
    NextAnswer("context-invocation-id", invocation_id="inv-9f8e"),
    NextAnswer("context-error-with-invocation-id", invocation_id="inv-err-1"),
    # headers that are not JSON -> Runtime.LambdaContextUnmarshalError
    NextAnswer("bad-client-context", client_context="{not json"),
    NextAnswer("bad-cognito-identity", cognito_identity="[1, 2"),
]

MAIN_SCRIPT: tuple[NextAnswer, ...] = (
    *(NextAnswer(case) for case in _SIMPLE),
    *_EVENTS,
    *_CONTEXT,
    *(NextAnswer(case) for case in NAN_CASES),
    NextAnswer("return-namedtuple"),
)
MAIN = Scenario("main", "corpus.handler", MAIN_SCRIPT)
DIFFERENTIAL_CASES = [answer.request_id for answer in MAIN_SCRIPT if answer.request_id not in NAN_CASES]

# ---- logging: the same invocations under every log configuration ----------------------------

_LOG_SCRIPT = (
    NextAnswer("log-levels"),
    NextAnswer("log-channels"),
    NextAnswer("log-exception"),
    NextAnswer("log-structured"),
    NextAnswer("log-then-raise"),
    NextAnswer("log-then-unmarshal", b"{bad"),
    NextAnswer("log-tenant", tenant_id="tenant-A"),
    NextAnswer("log-environment"),
)


def _log_scenario(name: str, telemetry: str | None = None, **env: str) -> Scenario:
    return Scenario(f"logs-{name}", "logs_app.handler", _LOG_SCRIPT, tuple(env.items()), telemetry)  # type: ignore[arg-type]


LOG_SCENARIOS = [
    _log_scenario("text"),
    _log_scenario("text-debug", AWS_LAMBDA_LOG_LEVEL="DEBUG"),
    _log_scenario("text-trace-lowercase", AWS_LAMBDA_LOG_LEVEL="trace"),
    _log_scenario("text-info-fd-file", "file", AWS_LAMBDA_LOG_LEVEL="INFO"),
    _log_scenario("text-fd-pipe", "pipe"),
    _log_scenario("json", AWS_LAMBDA_LOG_FORMAT="JSON"),
    _log_scenario("json-info", AWS_LAMBDA_LOG_FORMAT="JSON", AWS_LAMBDA_LOG_LEVEL="INFO"),
    _log_scenario("json-lowercase-debug-fd-pipe", "pipe", AWS_LAMBDA_LOG_FORMAT="json", AWS_LAMBDA_LOG_LEVEL="DEBUG"),
    _log_scenario("json-error-fd-file", "file", AWS_LAMBDA_LOG_FORMAT="JSON", AWS_LAMBDA_LOG_LEVEL="ERROR"),
]

# ---- init: handler strings that fail (or, for the slash form, work) -------------------------

_ONE = (NextAnswer("init-probe", b'{"probe": true}'),)
INIT_ERRORS = {
    "malformed-name": "app",
    "builtin-conflict": "sys.handler",
    "builtin-conflict-dotted": "sys.sub.handler",
    "builtin-slash-form-skips-check": "sys/sub.handler",
    "missing-module": "missing_module_xyz.handler",
    "module-imports-missing": "importerr.handler",
    "missing-transitive-dependency": "transitive.handler",
    "cannot-import-name": "cannot_import_name.handler",
    "syntax-error": "syntaxerr.handler",
    "indentation-error": "syntaxerr_indent.handler",
    "handler-not-found": "corpus.nope",
    "raises-at-import": "raises_at_import.handler",
    "missing-module-slash-form": "pkg/sub/missing.handler",
    "empty-function-name": "corpus.",
}
INIT_SCENARIOS = [Scenario(f"init-{name}", handler, _ONE) for name, handler in INIT_ERRORS.items()]
# Init errors under the other log configurations (the warning and the error line are logged).
_JSON_LOGS = (("AWS_LAMBDA_LOG_FORMAT", "JSON"),)
INIT_LOG_SCENARIOS = [
    Scenario("init-raises-at-import-json-fd", "raises_at_import.handler", _ONE, _JSON_LOGS, "file"),
    Scenario("init-missing-module-text-fd", "missing_module_xyz.handler", _ONE, (), "pipe"),
    Scenario("init-syntax-error-json", "syntaxerr.handler", _ONE, _JSON_LOGS),
]

# Handler strings that work: a normal run.
WORKING_HANDLERS = [
    Scenario("handler-slash-form", "pkg/sub/mod.handler", (NextAnswer("slash-ok", b'{"x": 1}'),)),
    Scenario("handler-dotted-form", "pkg.sub.mod.handler", (NextAnswer("dotted-ok", b'{"x": 1}'),)),
    Scenario("handler-slash-form-error", "pkg/sub/mod.fails", (NextAnswer("slash-fails"),)),
]
# The only frame of its stack trace is the runtime's own call of the handler: its own test.
NOT_CALLABLE = Scenario("handler-not-callable", "corpus.NOT_CALLABLE", (NextAnswer("not-callable"),))

# ---- awslambdaric bugs and documented differences, each checked by its own test ----------------

SYS_EXIT = Scenario("sys-exit", "corpus.handler", (NextAnswer("sys-exit"), NextAnswer("return-dict")))
KEYBOARD_INTERRUPT = Scenario("keyboard-interrupt", "corpus.handler", (NextAnswer("keyboard-interrupt"),))
LONE_SURROGATE = Scenario("lone-surrogate", "corpus.handler", (NextAnswer("return-lone-surrogate"),))
EXIT_AT_IMPORT = Scenario("init-exit-at-import", "exits_at_import.handler", _ONE)
BAD_STR = Scenario("raise-bad-str", "corpus.handler", (NextAnswer("raise-bad-str"), NextAnswer("return-dict")))
INIT_NON_ASCII = Scenario("init-non-ascii-message", "raises_non_ascii_at_import.handler", _ONE)
INIT_LATIN1 = Scenario("init-latin1-message", "raises_latin1_at_import.handler", _ONE)

# /next answers that crash awslambdaric's C++ client; lambdaloop must answer them and go on.
_GOOD = NextAnswer("echo-after-bad-next", b'{"still": "alive"}')
BAD_NEXT = {
    "missing-content-type": Scenario(
        "bad-next-missing-content-type",
        "corpus.handler",
        (NextAnswer("echo-no-content-type", content_type=None), _GOOD),
    ),
    "deadline-zero": Scenario(
        "bad-next-deadline-zero", "corpus.handler", (replace(NextAnswer("context-deadline"), deadline_ms="0"), _GOOD)
    ),
}
AWSLAMBDARIC_CRASH_SIGNALS = {"missing-content-type": "SIGSEGV", "deadline-zero": "SIGABRT"}

ALL_DIFFERENTIAL = [MAIN, *LOG_SCENARIOS, *INIT_SCENARIOS, *INIT_LOG_SCENARIOS, *WORKING_HANDLERS]
