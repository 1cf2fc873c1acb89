"""The state types, compiled from a definition once and then run many times.

One class per state type. Input/output processing (InputPath, Parameters,
ResultSelector, ResultPath, OutputPath) and error recovery (Retry, Catch) are
shared code here, applied in the order AWS applies them. States that can never
wait (Pass, Choice, Succeed, Fail) run synchronously: the executor calls
``step`` without an ``await``, which is most of what makes long chains fast.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, Final

from workflows.engine.errors import ALL, StatesError
from workflows.engine.frame import Frame
from workflows.engine.history import dumps
from workflows.engine.paths import (
    ROOT_INPUT,
    JsonPath,
    PathNotFound,
    ResultPathError,
    compile_path,
    compile_reference_path,
    resolve,
    set_path,
)
from workflows.engine.payload import Template, compile_template
from workflows.engine.tasks import Resource, TaskRequest, parse_resource

__all__ = ["FailError", "Machine", "State", "compile_machine"]

_UNCATCHABLE_BY_ALL: Final = frozenset({"States.Runtime", "States.DataLimitExceeded"})
_NOT_TASK_FAILED: Final = frozenset(
    {"States.Timeout", "States.Runtime", "States.DataLimitExceeded"}
)


class FailError(StatesError):
    """Raised by a Fail state: the branch (or execution) fails with its error and cause."""


class Caught:
    """The outcome of a Catch: go to ``next`` with ``output``, without a StateExited event."""

    __slots__ = ("next", "output")

    def __init__(self, output: Any, next_state: str) -> None:
        self.output = output
        self.next = next_state


StepResult = tuple[Any, "str | None"]


# --------------------------------------------------------------------------- helpers


def jayway(path: JsonPath) -> str:
    """How Jayway prints a path in 'No results for path' messages: $['a']['b'][0]."""
    if path.keys is None:
        return path.text
    parts = "".join(f"['{k}']" if isinstance(k, str) else f"[{k}]" for k in path.keys)
    return "$" + parts


class _PathField:
    """InputPath / OutputPath / ItemsPath: a path, or null (an empty object)."""

    __slots__ = ("path", "text")

    def __init__(self, text: str | None) -> None:
        self.text = text
        self.path = compile_path(text) if text is not None else None

    def select(self, data: Any, frame: Frame) -> Any:
        path = self.path
        if path is None:
            return {}
        try:
            if path.root == ROOT_INPUT:
                return path.get(data)
            return resolve(path, data, frame.context(), frame.variables)
        except PathNotFound:
            raise frame.runtime_error(
                f"Invalid path '{self.text}' : No results for path: {jayway(path)}"
            ) from None


def _path_field(definition: dict[str, Any], key: str) -> _PathField | None:
    """None when the field is absent or '$' (the identity)."""
    if key not in definition:
        return None
    text = definition[key]
    if text == "$":
        return None
    return _PathField(text)


def _evaluate(template: Template, data: Any, frame: Frame) -> Any:
    context = frame.context() if template.uses_context else None
    try:
        return template.evaluate(data, context, frame.variables)
    except StatesError as error:
        raise frame.in_state(error) from None


def _error_output(error: StatesError) -> dict[str, Any]:
    output: dict[str, Any] = {"Error": error.error}
    if error.cause is not None:
        output["Cause"] = error.cause
    return output


def _matches(errors: frozenset[str], name: str | None, for_task: bool) -> bool:
    if name in errors:
        return True
    if ALL in errors and name not in _UNCATCHABLE_BY_ALL:
        return True
    return for_task and "States.TaskFailed" in errors and name not in _NOT_TASK_FAILED


class Retrier:
    __slots__ = ("backoff", "errors", "interval", "jitter", "max_attempts", "max_delay")

    def __init__(self, spec: dict[str, Any]) -> None:
        self.errors = frozenset(spec["ErrorEquals"])
        self.interval = float(spec.get("IntervalSeconds", 1))
        self.max_attempts = int(spec.get("MaxAttempts", 3))
        self.backoff = float(spec.get("BackoffRate", 2.0))
        self.max_delay = spec.get("MaxDelaySeconds")
        self.jitter = spec.get("JitterStrategy", "NONE") == "FULL"

    def delay(self, attempt: int) -> float:
        """The wait before retry number ``attempt`` (1-based)."""
        delay = self.interval * self.backoff ** (attempt - 1)
        if self.max_delay is not None:
            delay = min(delay, float(self.max_delay))
        if self.jitter:
            delay = random.uniform(0, delay)
        return delay


class Catcher:
    __slots__ = ("discard", "errors", "keys", "next")

    def __init__(self, spec: dict[str, Any]) -> None:
        self.errors = frozenset(spec["ErrorEquals"])
        self.next: str = spec["Next"]
        result_path = spec.get("ResultPath", "$")
        self.discard = result_path is None
        self.keys = () if result_path is None else compile_reference_path(result_path).keys


# ----------------------------------------------------------------------------- states


class State:
    """Fields every state has; subclasses implement ``step`` or ``astep``."""

    type_name: str = ""
    sync: bool = True
    records_exit: bool = True

    def __init__(self, name: str, definition: dict[str, Any]) -> None:
        self.name = name
        self.entered_type = f"{self.type_name}StateEntered"
        self.exited_type = f"{self.type_name}StateExited"
        self.next: str | None = definition.get("Next")
        self.input_path = _path_field(definition, "InputPath")
        self.output_path = _path_field(definition, "OutputPath")

    def transitions(self) -> list[str]:
        return [self.next] if self.next else []

    def step(self, data: Any, frame: Frame) -> StepResult:
        raise NotImplementedError

    async def astep(self, data: Any, frame: Frame) -> StepResult | Caught:
        return self.step(data, frame)


class _ResultState(State):
    """States with ResultPath (and for Task/Map/Parallel, ResultSelector, Retry, Catch)."""

    def __init__(self, name: str, definition: dict[str, Any]) -> None:
        super().__init__(name, definition)
        self.parameters = (
            compile_template(definition["Parameters"]) if "Parameters" in definition else None
        )
        self.result_selector = (
            compile_template(definition["ResultSelector"])
            if "ResultSelector" in definition
            else None
        )
        result_path = definition.get("ResultPath", "$")
        self.result_discard = result_path is None
        self.result_keys: tuple[str | int, ...] = (
            () if result_path is None else compile_reference_path(result_path).keys or ()
        )
        self.retriers = [Retrier(r) for r in definition.get("Retry", ())]
        self.catchers = [Catcher(c) for c in definition.get("Catch", ())]

    def transitions(self) -> list[str]:
        return super().transitions() + [c.next for c in self.catchers]

    def finish(self, data: Any, result: Any, frame: Frame) -> Any:
        """ResultPath then OutputPath."""
        if self.result_discard:
            output = data
        elif not self.result_keys:
            output = result
        else:
            try:
                output = set_path(data, self.result_keys, result)
            except ResultPathError:
                raise frame.runtime_error(
                    f"Unable to apply ResultPath to the state input: the path "
                    f"{'.'.join(map(str, self.result_keys))!r} does not lead into an object "
                    f"in '{dumps(data)}'"
                ) from None
        if self.output_path is not None:
            output = self.output_path.select(output, frame)
        return output

    async def recover(
        self, data: Any, frame: Frame, attempt: Callable[[], Awaitable[Any]], for_task: bool
    ) -> StepResult | Caught:
        """Runs ``attempt`` under this state's Retry and Catch rules."""
        counts = [0] * len(self.retriers)
        while True:
            try:
                result = await attempt()
                if self.result_selector is not None:
                    result = _evaluate(self.result_selector, result, frame)
                return self.finish(data, result, frame), self.next
            except StatesError as error:
                if isinstance(error, FailError) and not self.catchers and not self.retriers:
                    raise
                name = error.error
                retried = False
                for index, retrier in enumerate(self.retriers):
                    if _matches(retrier.errors, name, for_task):
                        if counts[index] < retrier.max_attempts:
                            counts[index] += 1
                            frame.retry_count += 1
                            await frame.execution.clock.sleep(retrier.delay(counts[index]))
                            retried = True
                        break
                if retried:
                    continue
                for catcher in self.catchers:
                    if _matches(catcher.errors, name, for_task):
                        error_output = _error_output(error)
                        if catcher.discard:
                            output = data
                        elif not catcher.keys:
                            output = error_output
                        else:
                            try:
                                output = set_path(data, catcher.keys, error_output)
                            except ResultPathError:
                                raise frame.runtime_error(
                                    "Unable to apply the Catch ResultPath to the state input"
                                ) from None
                        return Caught(output, catcher.next)
                raise


class PassState(_ResultState):
    type_name = "Pass"

    def __init__(self, name: str, definition: dict[str, Any]) -> None:
        super().__init__(name, definition)
        self.has_result = "Result" in definition
        self.result = definition.get("Result")

    def step(self, data: Any, frame: Frame) -> StepResult:
        effective = data if self.input_path is None else self.input_path.select(data, frame)
        if self.has_result:
            result = self.result
        elif self.parameters is not None:
            result = _evaluate(self.parameters, effective, frame)
        else:
            result = effective
        return self.finish(data, result, frame), self.next


class SucceedState(State):
    type_name = "Succeed"

    def step(self, data: Any, frame: Frame) -> StepResult:
        if self.input_path is not None:
            data = self.input_path.select(data, frame)
        if self.output_path is not None:
            data = self.output_path.select(data, frame)
        return data, None


class FailState(State):
    type_name = "Fail"
    records_exit = False

    def __init__(self, name: str, definition: dict[str, Any]) -> None:
        super().__init__(name, definition)
        self.error = definition.get("Error")
        self.cause = definition.get("Cause")
        self.error_path = _dynamic_text(definition.get("ErrorPath"))
        self.cause_path = _dynamic_text(definition.get("CausePath"))

    def step(self, data: Any, frame: Frame) -> StepResult:
        error = self.error
        cause = self.cause
        if self.error_path is not None:
            error = self._text(self.error_path, "ErrorPath", data, frame)
        if self.cause_path is not None:
            cause = self._text(self.cause_path, "CausePath", data, frame)
        raise FailError(error, cause)

    def _text(self, source: Template | JsonPath, field: str, data: Any, frame: Frame) -> str:
        if isinstance(source, Template):
            value = _evaluate(source, data, frame)["value"]
        else:
            try:
                value = resolve(source, data, frame.context(), frame.variables)
            except PathNotFound:
                raise frame.runtime_error(
                    f"Invalid path '{source.text}' : No results for path: {jayway(source)}"
                ) from None
        if not isinstance(value, str):
            raise frame.runtime_error(
                f"The {field} parameter does not reference a string: {source_text(source)} == "
                f"{dumps(value)}"
            )
        return value


def source_text(source: Template | JsonPath) -> str:
    return source.text if isinstance(source, JsonPath) else "intrinsic function"


def _dynamic_text(text: str | None) -> Template | JsonPath | None:
    """ErrorPath/CausePath: a path or an intrinsic function."""
    if text is None:
        return None
    if text.startswith("States."):
        return compile_template({"value.$": text})
    return compile_path(text)


class WaitState(State):
    type_name = "Wait"
    sync = False

    def __init__(self, name: str, definition: dict[str, Any]) -> None:
        super().__init__(name, definition)
        self.seconds = definition.get("Seconds")
        timestamp = definition.get("Timestamp")
        self.timestamp = _parse_timestamp(timestamp) if timestamp is not None else None
        self.seconds_path = _optional_path(definition.get("SecondsPath"))
        self.timestamp_path = _optional_path(definition.get("TimestampPath"))

    async def astep(self, data: Any, frame: Frame) -> StepResult:
        effective = data if self.input_path is None else self.input_path.select(data, frame)
        clock = frame.execution.clock
        if self.seconds is not None:
            delay = float(self.seconds)
        elif self.timestamp is not None:
            delay = self.timestamp - clock.now()
        elif self.seconds_path is not None:
            delay = self._seconds_from_path(self.seconds_path, effective, frame)
        else:
            assert self.timestamp_path is not None
            delay = self._timestamp_from_path(self.timestamp_path, effective, frame) - clock.now()
        await clock.sleep(max(0.0, delay))
        if self.output_path is not None:
            effective = self.output_path.select(effective, frame)
        return effective, self.next

    def _lookup(self, path: JsonPath, data: Any, frame: Frame) -> Any:
        try:
            return resolve(path, data, frame.context(), frame.variables)
        except PathNotFound:
            raise frame.runtime_error(
                f"Invalid path '{path.text}' : No results for path: {jayway(path)}"
            ) from None

    def _seconds_from_path(self, path: JsonPath, data: Any, frame: Frame) -> float:
        value = self._lookup(path, data, frame)
        if isinstance(value, bool) or not isinstance(value, int):
            raise frame.runtime_error(
                f"The SecondsPath parameter cannot be parsed as a long value: "
                f"{path.text} == {dumps(value)}"
            )
        if value < 0:
            raise frame.runtime_error(
                f"The SecondsPath parameter references a negative value: {path.text} == {value}"
            )
        return float(value)

    def _timestamp_from_path(self, path: JsonPath, data: Any, frame: Frame) -> float:
        value = self._lookup(path, data, frame)
        parsed = _parse_timestamp(value) if isinstance(value, str) else None
        if parsed is None:
            raise frame.runtime_error(
                f"The TimestampPath parameter does not reference a valid ISO-8601 extended "
                f"offset date-time format string: {path.text} == {dumps(value)}"
            )
        return parsed


def _optional_path(text: str | None) -> JsonPath | None:
    return compile_path(text) if text is not None else None


def _parse_timestamp(text: Any) -> float | None:
    if not isinstance(text, str) or "T" not in text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return moment.timestamp()


class ChoiceState(State):
    type_name = "Choice"

    def __init__(self, name: str, definition: dict[str, Any]) -> None:
        super().__init__(name, definition)
        from workflows.engine.choice import compile_rule

        self.rules = [compile_rule(rule) for rule in definition.get("Choices", ())]
        self.default: str | None = definition.get("Default")
        self.uses_context = any(rule.uses_context for rule in self.rules)

    def transitions(self) -> list[str]:
        targets = [rule.next for rule in self.rules if rule.next]
        return targets + ([self.default] if self.default else [])

    def step(self, data: Any, frame: Frame) -> StepResult:
        effective = data if self.input_path is None else self.input_path.select(data, frame)
        context = frame.context() if self.uses_context else None
        variables = frame.variables
        target = None
        try:
            for rule in self.rules:
                if rule.matches(effective, context, variables):
                    target = rule.next
                    break
        except StatesError as error:
            raise frame.in_state(error) from None
        if target is None:
            target = self.default
        if target is None:
            raise StatesError(
                "States.NoChoiceMatched",
                frame.error_prefix() + "Failed to transition out of the state. "
                "The state does not point to a next state.",
            )
        if self.output_path is not None:
            effective = self.output_path.select(effective, frame)
        return effective, target


# ------------------------------------------------------------------------------ tasks

_LAMBDA_INVOKE: Final = "arn:aws:states:::lambda:invoke"


class TaskState(_ResultState):
    type_name = "Task"
    sync = False

    def __init__(self, name: str, definition: dict[str, Any]) -> None:
        super().__init__(name, definition)
        self.resource: Resource = parse_resource(definition["Resource"])
        self.timeout = definition.get("TimeoutSeconds")
        self.timeout_path = _optional_path(definition.get("TimeoutSecondsPath"))
        self.heartbeat = definition.get("HeartbeatSeconds")
        self.heartbeat_path = _optional_path(definition.get("HeartbeatSecondsPath"))
        self.credentials = definition.get("Credentials")

    async def astep(self, data: Any, frame: Frame) -> StepResult | Caught:
        return await self.recover(data, frame, lambda: self._attempt(data, frame), True)

    def _seconds(
        self, value: Any, path: JsonPath | None, field: str, data: Any, frame: Frame
    ) -> Any:
        if path is None:
            return value
        try:
            found = resolve(path, data, frame.context(), frame.variables)
        except PathNotFound:
            raise frame.runtime_error(
                f"Invalid path '{path.text}' : No results for path: {jayway(path)}"
            ) from None
        if isinstance(found, bool) or not isinstance(found, int) or found <= 0:
            raise frame.runtime_error(
                f"The {field} field refers to value {dumps(found)} which is not a valid "
                f"positive integer: {path.text}"
            )
        return found

    async def _attempt(self, data: Any, frame: Frame) -> Any:
        execution = frame.execution
        runner = execution.tasks
        resource = self.resource
        effective = data if self.input_path is None else self.input_path.select(data, frame)
        timeout = self._seconds(self.timeout, self.timeout_path, "TimeoutSecondsPath", data, frame)
        heartbeat = self._seconds(
            self.heartbeat, self.heartbeat_path, "HeartbeatSecondsPath", data, frame
        )
        token = None
        if resource.pattern == "waitForTaskToken":
            token = runner.tokens.issue(execution.arn, self.name)
            frame.task_token = token
        payload = (
            effective if self.parameters is None else _evaluate(self.parameters, effective, frame)
        )

        if resource.kind == "lambda":
            details: dict[str, Any] = {"resource": resource.arn, "input": payload}
            if timeout is not None:
                details["timeoutInSeconds"] = timeout
            frame.record("LambdaFunctionScheduled", details)
            frame.record("LambdaFunctionStarted")
            try:
                result = await _with_timeout(
                    runner.lambdas.invoke(resource.arn, payload, execution.clock),
                    timeout,
                    execution.clock,
                )
            except StatesError as error:
                kind = "LambdaFunctionTimedOut" if error.error == "States.Timeout" else None
                frame.record(kind or "LambdaFunctionFailed", _failure_details(error))
                raise
            frame.record("LambdaFunctionSucceeded", {"output": result})
            return result

        base = {"resourceType": resource.service, "resource": resource.history_resource}
        scheduled: dict[str, Any] = {**base, "region": runner.region, "parameters": payload}
        if timeout is not None:
            scheduled["timeoutInSeconds"] = timeout
        if heartbeat is not None:
            scheduled["heartbeatInSeconds"] = heartbeat
        frame.record("TaskScheduled", scheduled)
        frame.record("TaskStarted", base)
        try:
            result = await _with_timeout(
                self._perform(payload, effective, token, heartbeat, frame, base),
                timeout,
                execution.clock,
            )
        except StatesError as error:
            timed_out = error.error in ("States.Timeout", "States.HeartbeatTimeout")
            frame.record(
                "TaskTimedOut" if timed_out else "TaskFailed", {**base, **_failure_details(error)}
            )
            raise
        finally:
            if token is not None:
                runner.tokens.discard(token)
        frame.record("TaskSucceeded", {**base, "output": result})
        return result

    async def _perform(
        self,
        payload: Any,
        effective: Any,
        token: str | None,
        heartbeat: int | None,
        frame: Frame,
        base: dict[str, Any],
    ) -> Any:
        execution = frame.execution
        runner = execution.tasks
        resource = self.resource
        if resource.service == "lambda" and resource.action == "invoke":
            if not isinstance(payload, dict) or "FunctionName" not in payload:
                raise frame.runtime_error(
                    "The field 'FunctionName' is required by arn:aws:states:::lambda:invoke"
                )
            function = str(payload["FunctionName"])
            event = payload.get("Payload", effective)
            response_payload = await runner.lambdas.invoke(function, event, execution.clock)
            result: Any = {
                "ExecutedVersion": "$LATEST",
                "Payload": response_payload,
                "SdkHttpMetadata": {
                    "HttpHeaders": {"Content-Type": "application/json"},
                    "HttpStatusCode": 200,
                },
                "SdkResponseMetadata": {"RequestId": frame.execution.arn.rsplit(":", 1)[-1]},
                "StatusCode": 200,
            }
        else:
            integration = runner.integration_for(resource)
            if integration is None:
                raise frame.runtime_error(
                    f"The resource '{resource.arn}' has no local integration; "
                    f"register one for '{resource.service}:{resource.action}'"
                )
            request = TaskRequest(
                resource=resource,
                parameters=payload,
                state_name=self.name,
                execution_arn=execution.arn,
                task_token=token,
                clock=execution.clock,
                region=runner.region,
                account=runner.account,
            )
            result = await integration(request)
        if token is not None:
            frame.record("TaskSubmitted", {**base, "output": result})
            result = await runner.tokens.wait(token, execution.clock, heartbeat)
        return result


def _failure_details(error: StatesError) -> dict[str, Any]:
    details: dict[str, Any] = {}
    if error.error is not None:
        details["error"] = error.error
    if error.cause is not None:
        details["cause"] = error.cause
    return details


async def _with_timeout(awaitable: Awaitable[Any], seconds: float | None, clock: Any) -> Any:
    if seconds is None:
        return await awaitable
    work = asyncio.ensure_future(awaitable)
    sleeper = asyncio.ensure_future(clock.sleep(float(seconds)))
    try:
        await asyncio.wait({work, sleeper}, return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:
        work.cancel()
        raise
    finally:
        sleeper.cancel()
    if work.done():
        return work.result()
    work.cancel()
    raise StatesError("States.Timeout", None)


# -------------------------------------------------------------------- parallel and map


class Machine:
    """A compiled StartAt + States: the top level, a Parallel branch or a Map processor."""

    __slots__ = ("start_at", "states", "sync")

    def __init__(self, start_at: str, states: dict[str, State]) -> None:
        self.start_at = start_at
        self.states = states
        self.sync = all(state.sync for state in states.values())


class ParallelState(_ResultState):
    type_name = "Parallel"
    sync = False

    def __init__(self, name: str, definition: dict[str, Any], language: str) -> None:
        super().__init__(name, definition)
        self.branches = [compile_machine(b, language) for b in definition["Branches"]]

    async def astep(self, data: Any, frame: Frame) -> StepResult | Caught:
        return await self.recover(data, frame, lambda: self._attempt(data, frame), False)

    async def _attempt(self, data: Any, frame: Frame) -> Any:
        from workflows.engine.executor import run_machine, run_machine_sync

        effective = data if self.input_path is None else self.input_path.select(data, frame)
        branch_input = (
            effective if self.parameters is None else _evaluate(self.parameters, effective, frame)
        )
        frame.record("ParallelStateStarted")
        try:
            if all(branch.sync for branch in self.branches):
                results = [
                    run_machine_sync(branch, branch_input, frame.child())
                    for branch in self.branches
                ]
            else:
                tasks = [
                    asyncio.ensure_future(run_machine(branch, branch_input, frame.child()))
                    for branch in self.branches
                ]
                results = await _gather_or_cancel(tasks)
        except StatesError:
            frame.record("ParallelStateFailed")
            raise
        frame.record("ParallelStateSucceeded")
        return results


async def _gather_or_cancel(tasks: Sequence[asyncio.Future[Any]]) -> list[Any]:
    """All results in order; on the first failure, cancel the rest and raise it."""
    try:
        _done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    except asyncio.CancelledError:
        for task in tasks:
            task.cancel()
        raise
    for task in tasks:
        if task.done() and not task.cancelled() and task.exception() is not None:
            for other in pending:
                other.cancel()
            if pending:
                await asyncio.wait(pending)
            raise task.exception()  # type: ignore[misc]
    return [task.result() for task in tasks]


class MapState(_ResultState):
    type_name = "Map"
    sync = False

    def __init__(self, name: str, definition: dict[str, Any], language: str) -> None:
        super().__init__(name, definition)
        processor: dict[str, Any] = definition.get("ItemProcessor") or definition["Iterator"]
        self.processor = compile_machine(processor, language)
        self.items_path = _path_field(definition, "ItemsPath")
        selector = definition.get("ItemSelector", definition.get("Parameters"))
        self.item_selector = compile_template(selector) if selector is not None else None
        self.parameters = None  # legacy Parameters is the item selector, not the state's
        self.max_concurrency = int(definition.get("MaxConcurrency", 0))
        self.max_concurrency_path = _optional_path(definition.get("MaxConcurrencyPath"))
        self.tolerated_count = definition.get("ToleratedFailureCount")
        self.tolerated_count_path = _optional_path(definition.get("ToleratedFailureCountPath"))
        self.tolerated_percentage = definition.get("ToleratedFailurePercentage")
        self.tolerated_percentage_path = _optional_path(
            definition.get("ToleratedFailurePercentagePath")
        )

    async def astep(self, data: Any, frame: Frame) -> StepResult | Caught:
        return await self.recover(data, frame, lambda: self._attempt(data, frame), False)

    def _number(self, path: JsonPath, data: Any, frame: Frame, field: str, kind: str) -> Any:
        try:
            value = resolve(path, data, frame.context(), frame.variables)
        except PathNotFound:
            raise frame.runtime_error(
                f"Invalid path '{path.text}' : No results for path: {jayway(path)}"
            ) from None
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if kind == "integer":
            ok = ok and float(value).is_integer()
        if not ok:
            shown = value if isinstance(value, str) else dumps(value)
            raise frame.runtime_error(
                f'The {field} field refers to value "{shown}" which is not a valid {kind}: '
                f"{path.text}"
            )
        return int(value) if kind == "integer" else float(value)

    def _limits(self, effective: Any, frame: Frame) -> tuple[int, float | None, float | None]:
        count: float | None
        concurrency = self.max_concurrency
        if self.max_concurrency_path is not None:
            concurrency = self._number(
                self.max_concurrency_path, effective, frame, "MaxConcurrencyPath", "integer"
            )
        count = self.tolerated_count
        if self.tolerated_count_path is not None:
            count = self._number(
                self.tolerated_count_path, effective, frame, "ToleratedFailureCountPath", "integer"
            )
        if count is not None and count < 0:
            raise frame.runtime_error("ToleratedFailureCount cannot be negative.")
        percentage = self.tolerated_percentage
        if self.tolerated_percentage_path is not None:
            percentage = self._number(
                self.tolerated_percentage_path,
                effective,
                frame,
                "ToleratedFailurePercentagePath",
                "float",
            )
        if percentage is not None and not 0 <= percentage <= 100:
            raise frame.runtime_error("ToleratedFailurePercentage must be between 0 and 100.")
        return concurrency, count, percentage

    async def _attempt(self, data: Any, frame: Frame) -> Any:
        effective = data if self.input_path is None else self.input_path.select(data, frame)
        concurrency, tolerated_count, tolerated_percentage = self._limits(effective, frame)
        items = effective if self.items_path is None else self.items_path.select(effective, frame)
        if not isinstance(items, list):
            raise frame.runtime_error(
                f"Map state input must be an array, but the value at "
                f"ItemsPath '{self.items_path.text if self.items_path else '$'}' is "
                f"{dumps(items)}"
            )
        frame.record("MapStateStarted", {"length": len(items)})
        tolerant = tolerated_count is not None or tolerated_percentage is not None
        runner = _MapRun(self, effective, frame, tolerant)
        try:
            results = await runner.run(items, concurrency)
            failures = runner.failures
            if failures and _exceeds(failures, len(items), tolerated_count, tolerated_percentage):
                raise StatesError(
                    "States.ExceedToleratedFailureThreshold",
                    "The specified tolerated failure threshold was exceeded",
                )
        except StatesError:
            frame.record("MapStateFailed")
            raise
        frame.record("MapStateSucceeded")
        return results


def _exceeds(failures: int, total: int, count: float | None, percentage: float | None) -> bool:
    within = False
    if count is not None and failures <= count:
        within = True
    if percentage is not None and total and failures * 100.0 / total <= percentage:
        within = True
    return not within


class _MapRun:
    """The iterations of one Map attempt."""

    def __init__(self, state: MapState, effective: Any, frame: Frame, tolerant: bool) -> None:
        self.state = state
        self.effective = effective
        self.frame = frame
        self.tolerant = tolerant
        self.failures = 0

    def _start(self, index: int, item: Any) -> tuple[Frame, Any]:
        state = self.state
        child = self.frame.child({"Index": index, "Value": item})
        child.state_name = self.frame.state_name
        child.entered_id = self.frame.entered_id
        child.entered_time = self.frame.entered_time
        value = item
        if state.item_selector is not None:
            value = _evaluate(state.item_selector, self.effective, child)
        child.record("MapIterationStarted", {"name": state.name, "index": index})
        return child, value

    def _failed(self, child: Frame, index: int, error: StatesError) -> Any:
        child.record("MapIterationFailed", {"name": self.state.name, "index": index})
        if not self.tolerant:
            raise error
        self.failures += 1
        return _error_output(error)

    async def run(self, items: list[Any], concurrency: int) -> list[Any]:
        from workflows.engine.executor import run_machine, run_machine_sync

        processor = self.state.processor
        name = self.state.name
        results: list[Any] = [None] * len(items)
        if processor.sync:
            for index, item in enumerate(items):
                child, value = self._start(index, item)
                try:
                    results[index] = run_machine_sync(processor, value, child)
                except StatesError as error:
                    results[index] = self._failed(child, index, error)
                    continue
                child.record("MapIterationSucceeded", {"name": name, "index": index})
            return results

        async def iterate(index: int) -> None:
            child, value = self._start(index, items[index])
            try:
                results[index] = await run_machine(processor, value, child)
            except StatesError as error:
                results[index] = self._failed(child, index, error)
                return
            except asyncio.CancelledError:
                child.record("MapIterationAborted", {"name": name, "index": index})
                raise
            child.record("MapIterationSucceeded", {"name": name, "index": index})

        if concurrency <= 0 or concurrency >= len(items):
            tasks = [asyncio.ensure_future(iterate(i)) for i in range(len(items))]
        else:
            indexes = iter(range(len(items)))

            async def worker() -> None:
                for index in indexes:
                    await iterate(index)

            tasks = [asyncio.ensure_future(worker()) for _ in range(concurrency)]
        if tasks:
            await _gather_or_cancel(tasks)
        return results


# ---------------------------------------------------------------------------- compile

_SIMPLE: Final[dict[str, type[State]]] = {
    "Pass": PassState,
    "Succeed": SucceedState,
    "Fail": FailState,
    "Wait": WaitState,
    "Choice": ChoiceState,
    "Task": TaskState,
}


def compile_machine(definition: dict[str, Any], language: str = "JSONPath") -> Machine:
    """Compile a validated StartAt/States object (top level, branch or processor)."""
    language = definition.get("QueryLanguage", language)
    states: dict[str, State] = {}
    for name, spec in definition["States"].items():
        state_language = spec.get("QueryLanguage", language)
        kind = spec["Type"]
        if state_language == "JSONata":
            raise NotImplementedError(
                f"State {name!r} uses the JSONata query language, which this engine "
                "does not run yet"
            )
        elif kind == "Parallel":
            states[name] = ParallelState(name, spec, language)
        elif kind == "Map":
            states[name] = MapState(name, spec, language)
        else:
            states[name] = _SIMPLE[kind](name, spec)
    return Machine(definition["StartAt"], states)
