"""Distributed Map runs over the local Step Functions endpoint, with a real boto3 client:
ListMapRuns, DescribeMapRun, UpdateMapRun while the run goes on, and the child
executions through ListExecutions(mapRunArn), DescribeExecution and GetExecutionHistory.

The children wait on an activity, so the test decides when each one ends.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from tests.integration.local import test_sfn_api as base
from tests.integration.local.test_sfn_api import ACCOUNT_PREFIX, ROLE, wait_until

moto_endpoint = base.moto_endpoint
store_path = base.store_path
runtime = base.runtime
sfn = base.sfn


def sweep_machine(sfn: Any, activity_arn: str, name: str, tolerated: int | None = 1) -> str:
    definition: dict[str, Any] = {
        "StartAt": "Sweep",
        "States": {
            "Sweep": {
                "Type": "Map",
                "Label": "Pack",
                "MaxConcurrency": 1,
                "ToleratedFailureCount": 1,
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    "StartAt": "PackOrder",
                    "States": {
                        "PackOrder": {"Type": "Task", "Resource": activity_arn, "End": True}
                    },
                },
                "End": True,
            }
        },
    }
    if tolerated is None:
        del definition["States"]["Sweep"]["ToleratedFailureCount"]
    created = sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn=ROLE)
    return str(created["stateMachineArn"])


def answer_one(sfn: Any, activity_arn: str) -> int:
    """Pack the order of one waiting child; order 2 has no box that fits."""
    task = sfn.get_activity_task(activityArn=activity_arn, workerName="packer")
    order = json.loads(task["input"])
    if order == 2:
        sfn.send_task_failure(taskToken=task["taskToken"], error="NoBox", cause="too big")
    else:
        sfn.send_task_success(taskToken=task["taskToken"], output=json.dumps({"packed": order}))
    return int(order)


def test_a_map_run_is_listed_described_updated_and_its_children_are_executions(
    sfn: Any,
) -> None:
    activity = sfn.create_activity(name="pack-swept-order")["activityArn"]
    machine = sweep_machine(sfn, activity, "sweep")
    execution = sfn.start_execution(stateMachineArn=machine, input="[1, 2, 3]")["executionArn"]

    runs = wait_until(
        lambda: sfn.list_map_runs(executionArn=execution)["mapRuns"], what="the map run"
    )
    run_arn = runs[0]["mapRunArn"]
    assert run_arn.startswith(f"{ACCOUNT_PREFIX}:mapRun:sweep/Pack:")
    assert runs[0]["stateMachineArn"] == f"{machine}/Pack"

    described = wait_until(
        lambda: (d := sfn.describe_map_run(mapRunArn=run_arn))["itemCounts"]["running"] == 1 and d,
        what="one child running",
    )
    assert described["status"] == "RUNNING"
    assert described["maxConcurrency"] == 1
    assert described["toleratedFailureCount"] == 1
    assert described["itemCounts"]["succeeded"] == 0

    sfn.update_map_run(mapRunArn=run_arn, maxConcurrency=3)
    wait_until(
        lambda: sfn.describe_map_run(mapRunArn=run_arn)["itemCounts"]["running"] == 3,
        what="three children running after UpdateMapRun",
    )
    assert sfn.describe_map_run(mapRunArn=run_arn)["maxConcurrency"] == 3

    children = sfn.list_executions(mapRunArn=run_arn)["executions"]
    assert len(children) == 3
    assert {c["status"] for c in children} == {"RUNNING"}
    assert all(c["mapRunArn"] == run_arn for c in children)
    assert all(
        c["executionArn"].startswith(f"{ACCOUNT_PREFIX}:execution:sweep/Pack:") for c in children
    )

    answered = sorted(answer_one(sfn, activity) for _ in range(3))
    assert answered == [1, 2, 3]
    ended = wait_until(
        lambda: (d := sfn.describe_execution(executionArn=execution))["status"] != "RUNNING" and d,
        what="the parent execution to end",
    )
    assert ended["status"] == "SUCCEEDED"  # one failure is tolerated
    output = json.loads(ended["output"])
    assert (output[0], output[2]) == ({"packed": 1}, {"packed": 3})
    assert (output[1]["Status"], output[1]["Error"], output[1]["Cause"]) == (
        "FAILED",
        "NoBox",
        "too big",
    )

    final = sfn.describe_map_run(mapRunArn=run_arn)
    assert final["status"] == "SUCCEEDED"
    assert (final["itemCounts"]["succeeded"], final["itemCounts"]["failed"]) == (2, 1)
    assert final["itemCounts"]["total"] == 3
    assert final["executionCounts"]["succeeded"] == 2
    assert "stopDate" in final

    described = [sfn.describe_execution(executionArn=c["executionArn"]) for c in children]
    failed = next(d for d in described if d["status"] == "FAILED")
    assert (failed["error"], failed["cause"]) == ("NoBox", "too big")
    assert failed["mapRunArn"] == run_arn
    machine_of_child = sfn.describe_state_machine_for_execution(executionArn=failed["executionArn"])
    assert machine_of_child["stateMachineArn"] == f"{machine}/Pack"
    assert (machine_of_child["mapRunArn"], machine_of_child["label"]) == (run_arn, "Pack")
    assert json.loads(machine_of_child["definition"])["StartAt"] == "PackOrder"
    events = sfn.get_execution_history(executionArn=failed["executionArn"])["events"]
    assert events[0]["type"] == "ExecutionStarted"
    assert events[-1]["type"] == "ExecutionFailed"
    assert events[-1]["executionFailedEventDetails"] == {"error": "NoBox", "cause": "too big"}
    parent_types = [e["type"] for e in sfn.get_execution_history(executionArn=execution)["events"]]
    assert "MapRunStarted" in parent_types
    assert "MapRunSucceeded" in parent_types
    assert "ActivityScheduled" not in parent_types


def test_map_run_errors_name_the_problem(sfn: Any) -> None:
    missing = f"{ACCOUNT_PREFIX}:mapRun:sweep/Pack:00000000-0000-0000-0000-000000000000"
    with pytest.raises(sfn.exceptions.ResourceNotFound):
        sfn.describe_map_run(mapRunArn=missing)
    with pytest.raises(sfn.exceptions.InvalidArn):
        sfn.describe_map_run(mapRunArn=f"{ACCOUNT_PREFIX}:execution:sweep:x")
    with pytest.raises(sfn.exceptions.ResourceNotFound):
        sfn.update_map_run(mapRunArn=missing, maxConcurrency=2)


def test_items_are_read_from_and_results_written_to_the_local_s3(
    moto_endpoint: str, sfn: Any
) -> None:
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    s3.create_bucket(Bucket="local-exports")
    s3.put_object(Bucket="local-exports", Key="orders.csv", Body=b"id,total\nA1,10\nA2,20\n")
    definition = {
        "StartAt": "Read",
        "States": {
            "Read": {
                "Type": "Map",
                "ItemReader": {
                    "Resource": "arn:aws:states:::s3:getObject",
                    "ReaderConfig": {"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW"},
                    "Parameters": {"Bucket": "local-exports", "Key": "orders.csv"},
                },
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    "StartAt": "Echo",
                    "States": {"Echo": {"Type": "Pass", "End": True}},
                },
                "ResultWriter": {
                    "Resource": "arn:aws:states:::s3:putObject",
                    "Parameters": {"Bucket": "local-exports", "Prefix": "runs"},
                    "WriterConfig": {"Transformation": "COMPACT"},
                },
                "End": True,
            }
        },
    }
    machine = sfn.create_state_machine(
        name="read-export", definition=json.dumps(definition), roleArn=ROLE
    )["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=machine)["executionArn"]
    ended = wait_until(
        lambda: (d := sfn.describe_execution(executionArn=execution))["status"] != "RUNNING" and d,
        what="the execution to end",
    )
    assert ended["status"] == "SUCCEEDED", ended.get("cause")
    key = json.loads(ended["output"])["ResultWriterDetails"]["Key"]
    manifest = json.loads(s3.get_object(Bucket="local-exports", Key=key)["Body"].read())
    written = manifest["ResultFiles"]["SUCCEEDED"][0]["Key"]
    results = json.loads(s3.get_object(Bucket="local-exports", Key=written)["Body"].read())
    assert sorted(r["id"] for r in results) == ["A1", "A2"]


def test_stopping_the_parent_aborts_its_map_run_and_running_children(sfn: Any) -> None:
    activity = sfn.create_activity(name="pack-never-answered")["activityArn"]
    machine = sweep_machine(sfn, activity, "sweep-stopped")
    execution = sfn.start_execution(stateMachineArn=machine, input="[1, 2]")["executionArn"]
    runs = wait_until(
        lambda: sfn.list_map_runs(executionArn=execution)["mapRuns"], what="the map run"
    )
    run_arn = runs[0]["mapRunArn"]
    wait_until(
        lambda: sfn.describe_map_run(mapRunArn=run_arn)["itemCounts"]["running"] == 1,
        what="the first child running",
    )
    sfn.stop_execution(executionArn=execution, error="Operator", cause="export was wrong")
    described = wait_until(
        lambda: (d := sfn.describe_map_run(mapRunArn=run_arn))["status"] != "RUNNING" and d,
        what="the map run to stop",
    )
    assert described["status"] == "ABORTED"
    assert described["itemCounts"]["aborted"] >= 1
    assert described["itemCounts"]["running"] == 0
    children = sfn.list_executions(mapRunArn=run_arn)["executions"]
    assert {c["status"] for c in children} == {"ABORTED"}
    with pytest.raises(sfn.exceptions.ValidationException):
        sfn.update_map_run(mapRunArn=run_arn, maxConcurrency=5)


def test_update_map_run_tolerates_failures_the_definition_did_not(sfn: Any) -> None:
    activity = sfn.create_activity(name="pack-late-tolerance")["activityArn"]
    machine = sweep_machine(sfn, activity, "sweep-tolerant-later", tolerated=None)
    execution = sfn.start_execution(stateMachineArn=machine, input="[2, 3]")["executionArn"]
    runs = wait_until(
        lambda: sfn.list_map_runs(executionArn=execution)["mapRuns"], what="the map run"
    )
    run_arn = runs[0]["mapRunArn"]
    sfn.update_map_run(mapRunArn=run_arn, toleratedFailureCount=1)
    assert sfn.describe_map_run(mapRunArn=run_arn)["toleratedFailureCount"] == 1
    assert sorted(answer_one(sfn, activity) for _ in range(2)) == [2, 3]  # 2 fails
    ended = wait_until(
        lambda: (d := sfn.describe_execution(executionArn=execution))["status"] != "RUNNING" and d,
        what="the parent execution to end",
    )
    assert ended["status"] == "SUCCEEDED"
