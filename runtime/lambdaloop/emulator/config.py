"""What the emulator is told about the function, and the environment it builds from that.

Defaults follow the classic RIE (function name ``test_function``, 3008 MB, ``$LATEST``,
account ``012345678912``, 300 s timeout) so a handler sees the same context under both;
unlike the RIE it also sets ``LAMBDA_TASK_ROOT`` and ``AWS_REGION``, which real Lambda sets
and which lambdaloop's bootstrap reads.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field

from lambdaloop import protocol

DEFAULT_TIMEOUT_S = 300.0
ACCOUNT_ID = "012345678912"


def _env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    try:
        return float(value) if value else default
    except ValueError:
        return default


@dataclass(slots=True)
class EmulatorConfig:
    """``command`` is the bootstrap to run (argv); by default lambdaloop's own module entry,
    ``python -m lambdaloop HANDLER``."""

    handler: str
    command: list[str] | None = None
    task_root: str = field(default_factory=os.getcwd)
    timeout_s: float = field(default_factory=lambda: _env_float("AWS_LAMBDA_FUNCTION_TIMEOUT", DEFAULT_TIMEOUT_S))
    # Lambda limits the init phase to 10 s on demand; a slower init fails like a timeout.
    init_timeout_s: float = 10.0
    memory_mb: int = field(default_factory=lambda: int(_env_float("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", 3008)))
    function_name: str = field(default_factory=lambda: os.environ.get("AWS_LAMBDA_FUNCTION_NAME") or "test_function")
    function_version: str = "$LATEST"
    region: str = field(default_factory=lambda: os.environ.get("AWS_REGION") or "us-east-1")
    # Extra variables for the runtime (and extensions), on top of the emulator's own environment.
    env: dict[str, str] = field(default_factory=dict)
    # Executables here start as external extensions at init (Lambda: /opt/extensions).
    extensions_dir: str | None = "/opt/extensions"
    host: str = "127.0.0.1"
    runtime_port: int = 0  # 0 = pick a free port
    invoke_port: int = 0
    # Shutdown budgets, as documented for Lambda: 2 s with an external extension, 500 ms
    # with internal ones only; the runtime gets the first part of it after SIGTERM.
    # Lambda Managed Instances: this many invocations at once (0: one at a time, classic).
    concurrency: int = 0
    # SnapStart: init and the before-snapshot hooks once, then each new environment is a
    # restore of that snapshot (a fork of the runtime parked in /restore/next).
    snapstart: bool = False
    # Lambda's limit on the restore phase (after-restore hooks); past it the invoke fails with
    # SnapStartTimeoutException.
    restore_timeout_s: float = 10.0
    # Each restored runtime leaves a fingerprint of state that should differ per environment
    # (lambdaloop.snapcheck): a few ms in each restored process, left out of Restore Duration.
    uniqueness_check: bool = True
    shutdown_budget_s: float = 2.0
    runtime_shutdown_s: float = 0.5

    @property
    def init_limit_s(self) -> float:
        """How long init may take: ``init_timeout_s``, or with SnapStart, where init runs when a
        version is published, Lambda's larger limit: 130 s or the function's timeout, at most 15 min."""
        if self.snapstart:
            return max(self.init_timeout_s, min(900.0, max(130.0, self.timeout_s)))
        return self.init_timeout_s

    def resolved_command(self) -> list[str]:
        return list(self.command) if self.command else [sys.executable, "-m", "lambdaloop", self.handler]

    @property
    def function_arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{ACCOUNT_ID}:function:{self.function_name}"

    @property
    def log_group(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    def base_environment(self, runtime_api: str) -> dict[str, str]:
        """What every process of the environment (runtime and extensions) sees."""
        env = dict(os.environ)
        env.update(
            AWS_LAMBDA_RUNTIME_API=runtime_api,
            AWS_LAMBDA_FUNCTION_NAME=self.function_name,
            AWS_LAMBDA_FUNCTION_MEMORY_SIZE=str(self.memory_mb),
            AWS_LAMBDA_FUNCTION_VERSION=self.function_version,
            AWS_LAMBDA_FUNCTION_TIMEOUT=_format_seconds(self.timeout_s),
            AWS_REGION=self.region,
            AWS_DEFAULT_REGION=self.region,
            AWS_LAMBDA_INITIALIZATION_TYPE="on-demand",
        )
        env.update(self.env)
        return env

    def runtime_environment(self, runtime_api: str, log_stream: str) -> dict[str, str]:
        env = self.base_environment(runtime_api)
        env.update(
            _HANDLER=self.handler,
            LAMBDA_TASK_ROOT=self.task_root,
            AWS_LAMBDA_LOG_GROUP_NAME=self.log_group,
            AWS_LAMBDA_LOG_STREAM_NAME=log_stream,
        )
        # Python's own buffering would hold the function's log lines until exit; Lambda
        # shows them as they are written.
        env.setdefault("PYTHONUNBUFFERED", "1")
        if self.concurrency:
            # What the LMI engine gives a runtime (its JSON logs too, unless asked otherwise).
            env["AWS_LAMBDA_MAX_CONCURRENCY"] = str(self.concurrency)
            env["AWS_LAMBDA_INITIALIZATION_TYPE"] = "lambda-managed-instances"
            env["AWS_LAMBDA_LOG_FORMAT"] = "json"
        if self.snapstart:
            env["AWS_LAMBDA_INITIALIZATION_TYPE"] = "snap-start"
            env[protocol.SNAPSHOT_ENV] = "fork"
            # Not set for SnapStart functions (Lambda's SnapStart monitoring docs): the log
            # stream of a restored environment is not known when the snapshot is taken.
            del env["AWS_LAMBDA_LOG_GROUP_NAME"], env["AWS_LAMBDA_LOG_STREAM_NAME"]
        env.update(self.env)
        return env

    def extension_environment(self, runtime_api: str) -> dict[str, str]:
        # Extensions do not see the handler or the task root (Lambda documents this).
        env = self.base_environment(runtime_api)
        for name in ("_HANDLER", "LAMBDA_TASK_ROOT", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME"):
            if name not in self.env:
                env.pop(name, None)
        return env


def _format_seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
