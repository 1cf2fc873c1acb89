"""Activities and TestState on the local Step Functions endpoint, with a real boto3 client;
and which of botocore's Step Functions operations the endpoint serves."""

from __future__ import annotations

import json
import threading
from typing import Any

import boto3
import pytest

from tests.integration.local import test_sfn_api as base
from tests.integration.local.test_sfn_api import ROLE, Runtime, wait_until
from workflows.local.sfn_api import ACTIONS

# the endpoint and runtime of the main endpoint tests
moto_endpoint = base.moto_endpoint
store_path = base.store_path
runtime = base.runtime
sfn = base.sfn


@pytest.fixture
def plain_host(runtime: Runtime) -> Any:
    """A client that sends TestState to the endpoint itself: botocore prefixes its host
    with "sync-" (docs/local-stepfunctions.md)."""
    return runtime.client(host_prefix=False)


def test_every_operation_botocore_knows_is_served() -> None:
    # a botocore that learns a new Step Functions operation fails this until it is served
    model = boto3.client("stepfunctions", region_name="us-east-1").meta.service_model
    operations = set(model.operation_names)
    assert set(ACTIONS) <= operations, set(ACTIONS) - operations
    assert operations - set(ACTIONS) == set(), "not served yet"


def activity_machine(sfn: Any, activity_arn: str, name: str) -> str:
    definition = {
        "StartAt": "Pack",
        "States": {
            "Pack": {
                "Type": "Task",
                "Resource": activity_arn,
                "Parameters": {"order.$": "$.id"},
                "TimeoutSeconds": 60,
                "End": True,
            }
        },
    }
    created = sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn=ROLE)
    return str(created["stateMachineArn"])


def test_an_activity_worker_takes_the_task_and_answers_it(sfn: Any) -> None:
    arn = sfn.create_activity(name="pack-order")["activityArn"]
    assert arn.endswith(":activity:pack-order")
    assert sfn.create_activity(name="pack-order")["activityArn"] == arn  # idempotent
    machine = activity_machine(sfn, arn, "packing")
    execution = sfn.start_execution(stateMachineArn=machine, input='{"id": 42}')["executionArn"]

    task = sfn.get_activity_task(activityArn=arn, workerName="packer-1")
    assert json.loads(task["input"]) == {"order": 42}
    sfn.send_task_success(taskToken=task["taskToken"], output='{"box": "B7"}')

    described = wait_until(
        lambda: (
            (d := sfn.describe_execution(executionArn=execution))["status"] == "SUCCEEDED" and d
        ),
        what="the activity's execution to succeed",
    )
    assert json.loads(described["output"]) == {"box": "B7"}
    events = sfn.get_execution_history(executionArn=execution)["events"]
    types = [e["type"] for e in events]
    assert types[2:5] == ["ActivityScheduled", "ActivityStarted", "ActivitySucceeded"]
    assert events[3]["activityStartedEventDetails"] == {"workerName": "packer-1"}


def test_activities_are_described_listed_and_deleted(sfn: Any) -> None:
    arns = [sfn.create_activity(name=f"act-{i}")["activityArn"] for i in range(3)]
    described = sfn.describe_activity(activityArn=arns[0])
    assert described["name"] == "act-0"
    first = sfn.list_activities(maxResults=2)
    assert len(first["activities"]) == 2
    rest = sfn.list_activities(maxResults=2, nextToken=first["nextToken"])
    listed = [a["activityArn"] for a in first["activities"] + rest["activities"]]
    assert set(arns) <= set(listed)
    sfn.delete_activity(activityArn=arns[1])
    with pytest.raises(sfn.exceptions.ActivityDoesNotExist):
        sfn.describe_activity(activityArn=arns[1])
    with pytest.raises(sfn.exceptions.InvalidName):
        sfn.create_activity(name="no spaces allowed")


def test_get_activity_task_waits_for_work_that_arrives(runtime: Runtime, sfn: Any) -> None:
    arn = sfn.create_activity(name="late-work")["activityArn"]
    machine = activity_machine(sfn, arn, "late")
    got: dict[str, Any] = {}
    worker = threading.Thread(
        target=lambda: got.update(runtime.client().get_activity_task(activityArn=arn))
    )
    worker.start()
    sfn.start_execution(stateMachineArn=machine, input='{"id": 1}')
    worker.join(30)
    assert json.loads(got["input"]) == {"order": 1}
    sfn.send_task_failure(taskToken=got["taskToken"], error="NoBoxes", cause="none left")


def test_test_state_runs_one_state_with_debug_inspection(plain_host: Any) -> None:
    sfn = plain_host
    state = {
        "Type": "Pass",
        "InputPath": "$.order",
        "Parameters": {"id.$": "$.id", "checked": True},
        "ResultPath": "$.result",
        "Next": "Charge",
    }
    answer = sfn.test_state(
        definition=json.dumps(state), input='{"order": {"id": 7}}', inspectionLevel="DEBUG"
    )
    assert answer["status"] == "SUCCEEDED"
    assert answer["nextState"] == "Charge"
    assert json.loads(answer["output"]) == {
        "order": {"id": 7},
        "result": {"id": 7, "checked": True},
    }
    inspection = answer["inspectionData"]
    assert json.loads(inspection["afterInputPath"]) == {"id": 7}
    assert json.loads(inspection["afterParameters"]) == {"id": 7, "checked": True}


def test_test_state_with_a_mocked_error_reports_the_retrier(plain_host: Any) -> None:
    sfn = plain_host
    state = {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Arguments": {"FunctionName": "charge"},
        "QueryLanguage": "JSONata",
        "Retry": [{"ErrorEquals": ["Lambda.TooManyRequestsException"], "MaxAttempts": 2}],
        "End": True,
    }
    answer = sfn.test_state(
        definition=json.dumps(state),
        input="{}",
        mock={"errorOutput": {"error": "Lambda.TooManyRequestsException", "cause": "slow down"}},
    )
    assert answer["status"] == "RETRIABLE"
    assert answer["error"] == "Lambda.TooManyRequestsException"
    assert answer["inspectionData"]["errorDetails"] == {
        "retryIndex": 0,
        "retryBackoffIntervalSeconds": 1,
    }


def test_test_state_refuses_a_broken_definition(plain_host: Any) -> None:
    sfn = plain_host
    with pytest.raises(sfn.exceptions.InvalidDefinition) as info:
        sfn.test_state(definition='{"Type": "Pass", "Next": 3}', input="{}")
    assert "/Next" in str(info.value)


PASS_ONE = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": 1, "End": True}}}
PASS_TWO = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": 2, "End": True}}}


def finished(sfn: Any, arn: str) -> Any:
    return wait_until(
        lambda: (d := sfn.describe_execution(executionArn=arn))["status"] != "RUNNING" and d,
        what=f"{arn} to end",
    )


def test_update_runs_the_new_definition_and_old_executions_keep_theirs(sfn: Any) -> None:
    machine = sfn.create_state_machine(
        name="updatable", definition=json.dumps(PASS_ONE), roleArn=ROLE
    )["stateMachineArn"]
    first = sfn.start_execution(stateMachineArn=machine)["executionArn"]
    assert finished(sfn, first)["output"] == "1"
    updated = sfn.update_state_machine(stateMachineArn=machine, definition=json.dumps(PASS_TWO))
    assert updated["revisionId"]
    described = sfn.describe_state_machine(stateMachineArn=machine)
    assert json.loads(described["definition"]) == PASS_TWO
    assert described["revisionId"] == updated["revisionId"]
    second = sfn.start_execution(stateMachineArn=machine)["executionArn"]
    assert finished(sfn, second)["output"] == "2"
    ran = sfn.describe_state_machine_for_execution(executionArn=first)
    assert json.loads(ran["definition"]) == PASS_ONE
    with pytest.raises(sfn.exceptions.InvalidDefinition):
        sfn.update_state_machine(stateMachineArn=machine, definition='{"StartAt": "X"}')
    with pytest.raises(sfn.exceptions.MissingRequiredParameter):
        sfn.update_state_machine(stateMachineArn=machine)


def test_versions_are_published_listed_run_and_deleted(sfn: Any) -> None:
    created = sfn.create_state_machine(
        name="versioned", definition=json.dumps(PASS_ONE), roleArn=ROLE, publish=True
    )
    machine, v1 = created["stateMachineArn"], created["stateMachineVersionArn"]
    assert v1 == f"{machine}:1"
    v2 = sfn.update_state_machine(
        stateMachineArn=machine, definition=json.dumps(PASS_TWO), publish=True
    )["stateMachineVersionArn"]
    assert v2 == f"{machine}:2"
    listed = sfn.list_state_machine_versions(stateMachineArn=machine)["stateMachineVersions"]
    assert [v["stateMachineVersionArn"] for v in listed] == [v2, v1]
    on_v1 = sfn.start_execution(stateMachineArn=v1)["executionArn"]
    described = finished(sfn, on_v1)
    assert described["output"] == "1"
    assert described["stateMachineArn"] == machine
    assert described["stateMachineVersionArn"] == v1
    sfn.delete_state_machine_version(stateMachineVersionArn=v1)
    assert [
        v["stateMachineVersionArn"]
        for v in sfn.list_state_machine_versions(stateMachineArn=machine)["stateMachineVersions"]
    ] == [v2]


def test_tags_are_kept_changed_and_listed(sfn: Any) -> None:
    machine = sfn.create_state_machine(
        name="tagged",
        definition=json.dumps(PASS_ONE),
        roleArn=ROLE,
        tags=[{"key": "team", "value": "orders"}],
        tracingConfiguration={"enabled": True},
    )["stateMachineArn"]
    assert sfn.describe_state_machine(stateMachineArn=machine)["tracingConfiguration"] == {
        "enabled": True
    }
    sfn.tag_resource(resourceArn=machine, tags=[{"key": "env", "value": "local"}])
    sfn.untag_resource(resourceArn=machine, tagKeys=["team"])
    assert sfn.list_tags_for_resource(resourceArn=machine)["tags"] == [
        {"key": "env", "value": "local"}
    ]
    with pytest.raises(sfn.exceptions.ResourceNotFound):
        sfn.list_tags_for_resource(resourceArn=machine + "-gone")
