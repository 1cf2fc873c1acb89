"""ExecutionService over a LocalApp, without HTTP and without AWS.

Ad-hoc machines (CreateStateMachine) made of Pass/Wait/Fail states, and a stand-in
``sqs:sendMessage`` integration that hands out the task token, cover the service's
own logic; the HTTP endpoint and the template's machines are covered by
tests/integration/local/test_sfn_api.py.
"""

from __future__ import annotations

import asyncio
import gc
import inspect
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from workflows.engine import StateMachine, VirtualClock
from workflows.engine.clock import RealClock
from workflows.engine.errors import StatesError
from workflows.engine.history import History
from workflows.engine.machine import ExecutionResult
from workflows.engine.tasks import TaskRequest
from workflows.local.app import LocalApp
from workflows.local.executions import ExecutionService, ServiceError
from workflows.local.store import ExecutionStore
from workflows.local.template import load_template

REPO = Path(__file__).resolve().parents[3]
ROLE = "arn:aws:iam::123456789012:role/StepFunctionsExecutionRole"
PREFIX = "arn:aws:states:us-east-1:123456789012"

PASS = {"StartAt": "Echo", "States": {"Echo": {"Type": "Pass", "End": True}}}
WAIT = {"StartAt": "Hold", "States": {"Hold": {"Type": "Wait", "Seconds": 3600, "End": True}}}
FAIL = {"StartAt": "No", "States": {"No": {"Type": "Fail", "Error": "Nope", "Cause": "because"}}}
ASK = {
    "StartAt": "Ask",
    "States": {
        "Ask": {
            "Type": "Task",
            "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
            "Parameters": {"QueueUrl": "q", "MessageBody": {"token.$": "$$.Task.Token"}},
            "End": True,
        }
    },
}


class Tokens:
    """A stand-in for SQS: remembers the task tokens it was given."""

    def __init__(self) -> None:
        self.issued: asyncio.Queue[str] = asyncio.Queue()

    async def __call__(self, request: TaskRequest) -> Any:
        assert request.task_token is not None
        self.issued.put_nowait(request.task_token)
        return {"MessageId": "m-1"}


@pytest.fixture
def app() -> LocalApp:
    return LocalApp(load_template(REPO / "infra" / "sam" / "template.yaml"), clock=RealClock())


@pytest.fixture
def service(app: LocalApp) -> Iterator[ExecutionService]:
    service = ExecutionService(app, ExecutionStore(":memory:"))
    yield service
    service.close()


async def create(service: ExecutionService, definition: dict[str, Any], name: str) -> str:
    created = await service.create_state_machine(name, json.dumps(definition), ROLE)
    arn: str = created["stateMachineArn"]
    return arn


async def code_of(call: Any) -> str:
    async def attempt() -> None:
        answer = call()
        if inspect.isawaitable(answer):
            await answer

    with pytest.raises(ServiceError) as caught:
        await attempt()
    return caught.value.code


async def test_start_returns_at_once_and_the_execution_runs(service: ExecutionService) -> None:
    arn = await create(service, PASS, "echo")
    started = await service.start_execution(arn, '{"x": 1}', "first")
    execution = started["executionArn"]
    assert execution == f"{PREFIX}:execution:echo:first"
    assert service.describe_execution(execution)["status"] == "RUNNING"
    done = await service.wait(execution)
    assert done["status"] == "SUCCEEDED"
    assert json.loads(done["output"]) == {"x": 1}
    assert done["startDate"] == started["startDate"]
    history = service.get_execution_history(execution)["events"]
    assert [e["type"] for e in history] == [
        "ExecutionStarted",
        "PassStateEntered",
        "PassStateExited",
        "ExecutionSucceeded",
    ]
    assert isinstance(history[0]["timestamp"], float)


async def test_an_end_event_is_stored_with_the_status_in_one_write(
    service: ExecutionService, monkeypatch: pytest.MonkeyPatch
) -> None:
    # one write is one transaction: a reader never sees the end event of an execution
    # still RUNNING (the console's page then stayed RUNNING), and a kill -9 cannot leave
    # an end event whose execution recovery would mark ABORTED after it
    jobs: list[list[Any]] = []
    submit = service.store._submit

    def watched(writes: list[Any], *, durable: bool) -> Any:
        jobs.append(writes)
        return submit(writes, durable=durable)

    monkeypatch.setattr(service.store, "_submit", watched)
    for definition, name in ((PASS, "ends-well"), (FAIL, "ends-badly")):
        machine = await create(service, definition, name)
        execution = (await service.start_execution(machine, "{}", "one"))["executionArn"]
        done = await service.wait(execution)
        last = service.get_execution_history(execution, reverse_order=True)["events"][0]
        assert last["type"] == f"Execution{done['status'].title()}"
        holding = [
            job
            for job in jobs
            if any(isinstance(p, dict) and p["event"]["type"] == last["type"] for _, p in job)
        ]
        assert len(holding) == 1
        statements = [statement for statement, _ in holding[0]]
        assert any(s.startswith("UPDATE executions SET status") for s in statements)


async def test_executions_the_app_runs_itself_are_registered(
    app: LocalApp, service: ExecutionService
) -> None:
    machine = StateMachine(json.dumps(FAIL), name="Failing")
    result = await app.execute_machine(machine, {"from": "a rule"}, name="by-rule")
    assert result.status == "FAILED"
    described = service.describe_execution(f"{PREFIX}:execution:Failing:by-rule")
    assert (described["status"], described["error"], described["cause"]) == (
        "FAILED",
        "Nope",
        "because",
    )
    assert json.loads(described["input"]) == {"from": "a rule"}
    with pytest.raises(StatesError) as again:  # the name is taken, as on AWS
        await app.execute_machine(machine, {}, name="by-rule")
    assert again.value.error == "StepFunctions.ExecutionAlreadyExistsException"


async def test_idempotent_start_only_while_running(service: ExecutionService) -> None:
    arn = await create(service, WAIT, "holding")
    first = await service.start_execution(arn, '{"a": 1}', "same")
    assert (await service.start_execution(arn, '{"a": 1}', "same")) == first
    assert await code_of(lambda: service.start_execution(arn, '{"a": 2}', "same")) == (
        "ExecutionAlreadyExists"
    )
    await service.stop_execution(first["executionArn"])
    assert await code_of(lambda: service.start_execution(arn, '{"a": 1}', "same")) == (
        "ExecutionAlreadyExists"
    )


async def test_stop_right_after_start_aborts(service: ExecutionService) -> None:
    arn = await create(service, WAIT, "holding")
    execution = (await service.start_execution(arn))["executionArn"]
    stopped = await service.stop_execution(execution, error="E", cause="C")  # never ran a step
    described = service.describe_execution(execution)
    assert (described["status"], described["error"], described["cause"]) == ("ABORTED", "E", "C")
    assert described["stopDate"] == stopped["stopDate"]


async def test_a_stopped_execution_returns_aborted_to_whoever_awaits_it(
    app: LocalApp, service: ExecutionService
) -> None:
    machine = StateMachine(json.dumps(WAIT), name="Direct")
    run = asyncio.ensure_future(app.execute_machine(machine, {}, name="direct"))
    execution = f"{PREFIX}:execution:Direct:direct"

    async def waiting() -> None:
        while not _exists(service, execution) or (
            len(service.get_execution_history(execution)["events"]) < 2
        ):
            await asyncio.sleep(0.005)

    await asyncio.wait_for(waiting(), 5)
    await service.stop_execution(execution, cause="enough")
    result = await run
    assert result.status == "ABORTED"
    assert service.describe_execution(execution)["cause"] == "enough"
    assert app.records[-1].result is result


def _exists(service: ExecutionService, arn: str) -> bool:
    try:
        service.describe_execution(arn)
    except ServiceError:
        return False
    return True


async def test_task_tokens_succeed_fail_and_expire(
    app: LocalApp, service: ExecutionService
) -> None:
    tokens = Tokens()
    app.runner.integrations["sqs:sendMessage"] = tokens
    arn = await create(service, ASK, "asking")

    yes = (await service.start_execution(arn, "{}", "yes"))["executionArn"]
    token = await asyncio.wait_for(tokens.issued.get(), 5)
    assert await code_of(lambda: service.send_task_success(token, "{nope")) == "InvalidOutput"
    await service.send_task_heartbeat(token)
    await service.send_task_success(token, '{"ok": true}')
    assert json.loads((await service.wait(yes))["output"]) == {"ok": True}
    assert await code_of(lambda: service.send_task_success(token, "{}")) == "TaskDoesNotExist"

    no = (await service.start_execution(arn, "{}", "no"))["executionArn"]
    token = await asyncio.wait_for(tokens.issued.get(), 5)
    await service.send_task_failure(token, error="Denied", cause="by a person")
    failed = await service.wait(no)
    assert (failed["status"], failed["error"], failed["cause"]) == (
        "FAILED",
        "Denied",
        "by a person",
    )

    gone = (await service.start_execution(arn, "{}", "gone"))["executionArn"]
    token = await asyncio.wait_for(tokens.issued.get(), 5)
    await service.stop_execution(gone)
    assert await code_of(lambda: service.send_task_heartbeat(token)) == "TaskDoesNotExist"
    assert await code_of(lambda: service.send_task_failure("not-a-token")) == "InvalidToken"


async def test_timeouts_on_a_virtual_clock() -> None:
    app = LocalApp(load_template(REPO / "infra" / "sam" / "template.yaml"), clock=VirtualClock())
    service = ExecutionService(app)
    slow = {**WAIT, "TimeoutSeconds": 60}
    arn = await create(service, slow, "slow")
    execution = (await service.start_execution(arn))["executionArn"]
    timed_out = await service.wait(execution)
    assert (timed_out["status"], timed_out["error"]) == ("TIMED_OUT", "States.Timeout")
    assert timed_out["stopDate"] - timed_out["startDate"] == pytest.approx(
        60, abs=0.5
    )  # time flows while work is done
    service.close()


async def test_history_options(service: ExecutionService) -> None:
    arn = await create(service, PASS, "echo")
    execution = (await service.start_execution(arn, '{"secret": 1}'))["executionArn"]
    await service.wait(execution)
    bare = service.get_execution_history(execution, include_execution_data=False)["events"]
    assert bare[0]["executionStartedEventDetails"] == {
        "roleArn": "arn:aws:iam::123456789012:role/StepFunctionsExecutionRole"
    }
    assert "secret" not in json.dumps(bare)
    page = service.get_execution_history(execution, max_results=2)
    assert await code_of(
        lambda: service.get_execution_history(
            execution, next_token=page["nextToken"], reverse_order=True
        )
    ) == ("InvalidToken")
    other = (await service.start_execution(arn))["executionArn"]
    assert (
        await code_of(lambda: service.get_execution_history(other, next_token=page["nextToken"]))
        == "InvalidToken"
    )


async def test_state_machines(service: ExecutionService) -> None:
    listed = service.list_state_machines(max_results=2)
    assert len(listed["stateMachines"]) == 2
    rest = service.list_state_machines(next_token=listed["nextToken"])
    every = [m["name"] for m in listed["stateMachines"] + rest["stateMachines"]]
    assert "OrderProcessingStateMachine" in every
    assert every == sorted(every)
    orders = f"{PREFIX}:stateMachine:OrderProcessingStateMachine"
    assert await code_of(lambda: service.delete_state_machine(orders)) == "ValidationException"
    assert await code_of(lambda: service.create_state_machine("x", "{}", ROLE, "FAST")) == (
        "ValidationException"
    )
    assert await code_of(lambda: service.create_state_machine("x", json.dumps(PASS), "role")) == (
        "InvalidArn"
    )
    assert await code_of(
        lambda: service.create_state_machine("OrderProcessingStateMachine", "{}", ROLE)
    ) == ("StateMachineAlreadyExists")
    assert await service.delete_state_machine(f"{PREFIX}:stateMachine:never-was") == {}


async def test_validation_shows_warnings_on_request(service: ExecutionService) -> None:
    definition = json.dumps({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}}})
    errors = service.validate_state_machine_definition(definition)
    assert errors["result"] == "FAIL"
    assert errors["truncated"] is False
    assert {d["severity"] for d in errors["diagnostics"]} == {"ERROR"}
    everything = service.validate_state_machine_definition(definition, severity="WARNING")
    assert len(everything["diagnostics"]) >= len(errors["diagnostics"])
    invalid = service.validate_state_machine_definition("{not json")
    assert invalid["diagnostics"][0]["code"] == "INVALID_JSON_DESCRIPTION"
    assert await code_of(
        lambda: service.validate_state_machine_definition(definition, severity="INFO")
    ) == ("ValidationException")


async def test_arns_are_checked_before_lookups(service: ExecutionService) -> None:
    assert await code_of(lambda: service.describe_execution("arn:aws:sqs:x")) == "InvalidArn"
    assert (
        await code_of(lambda: service.describe_execution(f"{PREFIX}:execution:M")) == "InvalidArn"
    )
    assert await code_of(lambda: service.describe_execution(f"{PREFIX}:execution:M:n")) == (
        "ExecutionDoesNotExist"
    )
    assert await code_of(
        lambda: service.list_executions(f"{PREFIX}:stateMachine:M", max_results=-1)
    ) == ("ValidationException")
    assert await code_of(lambda: service.describe_state_machine_for_execution(f"{PREFIX}:x")) == (
        "InvalidArn"
    )


async def test_ad_hoc_machines_and_their_executions_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "executions.sqlite3"
    template = load_template(REPO / "infra" / "sam" / "template.yaml")
    first = ExecutionService(LocalApp(template), ExecutionStore(path))
    arn = await create(first, PASS, "kept")
    execution = (await first.start_execution(arn, "[1, 2]", "one"))["executionArn"]
    await first.wait(execution)
    first.close()

    second = ExecutionService(LocalApp(template), ExecutionStore(path))
    assert second.describe_state_machine(arn)["definition"] == json.dumps(PASS)
    assert json.loads(second.describe_execution(execution)["output"]) == [1, 2]
    assert second.describe_state_machine_for_execution(execution)["name"] == "kept"
    again = (await second.start_execution(arn, "{}", "two"))["executionArn"]
    assert (await second.wait(again))["status"] == "SUCCEEDED"
    names = [e["name"] for e in second.list_executions(arn)["executions"]]
    assert names == ["two", "one"]
    second.close()


async def test_a_locked_store_fails_the_start_and_the_loop_keeps_serving(
    app: LocalApp, tmp_path: Path
) -> None:
    path = tmp_path / "executions.sqlite3"
    service = ExecutionService(app, ExecutionStore(path, busy_timeout=0.3))
    arn = await create(service, PASS, "echo")
    before = (await service.start_execution(arn, "{}", "before"))["executionArn"]
    await service.wait(before)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")  # another process holds the file
    ticks = 0

    async def ticking() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    ticker = asyncio.ensure_future(ticking())
    try:
        with pytest.raises(ServiceError) as refused:
            await service.start_execution(arn, "{}", "during")
        assert (refused.value.code, refused.value.status) == ("ServiceUnavailable", 503)
        assert ticks > 0, "the event loop ran other work while the store waited"
        assert service.describe_execution(before)["status"] == "SUCCEEDED"
    finally:
        ticker.cancel()
        other.execute("ROLLBACK")
        other.close()
    assert await code_of(lambda: service.describe_execution(f"{PREFIX}:execution:echo:during")) == (
        "ExecutionDoesNotExist"
    )
    after = (await service.start_execution(arn, "{}", "during"))["executionArn"]
    assert (await service.wait(after))["status"] == "SUCCEEDED"
    service.close()


def _count(kind: type) -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects() if isinstance(o, kind))


async def test_ended_executions_leave_nothing_per_execution_but_the_store() -> None:
    # issue #13: what the runtime keeps per order; after the end only the store has it.
    # The app as `workflows up` makes it: no ExecutionRecords (those are for `run`/tests)
    template = load_template(REPO / "infra" / "sam" / "template.yaml")
    service = ExecutionService(
        LocalApp(template, clock=RealClock(), keep_records=False), ExecutionStore(":memory:")
    )
    try:
        await _run_many_then_update(service)
    finally:
        service.close()


async def _run_many_then_update(service: ExecutionService) -> None:
    arn = await create(service, PASS, "many")
    histories, results = _count(History), _count(ExecutionResult)
    for number in range(40):
        started = await service.start_execution(arn, "{}", f"run-{number}")
        assert (await service.wait(started["executionArn"]))["status"] == "SUCCEEDED"
    await service.app.drain()  # the last start's outer task ends just after its execution
    await asyncio.sleep(0)  # and drain's own gather lets go of its result
    assert not service._live
    assert _count(History) == histories
    assert _count(ExecutionResult) == results
    # executions of the same revision share one snapshot of what they ran
    assert len({id(ran) for ran in service.ran_with.values()}) == 1
    await service.update_state_machine(arn, definition=json.dumps(FAIL))
    later = (await service.start_execution(arn, "{}", "after-update"))["executionArn"]
    await service.wait(later)
    assert len({id(ran) for ran in service.ran_with.values()}) == 2
    first = f"{PREFIX}:execution:many:run-0"
    assert json.loads(service.describe_state_machine_for_execution(first)["definition"]) == PASS
    assert json.loads(service.describe_state_machine_for_execution(later)["definition"]) == FAIL
