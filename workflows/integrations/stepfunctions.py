"""``arn:aws:states:::states:startExecution`` (request, ``.sync``, ``.sync:2``).

Nested executions are started by an injected ``start_execution`` callable when the
local runtime provides one, else through boto3 ``stepfunctions`` (which honours
``AWS_ENDPOINT_URL_SFN``), polling ``DescribeExecution`` on the execution's
clock for ``.sync``.

Results, as Step Functions returns them:

- request-response: ``{"ExecutionArn", "StartDate", "SdkHttpMetadata", "SdkResponseMetadata"}``
- ``.sync``: the child's ``DescribeExecution`` (PascalCase keys), ``Output`` a JSON string
- ``.sync:2``: the same with ``Input`` and ``Output`` parsed as JSON

Dates are epoch milliseconds. A child that ends in any status but ``SUCCEEDED`` fails
the task with ``States.TaskFailed``, the cause being that ``DescribeExecution`` as JSON.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Mapping
from typing import Any, Final, Protocol

from botocore.exceptions import ClientError

from workflows.engine.errors import StatesError
from workflows.engine.tasks import TaskRequest
from workflows.integrations._boto import (
    ClientPool,
    OptimizedService,
    call,
    compact_json,
    jsonable,
    optimized_error,
    runtime_error,
)
from workflows.integrations.wire import service_metadata

__all__ = ["STEP_FUNCTIONS", "StartExecution", "StartExecutionFn"]

STEP_FUNCTIONS = OptimizedService("StepFunctions", "AWSStepFunctions", "AWSStepFunctionsException")

_RUNNING = frozenset({"RUNNING", "PENDING_REDRIVE"})


class StartExecutionFn(Protocol):
    """What the local runtime injects to start (and, with ``wait``, await) an execution.

    ``input`` is the execution input as JSON text (as the StartExecution API takes it);
    ``name`` is ``None`` when the Task gave none; ``parent`` is the execution whose Task
    starts it (the runtime records it, so the child can say who started it). Without
    ``wait`` return at least ``executionArn``/``ExecutionArn`` and ``startDate``; with
    ``wait`` return the finished execution as ``DescribeExecution`` does. Keys may be
    boto3's camelCase or PascalCase; dates may be ``datetime`` objects. Raise
    ``StatesError`` (or a botocore ``ClientError``) to fail the task with a specific error.
    """

    def __call__(
        self,
        state_machine_arn: str,
        input: str,
        name: str | None,
        *,
        wait: bool,
        parent: str | None = None,
    ) -> Awaitable[Mapping[str, Any]]: ...


class StartExecution:
    """The ``states:startExecution`` integration."""

    def __init__(
        self,
        pool: ClientPool,
        start_execution: StartExecutionFn | None = None,
        *,
        poll_interval: float = 1.0,
        max_poll_interval: float = 5.0,
    ) -> None:
        self._pool = pool
        self._start = start_execution
        self._poll = poll_interval
        self._max_poll = max(max_poll_interval, poll_interval)

    async def __call__(self, request: TaskRequest) -> Any:
        params = request.parameters
        if not isinstance(params, Mapping):
            raise runtime_error(
                f"The parameters of '{request.resource.arn}' must be a JSON object, "
                f"not {compact_json(params)}"
            )
        arn = params.get("StateMachineArn")
        if not isinstance(arn, str):
            raise runtime_error(
                f"The field 'StateMachineArn' is required by {request.resource.arn} "
                "and must be a string"
            )
        raw_input = params.get("Input")  # null is no input at all: the child gets {}
        if raw_input is None:
            input_text = "{}"
        else:
            input_text = raw_input if isinstance(raw_input, str) else compact_json(raw_input)
        name = params.get("Name")
        if name is not None and not isinstance(name, str):
            raise runtime_error(f"The field 'Name' of {request.resource.arn} must be a string")
        pattern = request.resource.pattern
        wait = pattern in ("sync", "sync:2")
        if self._start is not None:
            return await self._via_runtime(request, arn, input_text, name, wait, pattern)
        return await self._via_boto(request, arn, input_text, name, wait, pattern)

    async def _via_runtime(
        self,
        request: TaskRequest,
        arn: str,
        input_text: str,
        name: str | None,
        wait: bool,
        pattern: str,
    ) -> Any:
        assert self._start is not None
        try:
            answer = await self._start(
                arn, input_text, name, wait=wait, parent=request.execution_arn
            )
        except StatesError:
            raise
        except ClientError as exc:
            raise optimized_error(STEP_FUNCTIONS, self._modeled(exc)) from exc
        described = _pascal_keys(jsonable(dict(answer), "millis"))
        for key in _DATE_KEYS:
            if key in described:
                described[key] = _epoch_millis(described[key])
        if not wait:
            return _started(str(described.get("ExecutionArn")), described.get("StartDate"), request)
        return _finished(described, pattern)

    def _modeled(self, exc: ClientError) -> ClientError:
        """The runtime's error as the Step Functions client would raise it (modeled class)."""
        if type(exc) is not ClientError:
            return exc
        code = str((exc.response.get("Error") or {}).get("Code") or "")
        error_class = self._pool.client("stepfunctions").exceptions.from_code(code)
        modeled: ClientError = error_class(exc.response, exc.operation_name)
        return modeled

    async def _via_boto(
        self,
        request: TaskRequest,
        arn: str,
        input_text: str,
        name: str | None,
        wait: bool,
        pattern: str,
    ) -> Any:
        kwargs: dict[str, Any] = {"stateMachineArn": arn, "input": input_text}
        if name is not None:
            kwargs["name"] = name
        try:
            started = await call(request, self._pool, "stepfunctions", "start_execution", kwargs)
        except Exception as exc:
            raise optimized_error(STEP_FUNCTIONS, exc) from exc
        execution_arn = started["executionArn"]
        if not wait:
            request_id = (started.get("ResponseMetadata") or {}).get("RequestId")
            start = jsonable(started.get("startDate"), "millis")
            return _started(execution_arn, start, request, request_id)
        interval = self._poll
        try:
            while True:
                try:
                    described = await call(
                        request,
                        self._pool,
                        "stepfunctions",
                        "describe_execution",
                        {"executionArn": execution_arn},
                    )
                except Exception as exc:
                    raise optimized_error(STEP_FUNCTIONS, exc) from exc
                if described.get("status") not in _RUNNING:
                    break
                await request.clock.sleep(interval)
                interval = min(interval * 2, self._max_poll)
        except asyncio.CancelledError:
            # The parent task timed out or its execution stopped: stop the child, as AWS does.
            await self._stop_quietly(execution_arn)
            raise
        described.pop("ResponseMetadata", None)
        return _finished(_pascal_keys(jsonable(described, "millis")), pattern)

    async def _stop_quietly(self, execution_arn: str) -> None:
        def stop() -> None:
            self._pool.client("stepfunctions").stop_execution(
                executionArn=execution_arn,
                error="States.Aborted",
                cause="The parent execution's task was stopped",
            )

        with contextlib.suppress(Exception):
            await asyncio.shield(asyncio.to_thread(stop))


_DATE_KEYS: Final = ("StartDate", "StopDate", "RedriveDate")


def _epoch_millis(value: Any) -> Any:
    """A date as the integration returns it: epoch milliseconds (seconds are converted)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value
    return round(value * 1000) if value < 100_000_000_000 else int(value)


def _started(
    execution_arn: str, start: Any, request: TaskRequest, request_id: str | None = None
) -> dict[str, Any]:
    """The request-response result: StartExecution's answer plus AWS's SDK metadata."""
    seconds = start / 1000 if isinstance(start, int | float) else request.clock.now()
    body = f'{{"executionArn":{json.dumps(execution_arn)},"startDate":{_java_double(seconds)}}}'
    metadata = service_metadata(
        "stepfunctions", body, now=request.clock.now(), request_id=request_id
    )
    return dict(sorted({"ExecutionArn": execution_arn, "StartDate": start, **metadata}.items()))


def _java_double(value: float) -> str:
    """A number as Java's ``Double.toString`` writes epoch seconds (``1.7e9`` style)."""
    digits, _, fraction = repr(float(value)).partition(".")
    mantissa = (digits[1:] + fraction).rstrip("0") or "0"
    return f"{digits[0]}.{mantissa}E{len(digits) - 1}"


def _redrive_fields(status: Any) -> dict[str, Any]:
    """What DescribeExecution answers about redrive, for an execution never redriven."""
    if status in ("FAILED", "TIMED_OUT", "ABORTED"):
        return {"RedriveCount": 0, "RedriveStatus": "REDRIVABLE"}
    return {
        "RedriveCount": 0,
        "RedriveStatus": "NOT_REDRIVABLE",
        "RedriveStatusReason": f"Execution is {status} and cannot be redriven",
    }


def _finished(described: dict[str, Any], pattern: str) -> dict[str, Any]:
    described = {**_redrive_fields(described.get("Status")), **described}
    described.setdefault("InputDetails", {"Included": True})
    if described.get("Status") == "SUCCEEDED":
        described.setdefault("OutputDetails", {"Included": True})
    for key in ("Input", "Output"):
        if key not in described or described[key] is None:
            continue
        value = described[key]
        if pattern == "sync:2":
            if isinstance(value, str):
                with contextlib.suppress(ValueError):
                    described[key] = json.loads(value)
        elif not isinstance(value, str):
            described[key] = compact_json(value)
    described = dict(sorted(described.items()))
    if described.get("Status") != "SUCCEEDED":
        raise StatesError("States.TaskFailed", compact_json(described))
    return described


_DATA_KEYS = frozenset({"Input", "Output"})


def _pascal_keys(value: Any) -> Any:
    """camelCase keys -> PascalCase, leaving the execution's data (Input, Output) alone."""
    if not isinstance(value, dict):
        return value
    converted: dict[str, Any] = {}
    for key, item in value.items():
        if key == "ResponseMetadata":
            continue
        pascal = key[:1].upper() + key[1:]
        converted[pascal] = item if pascal in _DATA_KEYS else _pascal_keys(item)
    return converted
