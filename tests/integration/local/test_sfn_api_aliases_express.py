"""Aliases, Express semantics and what survives a restart, on the local Step Functions
endpoint with a real boto3 client (the AWS texts are those recorded against AWS)."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
import urllib3
from botocore.exceptions import ClientError

from tests.integration.local import test_sfn_api as base
from tests.integration.local.shapes import check_answers, problems
from tests.integration.local.test_sfn_api import ORDERS, ROLE, Runtime, wait_status
from workflows.engine.clock import RealClock

moto_endpoint = base.moto_endpoint
store_path = base.store_path
runtime = base.runtime


@pytest.fixture
def sfn(runtime: Runtime) -> Any:
    """A client that also checks each answer against botocore's output shapes."""
    return check_answers(runtime.client())


ONE = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": 1, "End": True}}}
TWO = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": 2, "End": True}}}
ECHO = {"StartAt": "Echo", "States": {"Echo": {"Type": "Pass", "End": True}}}


def test_the_shape_check_sees_what_botocore_would_hide(runtime: Runtime) -> None:
    model = runtime.client().meta.service_model
    sync = model.operation_model("StartSyncExecution").output_shape
    answer = {"executionArn": "a", "startDate": 1, "stopDate": 2, "status": "SUCCEEDED"}
    answer["redriveCount"] = 0
    assert problems(answer, sync) == ["/redriveCount: not in StartSyncExecutionOutput"]
    alias = model.operation_model("DescribeStateMachineAlias").output_shape
    assert problems({"routingConfiguration": [{"weight": "100"}]}, alias) == [
        "/routingConfiguration/0/weight: '100' is not an integer",
        "/routingConfiguration/0/stateMachineVersionArn: required by "
        "RoutingConfigurationListItem, missing",
    ]


def two_versions(sfn: Any, name: str) -> tuple[str, str, str]:
    machine = sfn.create_state_machine(
        name=name, definition=json.dumps(ONE), roleArn=ROLE, publish=True
    )
    v2 = sfn.update_state_machine(
        stateMachineArn=machine["stateMachineArn"], definition=json.dumps(TWO), publish=True
    )["stateMachineVersionArn"]
    return machine["stateMachineArn"], machine["stateMachineVersionArn"], v2


def error_of(call: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as info:
        call()
    error = info.value.response["Error"]
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    return error["Code"], error["Message"]


# ------------------------------------------------------------------- aliases


def test_an_alias_routes_executions_and_they_report_it(sfn: Any) -> None:
    machine, v1, v2 = two_versions(sfn, "aliased")
    alias = sfn.create_state_machine_alias(
        name="live",
        description="what customers get",
        routingConfiguration=[{"stateMachineVersionArn": v1, "weight": 100}],
    )["stateMachineAliasArn"]
    assert alias == f"{machine}:live"

    through_alias = sfn.start_execution(stateMachineArn=alias)["executionArn"]
    described = wait_status(sfn, through_alias)
    assert described["output"] == "1"
    assert described["stateMachineArn"] == machine
    assert described["stateMachineVersionArn"] == v1
    assert described["stateMachineAliasArn"] == alias
    started = sfn.get_execution_history(executionArn=through_alias)["events"][0]
    assert started["executionStartedEventDetails"]["stateMachineVersionArn"] == v1
    assert started["executionStartedEventDetails"]["stateMachineAliasArn"] == alias

    sfn.update_state_machine_alias(
        stateMachineAliasArn=alias,
        routingConfiguration=[{"stateMachineVersionArn": v2, "weight": 100}],
    )
    after_update = sfn.start_execution(stateMachineArn=alias)["executionArn"]
    assert wait_status(sfn, after_update)["output"] == "2"
    on_version = sfn.start_execution(stateMachineArn=v1)["executionArn"]
    wait_status(sfn, on_version)

    by_alias = sfn.list_executions(stateMachineArn=alias)["executions"]
    assert [e["executionArn"] for e in by_alias] == [after_update, through_alias]
    assert all(e["stateMachineAliasArn"] == alias for e in by_alias)
    by_v1 = sfn.list_executions(stateMachineArn=v1)["executions"]
    assert [e["executionArn"] for e in by_v1] == [on_version, through_alias]
    assert "stateMachineAliasArn" not in by_v1[0]
    everything = sfn.list_executions(stateMachineArn=machine)["executions"]
    assert {e["executionArn"] for e in everything} >= {through_alias, after_update, on_version}

    described_alias = sfn.describe_state_machine_alias(stateMachineAliasArn=alias)
    assert described_alias["name"] == "live"
    assert described_alias["description"] == "what customers get"
    assert described_alias["routingConfiguration"] == [
        {"stateMachineVersionArn": v2, "weight": 100}
    ]
    assert described_alias["updateDate"] >= described_alias["creationDate"]
    listed = sfn.list_state_machine_aliases(stateMachineArn=machine)["stateMachineAliases"]
    assert [a["stateMachineAliasArn"] for a in listed] == [alias]
    assert sfn.list_state_machine_aliases(stateMachineArn=v1)["stateMachineAliases"] == []

    sfn.delete_state_machine_alias(stateMachineAliasArn=alias)
    sfn.delete_state_machine_alias(stateMachineAliasArn=alias)  # gone already: still fine
    assert sfn.list_state_machine_aliases(stateMachineArn=machine)["stateMachineAliases"] == []
    assert error_of(lambda: sfn.describe_state_machine_alias(stateMachineAliasArn=alias)) == (
        "ResourceNotFound",
        "Request references a resource that does not exist.",
    )


def test_a_split_alias_runs_both_versions(sfn: Any) -> None:
    _, v1, v2 = two_versions(sfn, "canary")
    alias = sfn.create_state_machine_alias(
        name="split",
        routingConfiguration=[
            {"stateMachineVersionArn": v1, "weight": 50},
            {"stateMachineVersionArn": v2, "weight": 50},
        ],
    )["stateMachineAliasArn"]
    ran: set[str] = set()
    for _ in range(60):  # both halves show up (the chance of missing one is 2**-59)
        arn = sfn.start_execution(stateMachineArn=alias)["executionArn"]
        ran.add(sfn.describe_execution(executionArn=arn)["stateMachineVersionArn"])
        if ran == {v1, v2}:
            break
    assert ran == {v1, v2}


def test_alias_validation_answers_as_aws(sfn: Any) -> None:
    machine, v1, v2 = two_versions(sfn, "strict")

    def create(name: str, routing: list[dict[str, Any]]) -> tuple[str, str]:
        return error_of(
            lambda: sfn.create_state_machine_alias(name=name, routingConfiguration=routing)
        )

    assert create("ok", [{"stateMachineVersionArn": machine, "weight": 100}]) == (
        "ValidationException",
        f"Routing configuration must contain state machine version ARNs. Received: [{machine}]",
    )
    assert create(
        "ok",
        [
            {"stateMachineVersionArn": v1, "weight": 50},
            {"stateMachineVersionArn": v1, "weight": 50},
        ],
    ) == (
        "ValidationException",
        "Routing configuration must contain distinct state machine version ARNs. "
        f"Received: [{v1}, {v1}]",
    )
    assert create(
        "ok",
        [
            {"stateMachineVersionArn": v1, "weight": 70},
            {"stateMachineVersionArn": v2, "weight": 29},
        ],
    ) == (
        "ValidationException",
        "Sum of routing configuration weights must equal 100. Received: [70, 29]",
    )
    assert create("ok", [{"stateMachineVersionArn": v1, "weight": 101}]) == (
        "ValidationException",
        "1 validation error detected: Value '101' at 'routingConfiguration.1.member.weight' "
        "failed to satisfy constraint: Member must have value less than or equal to 100",
    )
    assert create("123", [{"stateMachineVersionArn": v1, "weight": 100}]) == (
        "ValidationException",
        "1 validation error detected: Value '123' at 'name' failed to satisfy constraint: "
        r"Member must satisfy regular expression pattern: ^(?=.*[a-zA-Z_\-\.])[a-zA-Z0-9_\-\.]+$",
    )
    three = [
        {"stateMachineVersionArn": f"{machine}:{n}", "weight": w}
        for n, w in ((1, 50), (2, 30), (3, 20))
    ]
    code, message = create("ok", three)
    assert code == "ValidationException"
    assert message.endswith(
        "at 'routingConfiguration' failed to satisfy constraint: "
        "Member must have length less than or equal to 2"
    )

    sfn.create_state_machine_alias(
        name="prod", routingConfiguration=[{"stateMachineVersionArn": v1, "weight": 100}]
    )
    again = sfn.create_state_machine_alias(  # the same request again: the same alias
        name="prod", routingConfiguration=[{"stateMachineVersionArn": v1, "weight": 100}]
    )
    assert again["stateMachineAliasArn"] == f"{machine}:prod"
    assert create("prod", [{"stateMachineVersionArn": v2, "weight": 100}]) == (
        "ConflictException",
        "Failed to create alias because an alias with the same name and a different routing "
        "configuration already exists.",
    )
    assert error_of(lambda: sfn.delete_state_machine_version(stateMachineVersionArn=v1)) == (
        "ConflictException",
        "Version to be deleted must not be referenced by an alias. Current list of aliases "
        "referencing this version: [prod]",
    )
    assert error_of(
        lambda: sfn.update_state_machine_alias(
            stateMachineAliasArn=f"{machine}:nope", description="x"
        )
    ) == ("ResourceNotFound", "Request references a resource that does not exist.")
    sfn.delete_state_machine_alias(stateMachineAliasArn=f"{machine}:prod")
    sfn.delete_state_machine_version(stateMachineVersionArn=v1)  # no alias uses it now


def test_a_deleted_version_number_is_never_used_again(sfn: Any) -> None:
    machine, _, v2 = two_versions(sfn, "numbered")
    sfn.delete_state_machine_version(stateMachineVersionArn=v2)
    sfn.update_state_machine(stateMachineArn=machine, definition=json.dumps(ECHO))
    v3 = sfn.publish_state_machine_version(stateMachineArn=machine)["stateMachineVersionArn"]
    assert v3 == f"{machine}:3"  # as AWS: "delete version 10 ... publishes it as version 11"
    listed = sfn.list_state_machine_versions(stateMachineArn=machine)["stateMachineVersions"]
    assert [v["stateMachineVersionArn"] for v in listed] == [v3, f"{machine}:1"]
    first = sfn.list_state_machine_versions(stateMachineArn=machine, maxResults=1)
    rest = sfn.list_state_machine_versions(
        stateMachineArn=machine, maxResults=1, nextToken=first["nextToken"]
    )
    assert [v["stateMachineVersionArn"] for v in first["stateMachineVersions"]] == [v3]
    assert [v["stateMachineVersionArn"] for v in rest["stateMachineVersions"]] == [f"{machine}:1"]
    assert "nextToken" not in rest
    assert error_of(lambda: sfn.publish_state_machine_version(stateMachineArn=v3)) == (
        "InvalidArn",
        f"Invalid Arn: '{v3}'",
    )


# -------------------------------------------------------------------- Express


def test_express_executions_have_express_arns_and_no_standard_api(runtime: Runtime) -> None:
    sfn = check_answers(runtime.client(host_prefix=False))
    express = sfn.create_state_machine(
        name="fast", definition=json.dumps(ECHO), roleArn=ROLE, type="EXPRESS"
    )["stateMachineArn"]
    first = sfn.start_execution(stateMachineArn=express, name="same", input='{"n": 1}')
    second = sfn.start_execution(stateMachineArn=express, name="same", input='{"n": 1}')
    prefix = "arn:aws:states:us-east-1:123456789012:express:fast:same:"
    assert first["executionArn"].startswith(prefix)
    assert second["executionArn"].startswith(prefix)
    assert first["executionArn"] != second["executionArn"]  # no name idempotency

    not_here = ("InvalidArn", "Invalid Arn: 'Resource type not valid in this context: express'")
    arn = first["executionArn"]
    assert error_of(lambda: sfn.describe_execution(executionArn=arn)) == not_here
    assert error_of(lambda: sfn.get_execution_history(executionArn=arn)) == not_here
    assert error_of(lambda: sfn.stop_execution(executionArn=arn)) == not_here
    assert error_of(lambda: sfn.list_executions(stateMachineArn=express)) == (
        "StateMachineTypeNotSupported",
        "This operation is not supported by this type of state machine",
    )

    callback = {
        "StartAt": "Publish",
        "States": {
            "Publish": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sns:publish.waitForTaskToken",
                "Parameters": {"TopicArn": "t", "Message.$": "$$.Task.Token"},
                "End": True,
            }
        },
    }
    assert error_of(
        lambda: sfn.create_state_machine(
            name="no-callbacks", definition=json.dumps(callback), roleArn=ROLE, type="EXPRESS"
        )
    ) == (
        "InvalidDefinition",
        "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: Express state machine "
        "does not support '.waitForTaskToken' service integration  at /States/Publish/Resource'",
    )

    answer = sfn.start_sync_execution(stateMachineArn=express, name="sync", input='{"n": 2}')
    assert answer["executionArn"].startswith(
        "arn:aws:states:us-east-1:123456789012:express:fast:sync:"
    )
    assert (answer["status"], json.loads(answer["output"])) == ("SUCCEEDED", {"n": 2})
    assert answer["billingDetails"]["billedMemoryUsedInMB"] == 64
    assert answer["billingDetails"]["billedDurationInMilliseconds"] >= 100
    assert "redriveCount" not in answer
    assert error_of(lambda: sfn.start_sync_execution(stateMachineArn=ORDERS)) == (
        "StateMachineTypeNotSupported",
        "This operation is not supported by this type of state machine",
    )


def test_a_default_client_reaches_start_sync_execution_with_the_printed_export(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    # what `workflows up` prints: botocore then keeps the host instead of "sync-127.0.0.1"
    monkeypatch.setenv("AWS_DISABLE_HOST_PREFIX_INJECTION", "true")
    sfn = boto3.client(
        "stepfunctions",
        endpoint_url=runtime.endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    express = sfn.create_state_machine(
        name="plain-client", definition=json.dumps(ECHO), roleArn=ROLE, type="EXPRESS"
    )["stateMachineArn"]
    assert sfn.start_sync_execution(stateMachineArn=express, input="{}")["status"] == "SUCCEEDED"


def test_the_endpoint_serves_the_sync_host_botocore_names(runtime: Runtime) -> None:
    # where "sync-<host>" resolves (a hosts entry, a proxy), the request is served as is
    sfn = runtime.client(host_prefix=False)
    express = sfn.create_state_machine(
        name="sync-host", definition=json.dumps(ECHO), roleArn=ROLE, type="EXPRESS"
    )["stateMachineArn"]
    answer = urllib3.request(
        "POST",
        runtime.endpoint,
        body=json.dumps({"stateMachineArn": express, "input": '{"x": 1}'}).encode(),
        headers={
            "Host": f"sync-127.0.0.1:{runtime.port}",
            "X-Amz-Target": "AWSStepFunctions.StartSyncExecution",
            "Content-Type": "application/x-amz-json-1.0",
        },
    )
    assert answer.status == 200
    assert json.loads(json.loads(answer.data)["output"]) == {"x": 1}


# ------------------------------------------------------------------- restarts


def test_versions_aliases_tags_and_activities_survive_a_restart(
    moto_endpoint: str, store_path: str
) -> None:
    first = Runtime(store_path, RealClock())
    try:
        sfn = first.client()
        machine, v1, v2 = two_versions(sfn, "kept")
        alias = sfn.create_state_machine_alias(
            name="stable", routingConfiguration=[{"stateMachineVersionArn": v1, "weight": 100}]
        )["stateMachineAliasArn"]
        sfn.tag_resource(resourceArn=machine, tags=[{"key": "team", "value": "orders"}])
        revision = sfn.update_state_machine(
            stateMachineArn=machine, tracingConfiguration={"enabled": True}
        )["revisionId"]
        activity = sfn.create_activity(
            name="kept-work", tags=[{"key": "queue", "value": "packing"}]
        )["activityArn"]
        sfn.tag_resource(resourceArn=activity, tags=[{"key": "owner", "value": "ops"}])
        sfn.untag_resource(resourceArn=activity, tagKeys=["queue"])
        started = sfn.start_execution(stateMachineArn=alias)["executionArn"]
        wait_status(sfn, started)
    finally:
        first.stop()

    second = Runtime(store_path, RealClock())
    try:
        sfn = second.client()
        versions = sfn.list_state_machine_versions(stateMachineArn=machine)
        assert [v["stateMachineVersionArn"] for v in versions["stateMachineVersions"]] == [v2, v1]
        assert sfn.describe_state_machine_alias(stateMachineAliasArn=alias)[
            "routingConfiguration"
        ] == [{"stateMachineVersionArn": v1, "weight": 100}]
        assert sfn.list_tags_for_resource(resourceArn=machine)["tags"] == [
            {"key": "team", "value": "orders"}
        ]
        assert sfn.describe_activity(activityArn=activity)["name"] == "kept-work"
        described_machine = sfn.describe_state_machine(stateMachineArn=machine)
        assert described_machine["revisionId"] == revision
        assert described_machine["tracingConfiguration"] == {"enabled": True}
        assert sfn.list_tags_for_resource(resourceArn=activity)["tags"] == [
            {"key": "owner", "value": "ops"}
        ]
        described = sfn.describe_execution(executionArn=started)
        assert (described["stateMachineVersionArn"], described["stateMachineAliasArn"]) == (
            v1,
            alias,
        )
        ran = sfn.describe_state_machine_for_execution(executionArn=started)
        assert json.loads(ran["definition"]) == ONE  # its version's, not the machine's now
        sfn.delete_state_machine_version(stateMachineVersionArn=v2)
        sfn.update_state_machine(stateMachineArn=machine, definition=json.dumps(ECHO))
        v3 = sfn.publish_state_machine_version(stateMachineArn=machine)["stateMachineVersionArn"]
        assert v3 == f"{machine}:3"  # the deleted number stays used after a restart
        again = sfn.start_execution(stateMachineArn=v1)["executionArn"]  # versions still run
        assert wait_status(sfn, again)["output"] == "1"
    finally:
        second.stop()
