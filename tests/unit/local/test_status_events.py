"""Execution status change events: every status of a STANDARD execution reaches the
default bus, and a template rule on them starts its state machine (no AWS, no HTTP)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from workflows.engine.clock import RealClock
from workflows.local.app import LocalApp
from workflows.local.executions import ExecutionService
from workflows.local.status_events import status_change_entry
from workflows.local.store import ExecutionStore
from workflows.local.template import load_template

ROLE = "arn:aws:iam::123456789012:role/StepFunctionsExecutionRole"
PREFIX = "arn:aws:states:us-east-1:123456789012"

TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Resources:
  Watcher:
    Type: AWS::Serverless::StateMachine
    Properties:
      Type: STANDARD
      DefinitionUri: pass.asl.json
      Events:
        OnFailure:
          Type: EventBridgeRule
          Properties:
            Pattern:
              source: [aws.states]
              detail-type: [Step Functions Execution Status Change]
              detail:
                status: [FAILED]
"""
PASS = {"StartAt": "Echo", "States": {"Echo": {"Type": "Pass", "End": True}}}
FAIL = {"StartAt": "No", "States": {"No": {"Type": "Fail", "Error": "Nope", "Cause": "because"}}}


@pytest.fixture
def app(tmp_path: Path) -> LocalApp:
    (tmp_path / "template.yaml").write_text(TEMPLATE)
    (tmp_path / "pass.asl.json").write_text(json.dumps(PASS))
    return LocalApp(load_template(tmp_path / "template.yaml"), clock=RealClock())


@pytest.fixture
def service(app: LocalApp) -> Iterator[ExecutionService]:
    service = ExecutionService(app, ExecutionStore(":memory:"))
    yield service
    service.close()


def published(app: LocalApp) -> list[dict[str, Any]]:
    """Every entry the app routes, recorded as it passes."""
    seen: list[dict[str, Any]] = []
    route = app.publish

    def record(entry: Any) -> list[str]:
        seen.append(dict(entry))
        return route(entry)

    app.publish = record  # type: ignore[method-assign]
    return seen


async def test_a_failed_execution_starts_the_rule_on_its_status_change(
    app: LocalApp, service: ExecutionService
) -> None:
    events = published(app)
    failing = (await service.create_state_machine("failing", json.dumps(FAIL), ROLE))[
        "stateMachineArn"
    ]
    started = await service.start_execution(failing, '{"order": 7}', "run-1")
    await service.wait(started["executionArn"])
    await app.drain()

    statuses = [e["Detail"]["status"] for e in events if e["Source"] == "aws.states"]
    assert statuses[:2] == ["RUNNING", "FAILED"]
    watcher = f"{PREFIX}:stateMachine:Watcher"
    [run] = service.store.search_executions(state_machine_arn=watcher)
    event = json.loads(service.describe_execution(run.arn)["input"])
    assert event["source"] == "aws.states"
    assert event["detail-type"] == "Step Functions Execution Status Change"
    assert event["resources"] == [started["executionArn"]]
    detail = event["detail"]
    assert (detail["executionArn"], detail["stateMachineArn"], detail["name"]) == (
        started["executionArn"],
        failing,
        "run-1",
    )
    assert (detail["status"], detail["error"], detail["cause"]) == ("FAILED", "Nope", "because")
    assert json.loads(detail["input"]) == {"order": 7}
    assert detail["output"] is None
    assert detail["stopDate"] >= detail["startDate"] > 10**12  # epoch milliseconds
    # the Watcher's own RUNNING and SUCCEEDED go to the bus too, but match no rule
    assert [e["Detail"]["status"] for e in events if e["Detail"]["name"] == run.name] == [
        "RUNNING",
        "SUCCEEDED",
    ]


async def test_a_stopped_execution_reports_aborted_with_the_error_given(
    app: LocalApp, service: ExecutionService
) -> None:
    events = published(app)
    waiting = {
        "StartAt": "Hold",
        "States": {"Hold": {"Type": "Wait", "Seconds": 3600, "End": True}},
    }
    machine = (await service.create_state_machine("holding", json.dumps(waiting), ROLE))[
        "stateMachineArn"
    ]
    started = await service.start_execution(machine, "{}", "held")
    await service.stop_execution(started["executionArn"], error="Operator", cause="not today")
    await app.drain()
    [running, aborted] = [e["Detail"] for e in events]
    assert running["status"] == "RUNNING"
    assert (aborted["status"], aborted["error"], aborted["cause"]) == (
        "ABORTED",
        "Operator",
        "not today",
    )
    assert aborted["stopDate"] is not None


async def test_express_executions_send_no_status_events(
    app: LocalApp, service: ExecutionService
) -> None:
    events = published(app)
    express = (await service.create_state_machine("quick", json.dumps(FAIL), ROLE, "EXPRESS"))[
        "stateMachineArn"
    ]
    started = await service.start_execution(express, "{}")
    await service.wait(started["executionArn"])
    await app.drain()
    assert ":express:quick:" in started["executionArn"]
    assert events == []


def test_the_entry_has_the_fields_aws_documents() -> None:
    arn = f"{PREFIX}:execution:orders:run-9"
    running = status_change_entry(
        execution_arn=arn,
        state_machine_arn=f"{PREFIX}:stateMachine:orders",
        status="RUNNING",
        input="{}",
        start_date=1700000000.25,
    )
    assert running["Source"] == "aws.states"
    assert running["DetailType"] == "Step Functions Execution Status Change"
    detail = running["Detail"]
    assert detail["startDate"] == 1700000000250
    assert detail["stopDate"] is None
    assert detail["inputDetails"] == {"included": True}
    assert detail["outputDetails"] is None
    succeeded = status_change_entry(
        execution_arn=arn,
        state_machine_arn=f"{PREFIX}:stateMachine:orders",
        status="SUCCEEDED",
        input="{}",
        start_date=1700000000.0,
        stop_date=1700000001.0,
        output='{"ok": true}',
    )["Detail"]
    assert (succeeded["output"], succeeded["outputDetails"]) == ('{"ok": true}', {"included": True})
    assert succeeded["stopDate"] == 1700000001000
