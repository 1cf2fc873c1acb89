"""The Task state: invoke a resource (an in-process Lambda or a service integration)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, Final

from workflows.engine.errors import StatesError
from workflows.engine.frame import Frame
from workflows.engine.history import dumps
from workflows.engine.lambdas import (
    RESULT_LIMIT_BYTES,
    InProcessLambdas,
    Unanswered,
    data_limit_exceeded,
    lambda_function_task,
    lambda_invoke_task,
    result_too_large,
)
from workflows.engine.mocks import Return, Throw
from workflows.engine.paths import JsonPath, PathNotFound, resolve
from workflows.engine.replay import Answer, stored_token, with_token
from workflows.engine.states.common import (
    Caught,
    ResultState,
    StepResult,
    evaluate_payload,
    jayway,
    number_or_expression,
    optional_path,
)
from workflows.engine.tasks import Resource, TaskRequest, parse_resource

__all__ = ["TaskState", "failure_details", "with_timeout"]

_LAMBDA_INVOKE: Final = "arn:aws:states:::lambda:invoke"


class TaskState(ResultState):
    type_name = "Task"
    sync = False

    def __init__(self, name: str, definition: dict[str, Any], language: str = "JSONPath") -> None:
        super().__init__(name, definition, language)
        self.resource: Resource = parse_resource(definition["Resource"])
        self.timeout = number_or_expression(definition, "TimeoutSeconds")
        self.timeout_path = optional_path(definition.get("TimeoutSecondsPath"))
        self.heartbeat = number_or_expression(definition, "HeartbeatSeconds")
        self.heartbeat_path = optional_path(definition.get("HeartbeatSecondsPath"))
        self.credentials = definition.get("Credentials")
        # no path and no expression: _seconds would hand both values back as they are
        self.fixed_seconds = all(
            path is None and (value is None or type(value) is int)
            for value, path in (
                (self.timeout, self.timeout_path),
                (self.heartbeat, self.heartbeat_path),
            )
        )

        # A legacy Lambda resource without Retry, Catch or TimeoutSeconds: the state
        # steps without a coroutine while its handler runs here (``step_now``)
        self.eager = (
            self.resource.kind == "lambda"
            and not self.retriers
            and not self.catchers
            and self.fixed_seconds
            and self.timeout is None
        )

    def step_now(self, data: Any, frame: Frame) -> StepResult | Awaitable[StepResult | Caught]:
        """``astep`` for an ``eager`` Task: its outcome when the handler ran on this thread
        without waiting (``InProcessLambdas.call_now``), else the awaitable of it. The
        events, their order and their details are ``_attempt``'s, step by step."""
        execution = frame.execution
        lambdas = execution.tasks.lambdas
        if (
            execution.mocks is not None
            or execution.history.direct is None  # replayed or listened to: astep
            or type(lambdas) is not InProcessLambdas
        ):
            return self.astep(data, frame)
        frame.failed_at = None
        frame.result_size = -1
        payload = self.effective_input(data, frame)
        arn = self.resource.arn
        history = execution.history
        events = history.direct
        if events is not None:  # Frame.record's common case, twice, without its calls
            now = execution.now  # (details as a tuple: history.StoredEvent)
            events.append(("LambdaFunctionScheduled", now(), frame.prev, (arn, payload)))
            scheduled = len(events)
            events.append(("LambdaFunctionStarted", now(), scheduled, None))
            frame.prev = frame.last = scheduled + 1
        else:
            frame.record("LambdaFunctionScheduled", {"resource": arn, "input": payload})
            frame.record("LambdaFunctionStarted")
        try:
            answer = lambdas.call_now(arn, payload, execution.clock)
            if not isinstance(answer, tuple):
                return self._lambda_later(answer, data, frame)
            body, result = answer
            # result_too_large, its first test inline (most bodies are far below the quota)
            if len(body) * 6 + 64 > RESULT_LIMIT_BYTES and result_too_large(body, result):
                raise data_limit_exceeded(arn)
        except StatesError as error:
            kind = "LambdaFunctionTimedOut" if error.error == "States.Timeout" else None
            frame.record(kind or "LambdaFunctionFailed", failure_details(error))
            raise
        # the response body bounds the result's JSON size (as in _attempt)
        frame.result_size = 6 * len(body) + 2
        events = history.direct
        if events is not None:  # as above
            events.append(("LambdaFunctionSucceeded", execution.now(), frame.prev, (result,)))
            frame.prev = frame.last = len(events)
        else:
            frame.record("LambdaFunctionSucceeded", {"output": result})
        if self.result_selector is not None:
            result = evaluate_payload(self.result_selector, result, frame)
        return self.finish(data, result, frame), self.next

    async def _lambda_later(
        self, pending: Awaitable[tuple[bytes, Any] | Unanswered], data: Any, frame: Frame
    ) -> StepResult:
        """The rest of ``step_now`` once the handler's call completes (as step_now does it)."""
        try:
            answer = await pending
            body, result = answer.respond() if isinstance(answer, Unanswered) else answer
            # (as in step_now)
            if len(body) * 6 + 64 > RESULT_LIMIT_BYTES and result_too_large(body, result):
                raise data_limit_exceeded(self.resource.arn)
        except StatesError as error:
            kind = "LambdaFunctionTimedOut" if error.error == "States.Timeout" else None
            frame.record(kind or "LambdaFunctionFailed", failure_details(error))
            raise
        frame.result_size = 6 * len(body) + 2
        execution = frame.execution
        events = execution.history.direct
        if events is not None:  # Frame.record's common case, without its call (as above)
            events.append(("LambdaFunctionSucceeded", execution.now(), frame.prev, (result,)))
            frame.prev = frame.last = len(events)
        else:
            frame.record("LambdaFunctionSucceeded", {"output": result})
        if self.result_selector is not None:
            result = evaluate_payload(self.result_selector, result, frame)
        return self.finish(data, result, frame), self.next

    async def astep(self, data: Any, frame: Frame) -> StepResult | Caught:
        if self.retriers or self.catchers:
            return await self.recover(data, frame, lambda: self._attempt(data, frame), True)
        # No Retry, no Catch: what recover does then, without its coroutine and closure
        # (a Task's attempt never sets failed_at, so an error only passes on).
        frame.failed_at = None
        result = await self._attempt(data, frame)
        if self.result_selector is not None:
            result = evaluate_payload(self.result_selector, result, frame)
        return self.finish(data, result, frame), self.next

    def _seconds(
        self, value: Any, path: JsonPath | None, field: str, data: Any, frame: Frame
    ) -> Any:
        if path is None:
            if value is None or type(value) is int:
                return value
            return self.number_field(value, field[: -len("Path")], data, frame)
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
        frame.result_size = -1  # unknown until a Lambda's response says (a retry's too)
        execution = frame.execution
        runner = execution.tasks
        resource = self.resource
        if self.fixed_seconds:
            timeout, heartbeat = self.timeout, self.heartbeat
        else:
            timeout = self._seconds(
                self.timeout, self.timeout_path, "TimeoutSecondsPath", data, frame
            )
            heartbeat = self._seconds(
                self.heartbeat, self.heartbeat_path, "HeartbeatSecondsPath", data, frame
            )
        token = None
        # .sync tasks see $$.Task.Token too, as on AWS; only callbacks wait for it
        if resource.pattern != "request" and resource.kind == "service":
            token = runner.tokens.issue(execution.arn, self.name)
            frame.task_token = token
        if self.jsonata:
            effective = data
            payload = self.effective_input(data, frame)
        else:
            effective = data if self.input_path is None else self.input_path.select(data, frame)
            payload = (
                effective
                if self.parameters is None
                else evaluate_payload(self.parameters, effective, frame)
            )
        if token is not None and execution.history.replay is not None:
            payload, token = _replayed_token(payload, token, frame)

        mock = execution.mocks.next(self.name) if execution.mocks is not None else None
        if resource.kind == "lambda":
            details: dict[str, Any] = {"resource": resource.arn, "input": payload}
            if timeout is not None:
                details["timeoutInSeconds"] = timeout
            frame.record("LambdaFunctionScheduled", details)
            frame.record("LambdaFunctionStarted")
            # a history that nothing replays appends directly: no stored answer to ask
            replayed = None if execution.history.direct is not None else _replayed(frame)
            if replayed is not None and replayed.ended:
                return _settled(replayed, frame)
            try:
                if mock is not None:
                    result = await with_timeout(_mocked(mock), timeout, execution.clock)
                elif timeout is None:
                    # lambda_function_task without its coroutine (nor with_timeout's)
                    result = await runner.lambdas.call(resource.arn, payload, execution.clock)
                    body = result.body
                    if len(body) * 6 + 64 > RESULT_LIMIT_BYTES and result_too_large(
                        body, result.payload
                    ):
                        raise data_limit_exceeded(resource.arn)
                else:
                    work = lambda_function_task(
                        runner.lambdas, resource.arn, payload, execution.clock
                    )
                    result = await with_timeout(work, timeout, execution.clock)
            except StatesError as error:
                kind = "LambdaFunctionTimedOut" if error.error == "States.Timeout" else None
                frame.record(kind or "LambdaFunctionFailed", failure_details(error))
                raise
            if mock is None:
                # the response body bounds the result's JSON size (6 bytes a character
                # at most, quotes for text), so its state output is not encoded again
                frame.result_size = 6 * len(result.body) + 2
                result = result.payload
            frame.record("LambdaFunctionSucceeded", {"output": result})
            return result

        if resource.kind == "activity":
            return await self._activity(payload, timeout, heartbeat, mock, frame)

        base = {
            "resourceType": resource.history_resource_type,
            "resource": resource.history_resource,
        }
        scheduled: dict[str, Any] = {**base, "region": runner.region, "parameters": payload}
        if timeout is not None:
            scheduled["timeoutInSeconds"] = timeout
        if heartbeat is not None:
            scheduled["heartbeatInSeconds"] = heartbeat
        frame.record("TaskScheduled", scheduled)
        frame.record("TaskStarted", base)
        replayed = _replayed(frame)
        if replayed is not None and replayed.ended:
            if token is not None:
                runner.tokens.discard(token)
            return _settled(replayed, frame)
        # a callback whose message was sent before the restart waits for its token again
        submitted = replayed is not None and replayed.event_type == "TaskSubmitted"
        try:
            result = await with_timeout(
                self._perform(payload, effective, token, heartbeat, frame, base, submitted)
                if mock is None
                else _mocked(mock),
                timeout,
                execution.clock,
            )
        except StatesError as error:
            timed_out = error.error in ("States.Timeout", "States.HeartbeatTimeout")
            frame.record(
                "TaskTimedOut" if timed_out else "TaskFailed", {**base, **failure_details(error)}
            )
            raise
        finally:
            if token is not None:
                runner.tokens.discard(token)
        frame.record("TaskSucceeded", {**base, "output": result})
        return result

    async def _activity(
        self,
        payload: Any,
        timeout: int | None,
        heartbeat: int | None,
        mock: Return | Throw | None,
        frame: Frame,
    ) -> Any:
        """An activity: scheduled for a worker, answered on its task token."""
        execution = frame.execution
        runner = execution.tasks
        arn = self.resource.arn
        details: dict[str, Any] = {"resource": arn, "input": payload}
        if timeout is not None:
            details["timeoutInSeconds"] = timeout
        if heartbeat is not None:
            details["heartbeatInSeconds"] = heartbeat
        frame.record("ActivityScheduled", details)
        replayed = _replayed(frame)
        if replayed is not None and replayed.ended:
            return _settled(replayed, frame)
        token = runner.tokens.issue(execution.arn, self.name)
        if mock is None:

            def started(worker: str) -> None:
                frame.record("ActivityStarted", {"workerName": worker})

            runner.activities.schedule(arn, token, payload, started)
            work = runner.tokens.wait(token, execution.clock, heartbeat)
        else:
            frame.record("ActivityStarted", {"workerName": "mock"})
            work = _mocked(mock)
        try:
            result = await with_timeout(work, timeout, execution.clock)
        except StatesError as error:
            timed_out = error.error in ("States.Timeout", "States.HeartbeatTimeout")
            frame.record(
                "ActivityTimedOut" if timed_out else "ActivityFailed", failure_details(error)
            )
            raise
        finally:
            runner.activities.withdraw(token)
            runner.tokens.discard(token)
        frame.record("ActivitySucceeded", {"output": result})
        return result

    async def _perform(
        self,
        payload: Any,
        effective: Any,
        token: str | None,
        heartbeat: int | None,
        frame: Frame,
        base: dict[str, Any],
        submitted: bool = False,
    ) -> Any:
        execution = frame.execution
        runner = execution.tasks
        resource = self.resource
        if submitted and token is not None:
            stored = execution.history.replay
            details = stored.stored_details(frame.prev, "TaskSubmitted") if stored else None
            frame.record("TaskSubmitted", {**base, "output": (details or {}).get("output")})
            return await runner.tokens.wait(token, execution.clock, heartbeat)
        if resource.service == "lambda" and resource.action == "invoke":
            if not isinstance(payload, dict) or "FunctionName" not in payload:
                raise frame.runtime_error(
                    "The field 'FunctionName' is required by arn:aws:states:::lambda:invoke"
                )
            result: Any = await lambda_invoke_task(runner.lambdas, payload, execution.clock)
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
        if token is not None and resource.pattern == "waitForTaskToken":
            frame.record("TaskSubmitted", {**base, "output": result})
            result = await runner.tokens.wait(token, execution.clock, heartbeat)
        return result


def _replayed(frame: Frame) -> Answer | None:
    """What the stored history says this attempt did, when the execution replays one."""
    replay = frame.execution.history.replay
    return None if replay is None else replay.answer(frame.prev)


def _settled(answer: Answer, frame: Frame) -> Any:
    """The stored end of an attempt, as its result: nothing is performed twice."""
    frame.prev = frame.last = answer.event_id
    if answer.succeeded:
        return answer.details.get("output")
    raise StatesError(answer.details.get("error"), answer.details.get("cause"))


def _replayed_token(payload: Any, token: str, frame: Frame) -> tuple[Any, str]:
    """The token the stored attempt was given, so the one a person holds stays valid."""
    replay = frame.execution.history.replay
    stored = None if replay is None else replay.stored_details(frame.prev, "TaskScheduled")
    if stored is None:
        return payload, token
    previous = stored_token(payload, stored.get("parameters"), token)
    if previous is None or previous == token:
        return payload, token
    tokens = frame.execution.tasks.tokens
    tokens.discard(token)
    tokens.issue(frame.execution.arn, frame.state_name, token=previous)
    frame.task_token = previous
    return with_token(payload, token, previous), previous


async def _mocked(answer: Return | Throw) -> Any:
    """What a mocked resource answers (workflows.engine.mocks)."""
    if isinstance(answer, Throw):
        raise StatesError(answer.error, answer.cause)
    return answer.value


def failure_details(error: StatesError) -> dict[str, Any]:
    details: dict[str, Any] = {}
    if error.error is not None:
        details["error"] = error.error
    if error.cause is not None:
        details["cause"] = error.cause
    return details


async def with_timeout(awaitable: Awaitable[Any], seconds: float | None, clock: Any) -> Any:
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
