"""Redriving a Distributed Map's map run through its parent, as AWS does, with a real
boto3 client on the local endpoint: only the children that did not succeed run again
(a failed STANDARD child continues from the state that failed, one never started
starts), the succeeded children's results are kept, and DescribeMapRun, the histories
and ListExecutions(mapRunArn) tell the redrive.

Each child sends its item to a "counted" queue first and then delivers it to the queue
the item names; items 2 and 4 name a queue that does not exist until the test creates
it (the cause, fixed). The counted queue shows which children ran what, and how often.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import boto3

from tests.integration.local import test_sfn_api as base
from tests.integration.local import test_sfn_redrive as redrive
from tests.integration.local.test_sfn_api import create_machine, wait_status
from tests.integration.local.test_sfn_redrive import history, messages, queue_url

moto_endpoint = base.moto_endpoint
store_path = base.store_path
runtime = base.runtime
sfn = base.sfn
sqs = redrive.sqs  # an SQS client on the runtime's moto


def send(name: str, queue: dict[str, str], body: str, **more: Any) -> dict[str, Any]:
    return {
        "Type": "Task",
        "Resource": "arn:aws:states:::sqs:sendMessage",
        "Parameters": {**queue, "MessageBody.$": body},
        "ResultPath": None,
        **more,
    }


def deliveries(counted: str, execution_type: str = "STANDARD", **map_fields: Any) -> dict[str, Any]:
    return {
        "StartAt": "Deliver",
        "States": {
            "Deliver": {
                "Type": "Map",
                "Label": "Orders",
                "MaxConcurrency": 1,
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": execution_type},
                    "StartAt": "Count",
                    "States": {
                        "Count": send(
                            "Count", {"QueueUrl": counted}, "States.Format('{}', $.n)", Next="Ship"
                        ),
                        "Ship": send(
                            "Ship", {"QueueUrl.$": "$.queue"}, "States.Format('{}', $.n)", End=True
                        ),
                    },
                },
                **map_fields,
                "End": True,
            }
        },
    }


def orders(ready: str, later: str) -> list[dict[str, Any]]:
    return [{"n": n, "queue": later if n in (2, 4) else ready} for n in range(1, 6)]


def test_a_redrive_runs_only_the_children_that_did_not_succeed(
    sfn: Any, sqs: Any, moto_endpoint: str
) -> None:
    tag = uuid.uuid4().hex[:8]
    counted, ready, later = (queue_url(moto_endpoint, f"{n}-{tag}") for n in ("c", "r", "l"))
    sqs.create_queue(QueueName=f"c-{tag}")
    sqs.create_queue(QueueName=f"r-{tag}")
    machine = create_machine(sfn, deliveries(counted))
    arn = sfn.start_execution(
        stateMachineArn=machine, name="ship", input=json.dumps(orders(ready, later))
    )["executionArn"]

    # one at a time, no failure tolerated: 1 succeeds, 2 fails, 3-5 never start
    assert wait_status(sfn, arn)["status"] == "FAILED"
    assert sorted(messages(sqs, counted)) == ["1", "2"]
    assert messages(sqs, ready) == ["1"]
    run_arn = sfn.list_map_runs(executionArn=arn)["mapRuns"][0]["mapRunArn"]
    failed_run = sfn.describe_map_run(mapRunArn=run_arn)
    assert failed_run["status"] == "FAILED"
    assert failed_run["redriveCount"] == 0
    assert "redriveDate" not in failed_run
    assert failed_run["itemCounts"]["succeeded"] == 1
    assert failed_run["itemCounts"]["failed"] == 1
    waiting = failed_run["itemCounts"]["pendingRedrive"]
    assert waiting == failed_run["itemCounts"]["total"] - 1
    assert failed_run["itemCounts"]["failuresNotRedrivable"] == 0
    first_children = sfn.list_executions(mapRunArn=run_arn)["executions"]
    assert sorted(c["status"] for c in first_children) == ["FAILED", "SUCCEEDED"]
    failed_child = next(c["executionArn"] for c in first_children if c["status"] == "FAILED")
    assert sfn.describe_execution(executionArn=failed_child)["redriveStatus"] == "REDRIVABLE"

    sqs.create_queue(QueueName=f"l-{tag}")  # the cause, fixed
    sfn.redrive_execution(executionArn=arn)
    ended = wait_status(sfn, arn, "SUCCEEDED", "FAILED")
    assert ended["status"] == "SUCCEEDED", ended

    # 1 did not run again; 2 continued from Ship (its Count had succeeded); 3-5 ran once
    assert sorted(messages(sqs, counted)) == ["3", "4", "5"]
    assert sorted(messages(sqs, later)) == ["2", "4"]
    assert sorted(messages(sqs, ready)) == ["3", "5"]
    assert json.loads(ended["output"]) == orders(ready, later)  # every result, in order

    runs = sfn.list_map_runs(executionArn=arn)["mapRuns"]
    assert [r["mapRunArn"] for r in runs] == [run_arn]  # the same map run, redriven
    redriven = sfn.describe_map_run(mapRunArn=run_arn)
    assert redriven["status"] == "SUCCEEDED"
    assert redriven["redriveCount"] == 1
    assert redriven["redriveDate"] >= failed_run["stopDate"]
    assert redriven["itemCounts"]["succeeded"] == 5
    assert redriven["itemCounts"]["total"] == 5
    assert redriven["itemCounts"]["pendingRedrive"] == 0
    assert redriven["executionCounts"]["succeeded"] == 5

    events = history(sfn, arn)
    kinds = [e["type"] for e in events]
    assert kinds.count("MapRunStarted") == 1
    redrive_event = next(e for e in events if e["type"] == "MapRunRedriven")
    assert redrive_event["mapRunRedrivenEventDetails"] == {"mapRunArn": run_arn, "redriveCount": 1}
    assert kinds.index("ExecutionRedriven") < kinds.index("MapRunRedriven")

    children = sfn.list_executions(mapRunArn=run_arn)["executions"]
    assert len(children) == 5
    assert {c["status"] for c in children} == {"SUCCEEDED"}
    assert failed_child in {c["executionArn"] for c in children}  # redriven, same ARN
    child = sfn.describe_execution(executionArn=failed_child)
    assert (child["status"], child["redriveCount"]) == ("SUCCEEDED", 1)
    child_kinds = [e["type"] for e in history(sfn, failed_child)]
    assert child_kinds.count("ExecutionRedriven") == 1
    assert child_kinds.count("ExecutionStarted") == 1
    assert child_kinds[-1] == "ExecutionSucceeded"


def test_express_children_that_failed_run_again_from_the_start(
    sfn: Any, sqs: Any, moto_endpoint: str
) -> None:
    tag = uuid.uuid4().hex[:8]
    counted, ready, later = (queue_url(moto_endpoint, f"{n}-{tag}") for n in ("c", "r", "l"))
    sqs.create_queue(QueueName=f"c-{tag}")
    sqs.create_queue(QueueName=f"r-{tag}")
    # every failure tolerated: all five run, 2 and 4 fail, and the run fails at its end
    machine = create_machine(
        sfn, deliveries(counted, "EXPRESS", ToleratedFailureCount=1, MaxConcurrency=5)
    )
    arn = sfn.start_execution(stateMachineArn=machine, input=json.dumps(orders(ready, later)))[
        "executionArn"
    ]
    assert wait_status(sfn, arn)["status"] == "FAILED"
    assert sorted(messages(sqs, counted)) == ["1", "2", "3", "4", "5"]
    assert sorted(messages(sqs, ready)) == ["1", "3", "5"]
    run_arn = sfn.list_map_runs(executionArn=arn)["mapRuns"][0]["mapRunArn"]
    assert sfn.describe_map_run(mapRunArn=run_arn)["itemCounts"]["pendingRedrive"] == 2

    sqs.create_queue(QueueName=f"l-{tag}")
    sfn.redrive_execution(executionArn=arn)
    ended = wait_status(sfn, arn, "SUCCEEDED", "FAILED")
    assert ended["status"] == "SUCCEEDED", ended
    # AWS starts a failed EXPRESS child anew: it runs from its first state
    assert sorted(messages(sqs, counted)) == ["2", "4"]
    assert sorted(messages(sqs, later)) == ["2", "4"]
    described = sfn.describe_map_run(mapRunArn=run_arn)
    assert (described["redriveCount"], described["itemCounts"]["succeeded"]) == (1, 5)
    assert sfn.list_executions(mapRunArn=run_arn)["executions"] == []  # EXPRESS: not listed


def test_result_files_after_a_redrive_hold_the_old_results_and_the_new(
    sfn: Any, sqs: Any, moto_endpoint: str
) -> None:
    s3 = boto3.client(
        "s3",
        endpoint_url=moto_endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    tag = uuid.uuid4().hex[:8]
    bucket = f"results-{tag}"
    s3.create_bucket(Bucket=bucket)
    counted, ready, later = (queue_url(moto_endpoint, f"{n}-{tag}") for n in ("c", "r", "l"))
    sqs.create_queue(QueueName=f"c-{tag}")
    sqs.create_queue(QueueName=f"r-{tag}")
    definition = deliveries(
        counted,
        MaxConcurrency=5,
        ToleratedFailureCount=1,
        ResultWriter={
            "Resource": "arn:aws:states:::s3:putObject",
            "Parameters": {"Bucket": bucket, "Prefix": "out"},
        },
    )
    arn = sfn.start_execution(
        stateMachineArn=create_machine(sfn, definition), input=json.dumps(orders(ready, later))
    )["executionArn"]
    assert wait_status(sfn, arn)["status"] == "FAILED"
    assert len(messages(sqs, counted)) == 5

    sqs.create_queue(QueueName=f"l-{tag}")
    sfn.redrive_execution(executionArn=arn)
    ended = wait_status(sfn, arn, "SUCCEEDED", "FAILED")
    assert ended["status"] == "SUCCEEDED", ended
    assert messages(sqs, counted) == []  # the failed children continued from Ship
    written = json.loads(ended["output"])["ResultWriterDetails"]
    manifest = json.loads(s3.get_object(Bucket=bucket, Key=written["Key"])["Body"].read())
    assert manifest["ResultFiles"]["FAILED"] == []
    (succeeded,) = manifest["ResultFiles"]["SUCCEEDED"]
    records = json.loads(s3.get_object(Bucket=bucket, Key=succeeded["Key"])["Body"].read())
    outputs = sorted(json.loads(r["Output"])["n"] for r in records)
    assert outputs == [1, 2, 3, 4, 5]
    run_arn = sfn.list_map_runs(executionArn=arn)["mapRuns"][0]["mapRunArn"]
    assert sfn.describe_map_run(mapRunArn=run_arn)["itemCounts"]["resultsWritten"] == 5
