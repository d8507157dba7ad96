"""An external extension for the tests, built on lambdaloop.extensions. Behaviour comes from
environment variables; everything it sees goes, as JSON lines, to EXT_TEST_DIR/<name>.jsonl."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time

from lambdaloop.extensions import Buffering, Extension, ExtensionAPIError, PlatformReport


def main() -> None:
    ext = Extension(events=json.loads(os.environ["EXT_EVENTS"]) if os.environ.get("EXT_EVENTS") else None)
    out = os.path.join(os.environ["EXT_TEST_DIR"], f"{ext.name}.jsonl")

    def record(kind: str, **fields: object) -> None:
        with open(out, "a", encoding="utf-8") as f:
            f.write(json.dumps({"kind": kind, "t": time.time(), **fields}) + "\n")

    @ext.on_invoke
    def invoke(event) -> None:
        record("invoke", request_id=event.request_id, deadline_ms=event.deadline_ms, arn=event.invoked_function_arn)

    if os.environ.get("EXT_ASYNC_SHUTDOWN") == "1":

        @ext.on_shutdown
        async def shutdown(event) -> None:
            await asyncio.sleep(0.01)
            record(
                "shutdown", reason=event.reason, raw=event.raw_reason, remaining_ms=event.remaining_ms(), mode="async"
            )
            await asyncio.sleep(float(os.environ.get("EXT_SHUTDOWN_SLEEP", "0")))
            record("shutdown_done")
    else:

        @ext.on_shutdown
        def shutdown(event) -> None:
            record(
                "shutdown", reason=event.reason, raw=event.raw_reason, remaining_ms=event.remaining_ms(), mode="sync"
            )
            time.sleep(float(os.environ.get("EXT_SHUTDOWN_SLEEP", "0")))
            record("shutdown_done")

    if os.environ.get("EXT_TELEMETRY") == "1":

        @ext.on_telemetry(
            types=["platform", "function"],
            buffering=Buffering(1000, 262144, 25),
            schema_version=os.environ.get("EXT_SCHEMA") or None,
        )
        def telemetry(records) -> None:
            for r in records:
                fields: dict[str, object] = {"type": r.type}
                if isinstance(r, PlatformReport):
                    m = r.report_metrics
                    fields.update(
                        request_id=r.request_id,
                        duration_ms=m.duration_ms,
                        billed=m.billed_duration_ms,
                        memory=m.memory_size_mb,
                        max_memory=m.max_memory_used_mb,
                    )
                elif r.type == "function":
                    fields["message"] = r.message
                elif r.type == "platform.start":
                    fields["request_id"] = r.request_id
                record("telemetry", **fields)

    if os.environ.get("EXT_WRONG_NAME_FIRST") == "1":
        # The platform matches external extensions by file name; under another name this
        # one counts as internal, and internal extensions may not ask for SHUTDOWN.
        try:
            Extension("not-my-file-name", events=["INVOKE", "SHUTDOWN"]).register()
        except ExtensionAPIError as exc:
            record("wrong_name_refused", status=exc.status, error_type=exc.error_type, message=exc.message)
    try:
        registered = ext.register()
    except ExtensionAPIError as exc:
        record("register_failed", status=exc.status, error_type=exc.error_type, message=exc.message)
        sys.exit(3)
    reg = registered.registration
    record(
        "registered",
        function_name=reg.function_name,
        version=reg.function_version,
        handler=reg.handler,
        account_id=reg.account_id,
        port=registered.telemetry_port,
    )
    if os.environ.get("EXT_INIT_ERROR") == "1":
        registered.init_error("the test asked for it", "Extension.TestInitError")
        record("init_error_posted")
        sys.exit(4)
    registered.run()
    record("exited")


if __name__ == "__main__":
    main()
