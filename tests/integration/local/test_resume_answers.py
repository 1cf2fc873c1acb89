"""A SendTaskSuccess acknowledged just before the process stopped (its answer stored,
the Task's end not yet) is not lost: the execution applies it when it resumes."""

from __future__ import annotations

import json
import uuid
from typing import Any

import boto3

from tests.integration.local import test_sfn_api as base
from tests.integration.local.test_sfn_api import (
    TEMPLATE,
    Runtime,
    create_machine,
    wait_status,
    wait_until,
)
from workflows.engine.clock import RealClock
from workflows.local.app import LocalApp
from workflows.local.executions import ExecutionService
from workflows.local.resume import resume_running
from workflows.local.sfn_api import start_server
from workflows.local.store import ExecutionStore
from workflows.local.template import load_template

moto_endpoint = base.moto_endpoint
store_path = base.store_path


class Restartable(Runtime):
    """A runtime that leaves RUNNING executions to ``resume_running`` (as `workflows up`
    does) instead of marking them ABORTED when it opens the store."""

    async def _start(self) -> None:
        self.app = LocalApp(load_template(TEMPLATE), clock=self.clock)
        self.service = ExecutionService(self.app, ExecutionStore(self.store_path, recover=False))
        self.server, self.port = await start_server(self.service, "127.0.0.1", 0)


def test_an_answer_stored_before_the_stop_is_applied_when_the_execution_resumes(
    moto_endpoint: str, store_path: str
) -> None:
    sqs = boto3.client(
        "sqs",
        endpoint_url=moto_endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    queue = sqs.create_queue(QueueName=f"approvals-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    first = Restartable(store_path, RealClock())
    sfn = first.client()
    machine = create_machine(
        sfn,
        {
            "StartAt": "Approve",
            "States": {
                "Approve": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                    "Parameters": {"QueueUrl": queue, "MessageBody.$": "$$.Task.Token"},
                    "End": True,
                }
            },
        },
    )
    arn = sfn.start_execution(stateMachineArn=machine, name="approval")["executionArn"]

    def submitted() -> list[dict[str, Any]] | None:
        events: list[dict[str, Any]] = sfn.get_execution_history(executionArn=arn)["events"]
        return events if events and events[-1]["type"] == "TaskSubmitted" else None

    events = wait_until(submitted, what="the message with the token to be sent")
    token = json.loads(events[-3]["taskScheduledEventDetails"]["parameters"])["MessageBody"]
    # what SendTaskSuccess stores before it answers; the process stops before applying it
    first.service.store.put_task_answer(token, arn, {"output": {"approved": True}}).result()
    first.stop()

    second = Restartable(store_path, RealClock())
    try:
        resumed = second.call(resume_running(second.service))
        assert resumed == [arn]
        sfn = second.client()
        done = wait_status(sfn, arn)
        assert done["status"] == "SUCCEEDED", done
        assert json.loads(done["output"]) == {"approved": True}
        kinds = [e["type"] for e in sfn.get_execution_history(executionArn=arn)["events"]]
        assert kinds.count("TaskSucceeded") == 1
        assert kinds.count("TaskSubmitted") == 1
        assert second.service.store.task_answers(arn) == {}, "forgotten once it ended"
    finally:
        second.stop()
