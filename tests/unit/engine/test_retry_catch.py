"""Retry, Catch, timeouts and task tokens, measured on the virtual timeline.

The oracle is AWS's "Error handling in Step Functions": a retrier waits
``IntervalSeconds * BackoffRate ** (attempt - 1)`` (capped by ``MaxDelaySeconds``;
``JitterStrategy: FULL`` picks a random delay between 0 and that), each retrier
counts its own attempts, an exhausted retrier hands the error to Catch, the first
matching catcher wins, ``States.ALL`` does not match ``States.Runtime``,
``States.TaskFailed`` matches everything except ``States.Timeout``, and a failure of
OutputPath is seen by no retrier or catcher. Gaps are read from the timestamps of
``TaskScheduled`` events.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

import pytest

from workflows.engine import StateMachine, StatesError, TaskTokens, VirtualClock

INVOKE = "arn:aws:states:::lambda:invoke"
SQS_WAIT = "arn:aws:states:::sqs:sendMessage.waitForTaskToken"
START = datetime(2024, 1, 1, tzinfo=UTC)
T0 = START.timestamp()


def fn_arn(name: str) -> str:
    return f"arn:aws:lambda:us-east-1:123456789012:function:{name}"


class ErrorA(Exception):
    pass


class ErrorB(Exception):
    pass


class Flaky:
    """A handler that raises the given exceptions in turn, then succeeds."""

    def __init__(self, failures: Iterable[type[Exception]]) -> None:
        self.failures = list(failures)
        self.calls = 0

    def __call__(self, event: Any, context: Any) -> Any:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)(f"attempt {self.calls}")
        return {"attempts": self.calls}


def always(exc: type[Exception]) -> Flaky:
    return Flaky([exc] * 1000)


def task(**fields: Any) -> dict[str, Any]:
    """A lambda:invoke Task (its attempts show up as TaskScheduled events)."""
    return {
        "Type": "Task",
        "Resource": INVOKE,
        "Parameters": {"FunctionName": "F", "Payload.$": "$"},
        "ResultSelector": {"attempts.$": "$.Payload.attempts"},
        **fields,
    }


def machine(states: dict[str, Any], **top: Any) -> StateMachine:
    return StateMachine({"StartAt": next(iter(states)), "States": states, **top})


def with_handlers(state: dict[str, Any], **extra: dict[str, Any]) -> StateMachine:
    """``state`` as 'T' (End unless it has Next), plus the states in ``extra``."""
    if "Next" not in state:
        state = {**state, "End": True}
    return machine({"T": state, **extra})


RECOVERED = {"Type": "Pass", "End": True}


def run(sm: StateMachine, handler: Callable[..., Any] | None, data: Any = None, **kw: Any) -> Any:
    kw.setdefault("clock", VirtualClock(START))
    # inline: handlers that return at once look instant, so virtual offsets are exact
    kw.setdefault("handler_mode", "inline")
    lambdas = kw.pop("lambdas", None) or ({"F": handler} if handler is not None else {})
    return sm.run({} if data is None else data, lambdas=lambdas, **kw)


def scheduled_gaps(result: Any) -> list[float]:
    stamps = [e["timestamp"].timestamp() for e in result.history if e["type"] == "TaskScheduled"]
    return [round(b - a, 6) for a, b in itertools.pairwise(stamps)]


def types(result: Any) -> list[str]:
    return [event["type"] for event in result.history]


def end_offset(result: Any) -> float:
    return float(result.history[-1]["timestamp"].timestamp() - T0)


# --------------------------------------------------------------------------- timing


def test_retry_waits_interval_seconds_times_backoff_rate_per_attempt() -> None:
    retry = {"ErrorEquals": ["ErrorA"], "IntervalSeconds": 2, "BackoffRate": 3, "MaxAttempts": 3}
    handler = Flaky([ErrorA] * 3)
    result = run(with_handlers(task(Retry=[retry])), handler)
    assert result.status == "SUCCEEDED"
    assert result.output == {"attempts": 4}
    assert scheduled_gaps(result) == [2, 6, 18]


def test_retry_defaults_are_one_second_rate_two_three_attempts() -> None:
    handler = always(ErrorA)
    result = run(with_handlers(task(Retry=[{"ErrorEquals": ["ErrorA"]}])), handler)
    assert result.status == "FAILED"
    assert result.error == "ErrorA"
    assert handler.calls == 4
    assert scheduled_gaps(result) == [1, 2, 4]


def test_max_delay_seconds_caps_the_backoff() -> None:
    retry = {
        "ErrorEquals": ["ErrorA"],
        "IntervalSeconds": 2,
        "BackoffRate": 3,
        "MaxAttempts": 5,
        "MaxDelaySeconds": 10,
    }
    result = run(with_handlers(task(Retry=[retry])), Flaky([ErrorA] * 5))
    assert result.status == "SUCCEEDED"
    assert scheduled_gaps(result) == [2, 6, 10, 10, 10]


def test_backoff_rate_one_keeps_the_interval_constant() -> None:
    retry = {"ErrorEquals": ["ErrorA"], "IntervalSeconds": 7, "BackoffRate": 1, "MaxAttempts": 3}
    result = run(with_handlers(task(Retry=[retry])), Flaky([ErrorA] * 3))
    assert scheduled_gaps(result) == [7, 7, 7]


def test_max_attempts_zero_never_retries() -> None:
    handler = always(ErrorA)
    retry = {"ErrorEquals": ["ErrorA"], "MaxAttempts": 0}
    result = run(with_handlers(task(Retry=[retry])), handler)
    assert result.status == "FAILED"
    assert result.error == "ErrorA"
    assert handler.calls == 1
    assert types(result).count("TaskScheduled") == 1


def test_full_jitter_waits_between_zero_and_the_computed_backoff() -> None:
    retry = {
        "ErrorEquals": ["ErrorA"],
        "IntervalSeconds": 10,
        "BackoffRate": 2,
        "MaxAttempts": 8,
        "MaxDelaySeconds": 200,
        "JitterStrategy": "FULL",
    }
    result = run(with_handlers(task(Retry=[retry])), Flaky([ErrorA] * 8))
    assert result.status == "SUCCEEDED"
    gaps = scheduled_gaps(result)
    ceilings = [min(10 * 2**n, 200) for n in range(8)]
    assert len(gaps) == 8
    assert all(0 <= gap <= ceiling for gap, ceiling in zip(gaps, ceilings, strict=True))
    assert gaps != ceilings  # eight uniform draws all at their maximum: not a jitter


def test_each_retrier_keeps_its_own_attempt_count_and_backoff() -> None:
    retriers = [
        {"ErrorEquals": ["ErrorA"], "IntervalSeconds": 1, "BackoffRate": 2, "MaxAttempts": 2},
        {"ErrorEquals": ["ErrorB"], "IntervalSeconds": 10, "BackoffRate": 3, "MaxAttempts": 2},
    ]
    handler = Flaky([ErrorA, ErrorB, ErrorA, ErrorB])
    result = run(with_handlers(task(Retry=retriers)), handler)
    assert result.status == "SUCCEEDED"
    assert handler.calls == 5
    assert scheduled_gaps(result) == [1, 10, 2, 30]


def test_a_retrier_exhausted_goes_to_catch_not_to_the_next_retrier() -> None:
    retriers = [
        {"ErrorEquals": ["ErrorA"], "MaxAttempts": 1},
        {"ErrorEquals": ["States.ALL"], "MaxAttempts": 5},
    ]
    catch = [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Recovered"}]
    handler = always(ErrorA)
    sm = with_handlers(task(Retry=retriers, Catch=catch), Recovered=RECOVERED)
    result = run(sm, handler, {"order": 1})
    assert result.status == "SUCCEEDED"
    assert handler.calls == 2
    assert result.output["order"] == 1
    assert result.output["error"]["Error"] == "ErrorA"


def test_the_first_matching_retrier_applies_even_if_a_later_one_has_more_attempts() -> None:
    retriers = [
        {"ErrorEquals": ["ErrorB"], "MaxAttempts": 5},
        {"ErrorEquals": ["ErrorA", "ErrorB"], "MaxAttempts": 1},
        {"ErrorEquals": ["States.ALL"], "MaxAttempts": 9},
    ]
    handler = always(ErrorA)
    result = run(with_handlers(task(Retry=retriers)), handler)
    assert result.status == "FAILED"
    assert handler.calls == 2


def test_retry_count_in_the_context_counts_the_retries() -> None:
    seen: list[Any] = []

    def handler(event: Any, context: Any) -> Any:
        seen.append(event)
        if len(seen) < 3:
            raise ErrorA("again")
        return {"attempts": len(seen)}

    state = task(
        Parameters={"FunctionName": "F", "Payload": {"retry.$": "$$.State.RetryCount"}},
        Retry=[{"ErrorEquals": ["ErrorA"]}],
    )
    result = run(with_handlers(state), handler)
    assert result.status == "SUCCEEDED"
    assert seen == [{"retry": 0}, {"retry": 1}, {"retry": 2}]


def test_retry_on_a_parallel_state_runs_every_branch_again() -> None:
    calls: list[str] = []

    def ok(event: Any, context: Any) -> Any:
        calls.append("ok")
        return "ok"

    failing = Flaky([ErrorA, ErrorA])

    sm = with_handlers(
        {
            "Type": "Parallel",
            "Branches": [
                {
                    "StartAt": "A",
                    "States": {"A": {"Type": "Task", "Resource": fn_arn("Ok"), "End": True}},
                },
                {
                    "StartAt": "B",
                    "States": {"B": {"Type": "Task", "Resource": fn_arn("F"), "End": True}},
                },
            ],
            "Retry": [{"ErrorEquals": ["ErrorA"], "IntervalSeconds": 5, "BackoffRate": 1}],
        }
    )
    result = run(sm, None, lambdas={"Ok": ok, "F": failing})
    assert result.status == "SUCCEEDED"
    assert result.output == ["ok", {"attempts": 3}]
    assert calls == ["ok", "ok", "ok"]
    assert types(result).count("ParallelStateStarted") == 3
    assert end_offset(result) == 10


# ---------------------------------------------------------------------------- catch


def test_catch_first_matching_catcher_wins() -> None:
    catch = [
        {"ErrorEquals": ["ErrorB"], "Next": "B"},
        {"ErrorEquals": ["ErrorA"], "Next": "First"},
        {"ErrorEquals": ["States.ALL"], "Next": "Second"},
    ]
    sm = with_handlers(
        task(Catch=catch),
        B={"Type": "Pass", "Result": "B", "End": True},
        First={"Type": "Pass", "Result": "first", "End": True},
        Second={"Type": "Pass", "Result": "second", "End": True},
    )
    assert run(sm, always(ErrorA)).output == "first"


@pytest.mark.parametrize(
    ("result_path", "expected_keys"),
    [("$", None), ("$.error", {"order", "error"}), ("$.deep.error", {"order", "deep"})],
)
def test_catch_result_path_places_the_error_output(
    result_path: str, expected_keys: set[str] | None
) -> None:
    catch = [{"ErrorEquals": ["ErrorA"], "ResultPath": result_path, "Next": "Recovered"}]
    result = run(
        with_handlers(task(Catch=catch), Recovered=RECOVERED), always(ErrorA), {"order": 1}
    )
    assert result.status == "SUCCEEDED"
    if expected_keys is None:
        error_output = result.output
    else:
        assert set(result.output) == expected_keys
        assert result.output["order"] == 1
        error_output = (
            result.output["error"] if "error" in result.output else result.output["deep"]["error"]
        )
    assert set(error_output) == {"Error", "Cause"}
    assert error_output["Error"] == "ErrorA"
    assert json.loads(error_output["Cause"])["errorMessage"] == "attempt 1"


def test_catch_result_path_null_keeps_the_input() -> None:
    catch = [{"ErrorEquals": ["ErrorA"], "ResultPath": None, "Next": "Recovered"}]
    result = run(
        with_handlers(task(Catch=catch), Recovered=RECOVERED), always(ErrorA), {"order": 1}
    )
    assert result.output == {"order": 1}


def test_a_caught_error_records_the_task_exit_with_what_the_catcher_passes_on() -> None:
    """AWS records TaskStateExited after TaskFailed when a Catch handles the error; its
    output is the catcher's (after the Catch's ResultPath), linked to TaskFailed."""
    catch = [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Recovered"}]
    result = run(
        with_handlers(task(Catch=catch), Recovered=RECOVERED), always(ErrorA), {"order": 1}
    )
    assert types(result) == [
        "ExecutionStarted",
        "TaskStateEntered",
        "TaskScheduled",
        "TaskStarted",
        "TaskFailed",
        "TaskStateExited",
        "PassStateEntered",
        "PassStateExited",
        "ExecutionSucceeded",
    ]
    failed, exited_event, recovered = result.history[4:7]
    assert exited_event["previousEventId"] == failed["id"]
    assert recovered["previousEventId"] == exited_event["id"]
    passed_on = json.loads(exited_event["stateExitedEventDetails"]["output"])
    assert passed_on == json.loads(recovered["stateEnteredEventDetails"]["input"])
    assert passed_on["order"] == 1
    assert passed_on["error"]["Error"] == "ErrorA"


def test_states_all_catches_any_error_a_task_reports() -> None:
    catch = [{"ErrorEquals": ["States.ALL"], "Next": "Recovered"}]
    sm = with_handlers(task(Catch=catch), Recovered=RECOVERED)
    result = run(sm, None)  # the function does not exist
    assert result.status == "SUCCEEDED"
    assert result.output["Error"] == "Lambda.ResourceNotFoundException"


def test_catch_on_a_map_state_catches_an_iteration_failure() -> None:
    sm = with_handlers(
        {
            "Type": "Map",
            "ItemsPath": "$.items",
            "ItemProcessor": {
                "StartAt": "F",
                "States": {"F": {"Type": "Fail", "Error": "ItemFailed", "Cause": "c"}},
            },
            "Catch": [{"ErrorEquals": ["ItemFailed"], "ResultPath": "$.e", "Next": "Recovered"}],
        },
        Recovered={"Type": "Pass", "InputPath": "$.e", "End": True},
    )
    result = sm.run({"items": [1]}, clock=VirtualClock(START))
    assert result.output == {"Error": "ItemFailed", "Cause": "c"}


def test_states_runtime_is_neither_retried_nor_caught_by_states_all() -> None:
    state = task(
        Parameters={"FunctionName": "F", "Payload": {"x.$": "$.missing"}},
        Retry=[{"ErrorEquals": ["States.ALL"], "MaxAttempts": 3}],
        Catch=[{"ErrorEquals": ["States.ALL"], "Next": "Recovered"}],
    )
    handler = Flaky([])
    result = run(with_handlers(state, Recovered=RECOVERED), handler)
    assert result.status == "FAILED"
    assert result.error == "States.Runtime"
    assert handler.calls == 0
    assert "PassStateEntered" not in types(result)


async def _sleeping_handler(clock: VirtualClock, seconds: float) -> Callable[..., Any]:
    async def handler(event: Any, context: Any) -> Any:
        await clock.sleep(seconds)
        return {"attempts": 1}

    return handler


async def test_timeout_seconds_fails_a_slow_task_with_states_timeout() -> None:
    clock = VirtualClock(START)
    handler = await _sleeping_handler(clock, 3600)
    sm = with_handlers(task(TimeoutSeconds=30))
    began = time.monotonic()
    result = await sm.execute({}, lambdas={"F": handler}, clock=clock)
    assert time.monotonic() - began < 30  # the hour of handler sleep is virtual
    assert result.status == "FAILED"
    assert result.error == "States.Timeout"
    timed_out = [e for e in result.history if e["type"] == "TaskTimedOut"]
    assert len(timed_out) == 1
    assert timed_out[0]["timestamp"].timestamp() - T0 == 30
    assert timed_out[0]["taskTimedOutEventDetails"]["error"] == "States.Timeout"


async def test_timeout_seconds_on_a_function_arn_records_lambda_function_timed_out() -> None:
    clock = VirtualClock(START)
    handler = await _sleeping_handler(clock, 3600)
    sm = with_handlers({"Type": "Task", "Resource": fn_arn("F"), "TimeoutSeconds": 5})
    result = await sm.execute({}, lambdas={"F": handler}, clock=clock)
    assert result.error == "States.Timeout"
    assert types(result)[-2:] == ["LambdaFunctionTimedOut", "ExecutionFailed"]
    assert end_offset(result) == 5


async def test_a_task_within_its_timeout_succeeds() -> None:
    clock = VirtualClock(START)
    handler = await _sleeping_handler(clock, 29)
    result = await with_handlers(task(TimeoutSeconds=30)).execute(
        {}, lambdas={"F": handler}, clock=clock
    )
    assert result.status == "SUCCEEDED"
    assert end_offset(result) == 29


async def test_timeout_seconds_path_reads_the_timeout_from_the_input() -> None:
    clock = VirtualClock(START)
    handler = await _sleeping_handler(clock, 3600)
    sm = with_handlers(task(TimeoutSecondsPath="$.timeout"))
    result = await sm.execute({"timeout": 12}, lambdas={"F": handler}, clock=clock)
    assert result.error == "States.Timeout"
    assert end_offset(result) == 12


async def test_states_task_failed_does_not_match_states_timeout() -> None:
    clock = VirtualClock(START)
    handler = await _sleeping_handler(clock, 3600)
    state = task(
        TimeoutSeconds=10,
        Retry=[{"ErrorEquals": ["States.TaskFailed"], "MaxAttempts": 3}],
        Catch=[{"ErrorEquals": ["States.TaskFailed"], "Next": "Recovered"}],
    )
    result = await with_handlers(state, Recovered=RECOVERED).execute(
        {}, lambdas={"F": handler}, clock=clock
    )
    assert result.status == "FAILED"
    assert result.error == "States.Timeout"
    assert types(result).count("TaskScheduled") == 1


def test_states_task_failed_matches_a_handler_error() -> None:
    state = task(
        Retry=[{"ErrorEquals": ["States.TaskFailed"], "MaxAttempts": 1}],
        Catch=[{"ErrorEquals": ["States.TaskFailed"], "Next": "Recovered"}],
    )
    handler = always(ErrorA)
    result = run(with_handlers(state, Recovered=RECOVERED), handler)
    assert result.status == "SUCCEEDED"
    assert handler.calls == 2


async def test_states_timeout_can_be_retried() -> None:
    clock = VirtualClock(START)
    durations = [100, 100, 1]

    async def handler(event: Any, context: Any) -> Any:
        await clock.sleep(durations.pop(0))
        return {"attempts": 3}

    state = task(
        TimeoutSeconds=10,
        Retry=[{"ErrorEquals": ["States.Timeout"], "IntervalSeconds": 2, "BackoffRate": 1}],
    )
    result = await with_handlers(state).execute({}, lambdas={"F": handler}, clock=clock)
    assert result.status == "SUCCEEDED"
    assert scheduled_gaps(result) == [12, 12]


def test_execution_timeout_seconds_times_the_execution_out() -> None:
    sm = StateMachine(
        {
            "TimeoutSeconds": 60,
            "StartAt": "W",
            "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": True}},
        }
    )
    result = sm.run({}, clock=VirtualClock(START))
    assert result.status == "TIMED_OUT"
    assert result.error == "States.Timeout"
    assert types(result)[-1] == "ExecutionTimedOut"
    assert end_offset(result) == 60


# ----------------------------------------------------------------- task tokens


def token_task(**fields: Any) -> dict[str, Any]:
    return {
        "Type": "Task",
        "Resource": SQS_WAIT,
        "Parameters": {
            "QueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/approvals",
            "MessageBody": {"token.$": "$$.Task.Token", "order.$": "$.order"},
        },
        **fields,
    }


class Approver:
    """An ``sqs:sendMessage`` integration whose consumer answers the token later."""

    def __init__(
        self,
        tokens: TaskTokens,
        clock: VirtualClock,
        after: float | None,
        answer: Callable[[TaskTokens, str], None] | None = None,
    ) -> None:
        self.tokens = tokens
        self.clock = clock
        self.after = after
        self.answer = answer or (lambda t, token: t.succeed(token, {"approved": True}))
        self.requests: list[Any] = []
        self.background: list[asyncio.Task[None]] = []

    async def __call__(self, request: Any) -> Any:
        self.requests.append(request)
        if self.after is not None:
            self.background.append(asyncio.get_running_loop().create_task(self._later(request)))
        return {"MessageId": "m-1"}

    async def _later(self, request: Any) -> None:
        await self.clock.sleep(self.after or 0)
        self.answer(self.tokens, request.task_token)


async def test_wait_for_task_token_succeeds_with_the_output_sent_for_the_token() -> None:
    clock, tokens = VirtualClock(START), TaskTokens()
    approver = Approver(tokens, clock, after=3600)
    sm = with_handlers(token_task(ResultPath="$.approval"))
    result = await sm.execute(
        {"order": "o-1"}, integrations={"sqs:sendMessage": approver}, tokens=tokens, clock=clock
    )
    assert result.status == "SUCCEEDED"
    assert result.output == {"order": "o-1", "approval": {"approved": True}}
    (request,) = approver.requests
    assert isinstance(request.task_token, str)
    assert request.task_token
    assert request.parameters["MessageBody"] == {"token": request.task_token, "order": "o-1"}
    assert request.state_name == "T"
    assert "TaskSubmitted" in types(result)
    assert end_offset(result) == 3600


async def test_wait_for_task_token_fails_with_the_error_sent_for_the_token() -> None:
    clock, tokens = VirtualClock(START), TaskTokens()
    approver = Approver(
        tokens, clock, after=60, answer=lambda t, token: t.fail(token, "Rejected", "no budget")
    )
    sm = with_handlers(
        token_task(Catch=[{"ErrorEquals": ["Rejected"], "Next": "Recovered"}]),
        Recovered=RECOVERED,
    )
    result = await sm.execute(
        {"order": "o-1"}, integrations={"sqs:sendMessage": approver}, tokens=tokens, clock=clock
    )
    assert result.status == "SUCCEEDED"
    assert result.output == {"Error": "Rejected", "Cause": "no budget"}


async def test_a_24_hour_approval_timeout_takes_no_real_time() -> None:
    clock, tokens = VirtualClock(START), TaskTokens()
    approver = Approver(tokens, clock, after=None)  # nobody ever answers
    sm = with_handlers(token_task(TimeoutSeconds=86_400))
    began = time.monotonic()
    result = await sm.execute(
        {"order": "o-1"}, integrations={"sqs:sendMessage": approver}, tokens=tokens, clock=clock
    )
    assert time.monotonic() - began < 30
    assert result.status == "FAILED"
    assert result.error == "States.Timeout"
    assert end_offset(result) == 86_400
    # the token is gone: answering it now is an error, as SendTaskSuccess would say
    with pytest.raises(StatesError):
        tokens.succeed(approver.requests[0].task_token, {})


async def test_an_approval_just_before_the_timeout_wins() -> None:
    clock, tokens = VirtualClock(START), TaskTokens()
    approver = Approver(tokens, clock, after=86_399)
    sm = with_handlers(token_task(TimeoutSeconds=86_400))
    result = await sm.execute(
        {"order": "o-1"}, integrations={"sqs:sendMessage": approver}, tokens=tokens, clock=clock
    )
    assert result.status == "SUCCEEDED"
    assert result.output == {"approved": True}
    assert end_offset(result) == 86_399


async def test_heartbeat_seconds_fails_a_silent_task_with_states_timeout() -> None:
    clock, tokens = VirtualClock(START), TaskTokens()
    approver = Approver(tokens, clock, after=None)
    sm = with_handlers(token_task(HeartbeatSeconds=60, TimeoutSeconds=3600))
    result = await sm.execute(
        {"order": "o-1"}, integrations={"sqs:sendMessage": approver}, tokens=tokens, clock=clock
    )
    assert result.status == "FAILED"
    # AWS records a missed heartbeat as States.Timeout (TaskTimedOut and ExecutionFailed)
    assert result.error == "States.Timeout"
    assert types(result)[-2:] == ["TaskTimedOut", "ExecutionFailed"]
    assert result.history[-2]["taskTimedOutEventDetails"]["error"] == "States.Timeout"
    assert end_offset(result) == 60


async def test_heartbeats_keep_a_task_alive_past_heartbeat_seconds() -> None:
    clock, tokens = VirtualClock(START), TaskTokens()

    async def send(request: Any) -> Any:
        async def beat_then_answer() -> None:
            for _ in range(5):
                await clock.sleep(45)
                tokens.heartbeat(request.task_token)
            tokens.succeed(request.task_token, {"done": True})

        background.append(asyncio.get_running_loop().create_task(beat_then_answer()))
        return {}

    background: list[asyncio.Task[None]] = []
    sm = with_handlers(token_task(HeartbeatSeconds=60, TimeoutSeconds=3600))
    result = await sm.execute(
        {"order": "o-1"}, integrations={"sqs:sendMessage": send}, tokens=tokens, clock=clock
    )
    assert result.status == "SUCCEEDED"
    assert result.output == {"done": True}
    assert end_offset(result) == 225


async def test_heartbeat_timeout_can_be_caught() -> None:
    clock, tokens = VirtualClock(START), TaskTokens()
    approver = Approver(tokens, clock, after=None)
    sm = with_handlers(
        token_task(
            HeartbeatSeconds=10,
            Catch=[{"ErrorEquals": ["States.HeartbeatTimeout"], "Next": "Recovered"}],
        ),
        Recovered=RECOVERED,
    )
    result = await sm.execute(
        {"order": "o-1"}, integrations={"sqs:sendMessage": approver}, tokens=tokens, clock=clock
    )
    assert result.status == "SUCCEEDED"
    # caught by the States.HeartbeatTimeout rule, the error itself is States.Timeout
    assert result.output["Error"] == "States.Timeout"
