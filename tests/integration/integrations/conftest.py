"""moto-backed AWS for the integration tests: every boto3 call lands in moto."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from workflows.engine import ServiceIntegration, StateMachine
from workflows.integrations import aws_integrations

REGION = "us-east-1"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[boto3.Session]:
    """A moto account; endpoints from the environment are removed so moto answers."""
    for name in list(os.environ):
        if name.startswith("AWS_ENDPOINT_URL") or name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        yield boto3.Session(region_name=REGION)


@pytest.fixture
def integrations(aws: boto3.Session) -> dict[str, ServiceIntegration]:
    return aws_integrations(lambda: boto3.Session(region_name=REGION))


def task_machine(state: dict[str, Any], **extra_states: dict[str, Any]) -> StateMachine:
    """A machine whose first state is the Task ``state`` (named ``Task``)."""
    states: dict[str, Any] = {"Task": {"Type": "Task", **state}}
    if "Next" not in state and "End" not in state:
        states["Task"]["End"] = True
    states.update(extra_states)
    return StateMachine({"StartAt": "Task", "States": states}, name="Orders")


def task_events(history: list[dict[str, Any]]) -> list[str]:
    return [event["type"] for event in history if event["type"].startswith("Task")]
