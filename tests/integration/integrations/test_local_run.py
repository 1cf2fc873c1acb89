"""Nested executions under ``workflows run``: the template's machines, without an endpoint."""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from moto import mock_aws

from workflows.engine import StateMachine, VirtualClock
from workflows.local.app import LocalApp
from workflows.local.run import fake_aws_environment
from workflows.local.template import load_template

TEMPLATE = Path(__file__).resolve().parents[3] / "infra" / "sam" / "template.yaml"
SWEEP = "arn:aws:states:us-east-1:123456789012:stateMachine:StuckOrderSweepStateMachine"


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalApp]:
    for key, value in fake_aws_environment().items():
        monkeypatch.setenv(key, value)
    for key in [k for k in os.environ if k.startswith("AWS_ENDPOINT_URL")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "WARNING")
    with mock_aws():
        local = LocalApp(load_template(TEMPLATE), clock=VirtualClock())
        for key, value in local.environment().items():
            monkeypatch.setenv(key, value)
        local.provision()
        yield local


def parent(resource: str, arn: str) -> StateMachine:
    return StateMachine(
        {
            "StartAt": "Start",
            "States": {
                "Start": {
                    "Type": "Task",
                    "Resource": resource,
                    "Parameters": {"StateMachineArn": arn, "Input": {}},
                    "End": True,
                }
            },
        },
        name="Parent",
    )


def test_a_template_machine_runs_as_a_sync_child(app: LocalApp) -> None:
    machine = parent("arn:aws:states:::states:startExecution.sync:2", SWEEP)
    result = asyncio.run(app.execute_machine(machine, {}))
    assert result.status == "SUCCEEDED", result.cause
    assert result.output["StateMachineArn"] == SWEEP
    assert isinstance(result.output["Output"], dict)
    assert result.output["RedriveStatus"] == "NOT_REDRIVABLE"
    assert [record.state_machine for record in app.records] == [
        "StuckOrderSweepStateMachine",
        "Parent",
    ]


def test_a_missing_machine_fails_with_the_sdk_suffix(app: LocalApp) -> None:
    missing = SWEEP.replace("StuckOrderSweep", "Missing")
    result = asyncio.run(
        app.execute_machine(parent("arn:aws:states:::states:startExecution", missing), {})
    )
    assert result.error == "StepFunctions.StateMachineDoesNotExistException"
    assert re.fullmatch(
        rf"State Machine Does Not Exist: '{missing}' \(Service: AWSStepFunctions; "
        r"Status Code: 400; Error Code: StateMachineDoesNotExist; Request ID: [0-9a-f-]{36}; "
        r"Proxy: null\)",
        result.cause or "",
    )
