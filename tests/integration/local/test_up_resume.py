"""Restarts resume: a RUNNING execution continues after `workflows up` stops and starts
(SIGTERM or kill -9), as docs/decisions/0007-resume-by-replaying-history.md describes:
Waits keep their deadline, a task token a person holds stays valid, and the history
shows no restart and nothing recorded twice."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path
from typing import Any

import boto3

from tests.integration.local.up_process import ROLE, UpProcess

WAIT = {
    "StartAt": "Hold",
    "States": {
        "Hold": {"Type": "Wait", "Seconds": 4, "Next": "Done"},
        "Done": {"Type": "Pass", "Result": "done", "End": True},
    },
}


def restarted(up: UpProcess) -> UpProcess:
    up.signal(signal.SIGTERM)
    assert up.wait() == 0, up.output
    again = UpProcess(up.state_dir)
    again.wait_until_up()
    return again


def ended(sfn: Any, arn: str, seconds: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while True:
        described: dict[str, Any] = sfn.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING" or time.monotonic() > deadline:
            return described
        time.sleep(0.2)


def start(sfn: Any, machine: str, definition: dict[str, Any], name: str, **start: Any) -> str:
    """Create the state machine and start an execution of it: the execution's ARN."""
    created = sfn.create_state_machine(
        name=machine, definition=json.dumps(definition), roleArn=ROLE
    )
    answer = sfn.start_execution(stateMachineArn=created["stateMachineArn"], name=name, **start)
    arn: str = answer["executionArn"]
    return arn


def test_a_wait_keeps_its_deadline_across_a_restart(tmp_path: Path) -> None:
    up = UpProcess(tmp_path / "state")
    again: UpProcess | None = None
    try:
        up.wait_until_up()
        sfn = up.sfn()
        before = time.time()
        arn = start(sfn, "hold", WAIT, "held")
        again = restarted(up)
        restart = time.time() - before  # a loaded machine restarts in seconds, not ms
        done = ended(again.sfn(), arn)
        assert done["status"] == "SUCCEEDED"
        assert json.loads(done["output"]) == "done"
        # the deadline is the original one (due 4 s after the start, or at once if the
        # restart outlasted it), not a new full wait of 4 s counted from the restart
        waited = (done["stopDate"] - done["startDate"]).total_seconds()
        assert waited < max(4, restart) + 2
        history = again.sfn().get_execution_history(executionArn=arn)
        kinds = [event["type"] for event in history["events"]]
        assert kinds.count("WaitStateEntered") == 1, "nothing is recorded twice"
        assert "ExecutionAborted" not in kinds
    finally:
        up.stop()
        if again is not None:
            again.stop()


def killed(up: UpProcess) -> UpProcess:
    up.signal(signal.SIGKILL)
    up.wait()
    again = UpProcess(up.state_dir)
    again.wait_until_up()
    return again


def wait_for_event(sfn: Any, arn: str, kind: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while True:
        events = sfn.get_execution_history(executionArn=arn)["events"]
        if any(event["type"] == kind for event in events):
            return
        assert time.monotonic() < deadline, f"no {kind} in {[e['type'] for e in events]}"
        time.sleep(0.1)


def assert_one_unbroken_history(events: list[dict[str, Any]]) -> None:
    """Ids 1..n, each event linked to an earlier one, no abort, no state entered twice."""
    assert [event["id"] for event in events] == list(range(1, len(events) + 1))
    assert all(event["previousEventId"] < event["id"] for event in events)
    kinds = [event["type"] for event in events]
    assert "ExecutionAborted" not in kinds
    assert kinds.count("ExecutionStarted") == 1
    entered = [
        event["stateEnteredEventDetails"]["name"]
        for event in events
        if event["type"].endswith("StateEntered")
    ]
    assert len(entered) == len(set(entered)), f"a state was entered twice: {entered}"


def test_kill_9_while_waiting_resumes_the_execution(tmp_path: Path) -> None:
    up = UpProcess(tmp_path / "state")
    again: UpProcess | None = None
    definition = {
        "StartAt": "Before",
        "States": {
            "Before": {"Type": "Pass", "Result": {"n": 1}, "Next": "Hold"},
            "Hold": {"Type": "Wait", "Seconds": 3, "Next": "After"},
            "After": {"Type": "Pass", "InputPath": "$.n", "End": True},
        },
    }
    try:
        up.wait_until_up()
        sfn = up.sfn()
        arn = start(sfn, "killed", definition, "k")
        wait_for_event(sfn, arn, "WaitStateEntered")
        again = killed(up)
        done = ended(again.sfn(), arn)
        assert done["status"] == "SUCCEEDED", done
        assert json.loads(done["output"]) == 1
        events = again.sfn().get_execution_history(executionArn=arn, maxResults=1000)["events"]
        assert_one_unbroken_history(events)
        assert [e["type"] for e in events][-2:] == ["PassStateExited", "ExecutionSucceeded"]
    finally:
        up.stop()
        if again is not None:
            again.stop()


def test_a_task_token_stays_valid_across_a_restart(tmp_path: Path) -> None:
    up = UpProcess(tmp_path / "state")
    again: UpProcess | None = None
    try:
        up.wait_until_up()
        sqs = boto3.client(
            "sqs",
            endpoint_url=f"http://127.0.0.1:{up.ports['aws']}",
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        queue = sqs.create_queue(QueueName="approvals-resume")["QueueUrl"]
        definition = {
            "StartAt": "Approve",
            "States": {
                "Approve": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                    "Parameters": {
                        "QueueUrl": queue,
                        "MessageBody": {"token.$": "$$.Task.Token", "order.$": "$.order"},
                    },
                    "End": True,
                }
            },
        }
        sfn = up.sfn()
        arn = start(sfn, "approval", definition, "a", input='{"order": 9}')
        wait_for_event(sfn, arn, "TaskSubmitted")
        message = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=5)["Messages"][0]
        sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
        token = json.loads(message["Body"])["token"]
        again = restarted(up)
        sfn = again.sfn()
        # the replay re-registers the token shortly after the start
        deadline = time.monotonic() + 30
        while True:
            try:
                sfn.send_task_success(taskToken=token, output='{"approved": true}')
                break
            except sfn.exceptions.TaskDoesNotExist:
                assert time.monotonic() < deadline, "the token never became valid again"
                time.sleep(0.2)
        done = ended(sfn, arn)
        assert done["status"] == "SUCCEEDED", done
        assert json.loads(done["output"]) == {"approved": True}
        events = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
        assert_one_unbroken_history(events)
        kinds = [event["type"] for event in events]
        assert kinds.count("TaskScheduled") == kinds.count("TaskSubmitted") == 1
    finally:
        up.stop()
        if again is not None:
            again.stop()


def test_an_execution_that_failed_before_a_restart_is_redriven_after_it(tmp_path: Path) -> None:
    up = UpProcess(tmp_path / "state")
    again: UpProcess | None = None
    definition = {
        "StartAt": "Prepare",
        "States": {
            "Prepare": {"Type": "Pass", "Result": {"n": 1}, "Next": "Check"},
            "Check": {
                "Type": "Choice",
                "Choices": [
                    {"Variable": "$$.Execution.RedriveCount", "NumericEquals": 0, "Next": "Broken"}
                ],
                "Default": "Done",
            },
            "Broken": {"Type": "Fail", "Error": "NotYet", "Cause": "fixed by the redrive"},
            "Done": {"Type": "Pass", "End": True},
        },
    }
    try:
        up.wait_until_up()
        sfn = up.sfn()
        arn = start(sfn, "redriven", definition, "r")
        assert ended(sfn, arn)["status"] == "FAILED"
        again = restarted(up)
        sfn = again.sfn()
        assert sfn.describe_execution(executionArn=arn)["redriveStatus"] == "REDRIVABLE"
        sfn.redrive_execution(executionArn=arn)
        done = ended(sfn, arn)
        # Check is replayed as it ran (RedriveCount 0 then), so the Fail state runs again
        assert done["status"] == "FAILED", done
        assert done["redriveCount"] == 1
        events = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
        kinds = [event["type"] for event in events]
        assert kinds.count("ExecutionRedriven") == 1
        assert kinds.count("PassStateEntered") == 1, "Prepare finished: not run again"
        assert kinds.count("ChoiceStateEntered") == 1
        assert kinds.count("FailStateEntered") == 2
        assert [e["id"] for e in events] == list(range(1, len(events) + 1))
    finally:
        up.stop()
        if again is not None:
            again.stop()
