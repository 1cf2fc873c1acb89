"""A Distributed Map's map run survives a restart of a real `workflows up`: the map run
and its STANDARD children are answered from the execution store afterwards, and the
parent, resumed (decision 0007), continues the same map run: the child that had
succeeded is not run again, the children that were waiting resume where they were."""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import quote

from tests.integration.local.test_up_resume import ended, restarted
from tests.integration.local.test_up_service_data import aws
from tests.integration.local.up_process import ROLE, UpProcess

QUEUE = "EventsDeadLetterQueue"


def sweep(queue_url: str) -> dict[str, Any]:
    return {
        "StartAt": "Sweep",
        "States": {
            "Sweep": {
                "Type": "Map",
                "Label": "Orders",
                "MaxConcurrency": 3,
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    "StartAt": "Count",
                    "States": {
                        "Count": {
                            "Type": "Task",
                            "Resource": "arn:aws:states:::sqs:sendMessage",
                            "Parameters": {
                                "QueueUrl": queue_url,
                                "MessageBody.$": "States.Format('{}', $.n)",
                            },
                            "ResultPath": None,
                            "Next": "Slow",
                        },
                        "Slow": {
                            "Type": "Choice",
                            "Choices": [
                                {"Variable": "$.wait", "NumericGreaterThan": 0, "Next": "Hold"}
                            ],
                            "Default": "Done",
                        },
                        "Hold": {"Type": "Wait", "SecondsPath": "$.wait", "Next": "Done"},
                        "Done": {"Type": "Pass", "End": True},
                    },
                },
                "End": True,
            }
        },
    }


def drain(sqs: Any, url: str) -> list[str]:
    found: list[str] = []
    while True:
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not batch:
            return found
        for message in batch:
            found.append(message["Body"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def until(check: Any, seconds: float = 30) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


def test_a_map_run_continues_across_a_restart_without_running_children_again(
    tmp_path: Path,
) -> None:
    up = UpProcess(tmp_path / "state")
    again: UpProcess | None = None
    try:
        up.wait_until_up()
        sfn, sqs = up.sfn(), aws(up, "sqs")
        # the template's queue: kept across the restart (one created by a call is not)
        url = sqs.get_queue_url(QueueName=QUEUE)["QueueUrl"]
        drain(sqs, url)
        machine = sfn.create_state_machine(
            name="sweep", definition=json.dumps(sweep(url)), roleArn=ROLE
        )["stateMachineArn"]
        items = [{"n": 1, "wait": 0}, {"n": 2, "wait": 5}, {"n": 3, "wait": 5}]
        arn = sfn.start_execution(stateMachineArn=machine, input=json.dumps(items))["executionArn"]
        runs = until(lambda: sfn.list_map_runs(executionArn=arn)["mapRuns"])
        run_arn = runs[0]["mapRunArn"]
        # 1 succeeded; 2 and 3 counted and now waiting
        assert until(
            lambda: (
                (c := sfn.describe_map_run(mapRunArn=run_arn)["itemCounts"])["succeeded"] == 1
                and c["running"] == 2
            )
        )
        counted: list[str] = []

        def three_counted() -> bool:
            counted.extend(drain(sqs, url))
            return len(counted) == 3

        assert until(three_counted)
        assert sorted(counted) == ["1", "2", "3"]
        before = {c["executionArn"] for c in sfn.list_executions(mapRunArn=run_arn)["executions"]}
        assert len(before) == 3

        again = restarted(up)
        sfn, sqs = again.sfn(), aws(again, "sqs")
        url = sqs.get_queue_url(QueueName=QUEUE)["QueueUrl"]
        listed = sfn.list_map_runs(executionArn=arn)["mapRuns"]
        assert [r["mapRunArn"] for r in listed] == [run_arn]
        done = ended(sfn, arn)
        assert done["status"] == "SUCCEEDED", done
        assert json.loads(done["output"]) == items

        assert drain(sqs, url) == [], "no child ran its Count again"
        described = sfn.describe_map_run(mapRunArn=run_arn)
        assert described["status"] == "SUCCEEDED"
        assert described["itemCounts"]["succeeded"] == 3
        assert described["itemCounts"]["total"] == 3
        assert described["redriveCount"] == 0
        children = sfn.list_executions(mapRunArn=run_arn)["executions"]
        assert {c["executionArn"] for c in children} == before  # the same children
        assert {c["status"] for c in children} == {"SUCCEEDED"}
        for child in before:
            events = sfn.get_execution_history(executionArn=child, maxResults=1000)["events"]
            kinds = [e["type"] for e in events]
            assert kinds.count("ExecutionStarted") == 1
            assert kinds.count("TaskScheduled") == 1
            assert kinds[-1] == "ExecutionSucceeded"
            assert [e["id"] for e in events] == list(range(1, len(events) + 1))
        parent = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
        assert [e["type"] for e in parent].count("MapRunStarted") == 1

        # the console shows the map run and its children from the store too
        console = f"http://127.0.0.1:{again.ports['console']}/api/executions/"
        view = json.loads(urllib.request.urlopen(console + quote(arn, safe="")).read())
        (shown,) = view["mapRuns"]
        assert shown["arn"] == run_arn
        assert {c["arn"] for c in shown["children"]} == before
        one = json.loads(urllib.request.urlopen(console + quote(min(before), safe="")).read())
        assert one["execution"]["status"] == "SUCCEEDED"
    finally:
        up.stop()
        if again is not None:
            again.stop()
