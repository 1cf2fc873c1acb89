"""`workflows up` as a person uses it: curl the API, the order runs, the services answer."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import boto3
import pytest

from tests.ports import free_port
from workflows.local.local_auth import mint_token
from workflows.local.runtime import LocalRuntime, Ports

REPO = Path(__file__).resolve().parents[2]
ORDER = json.loads((REPO / "examples" / "order_request.json").read_text())


@pytest.fixture
async def runtime(tmp_path: Path) -> AsyncIterator[LocalRuntime]:
    saved = dict(os.environ)
    ports = Ports("127.0.0.1", free_port(), free_port(), free_port())
    up = LocalRuntime(REPO / "infra" / "sam" / "template.yaml", ports=ports, state_dir=tmp_path)
    await up.start()
    try:
        yield up
    finally:
        await up.stop()
        os.environ.clear()
        os.environ.update(saved)


async def test_an_order_placed_over_http_is_confirmed_and_notified(
    runtime: LocalRuntime, tmp_path: Path
) -> None:
    api = runtime.ports.url(runtime.ports.api)
    token = mint_token("CUST-1001", key_path=tmp_path / "jwt-key.pem", issuer=f"{api}/")
    headers = {"Authorization": f"Bearer {token}"}
    # the API's sandboxes are up once `up` is: the first order waits for no cold start
    assert runtime.app is not None
    assert runtime.app._process_lambdas is not None
    api_sandboxes = runtime.app._process_lambdas.pools["ApiFunction"]
    assert len(api_sandboxes.sandboxes) == api_sandboxes.limit == api_sandboxes.started
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{api}/orders", json=ORDER, headers=headers) as answer:
            assert answer.status == 202, await answer.text()
            placed = await answer.json()
        assert api_sandboxes.started == api_sandboxes.limit
        assert placed["data"]["status"] == "RUNNING"
        assert answer.headers["Location"].endswith(ORDER["orderId"])
        status = None
        for _ in range(600):
            async with http.get(f"{api}/orders/{ORDER['orderId']}", headers=headers) as answer:
                body = await answer.json()
            status = (body.get("data") or {}).get("status")
            if status == "CONFIRMED":
                break
            await asyncio.sleep(0.05)
        assert status == "CONFIRMED"
        async with http.post(f"{api}/orders", json=ORDER) as answer:
            assert answer.status == 401  # no token, nothing started

    sfn = boto3.client(
        "stepfunctions",
        endpoint_url=runtime.ports.url(runtime.ports.stepfunctions),
        region_name="us-east-1",
    )
    arn = placed["data"]["executionArn"]
    described: dict[str, object] = {}
    for _ in range(600):  # CONFIRMED is stored before the event is published
        described = await asyncio.to_thread(sfn.describe_execution, executionArn=arn)
        if described["status"] != "RUNNING":
            break
        await asyncio.sleep(0.05)
    assert described["status"] == "SUCCEEDED"
    notification = "arn:aws:states:us-east-1:123456789012:stateMachine:NotificationStateMachine"
    for _ in range(600):
        listed = await asyncio.to_thread(sfn.list_executions, stateMachineArn=notification)
        if [e["status"] for e in listed["executions"]] == ["SUCCEEDED"]:
            break
        await asyncio.sleep(0.05)
    assert [e["status"] for e in listed["executions"]] == ["SUCCEEDED"]
    history = await asyncio.to_thread(sfn.get_execution_history, executionArn=arn)
    assert history["events"][0]["type"] == "ExecutionStarted"
    assert history["events"][-1]["type"] == "ExecutionSucceeded"


async def test_queues_are_as_declared_and_a_poison_message_ends_in_the_dead_letter_queue(
    runtime: LocalRuntime,
) -> None:
    sqs = boto3.client(
        "sqs", endpoint_url=runtime.ports.url(runtime.ports.aws), region_name="us-east-1"
    )
    url = sqs.get_queue_url(QueueName="ApprovalQueue")["QueueUrl"]
    dlq_url = sqs.get_queue_url(QueueName="ApprovalDeadLetterQueue")["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["VisibilityTimeout"] == "180"
    assert json.loads(attributes["RedrivePolicy"]) == {
        "deadLetterTargetArn": "arn:aws:sqs:us-east-1:123456789012:ApprovalDeadLetterQueue",
        "maxReceiveCount": 5,
    }
    # a shorter visibility timeout (as a person could set it) keeps the test short
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "1"})
    # moto takes the timeout when a ReceiveMessage begins, and the runtime's poller
    # long-polls for 20 s: a poll that began before the change (under load it begins
    # while `up` is still starting) would hide the first message it returns for the
    # declared 180 s, longer than this test waits. So a first message ends that poll:
    # once it has been received, every later receive began after the change.
    sqs.send_message(QueueUrl=url, MessageBody='{"ends": "the poll in flight"}')
    clock = asyncio.get_running_loop()
    deadline = clock.time() + 60
    while clock.time() < deadline:
        counts = await asyncio.to_thread(
            sqs.get_queue_attributes, QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
        )
        if counts["Attributes"]["ApproximateNumberOfMessages"] == "0":
            break  # received (in flight, or moved to the dead-letter queue)
        await asyncio.sleep(0.05)
    else:
        pytest.fail("the approval queue's poller received nothing within 60 s")
    poison = '{"not": "an approval request"}'
    sqs.send_message(QueueUrl=url, MessageBody=poison)
    # five deliveries 1 s apart, plus the consumer's runs (each within its 30 s timeout)
    dead: list[dict[str, object]] = []
    deadline = clock.time() + 300
    while not dead and clock.time() < deadline:
        received = await asyncio.to_thread(
            sqs.receive_message, QueueUrl=dlq_url, AttributeNames=["All"], WaitTimeSeconds=1
        )
        # the first message may end there too: only the poison one is judged
        dead = [m for m in received.get("Messages") or [] if m["Body"] == poison]
    assert [m["Body"] for m in dead] == [poison]
    attributes = dead[0]["Attributes"]
    assert isinstance(attributes, dict)
    assert attributes["ApproximateReceiveCount"] in ("5", "6")  # 5 deliveries (+ this receive)


async def _ended(sfn: Any, arn: str) -> dict[str, Any]:
    described: dict[str, Any] = {}
    for _ in range(600):
        described = await asyncio.to_thread(sfn.describe_execution, executionArn=arn)
        if described["status"] != "RUNNING":
            break
        await asyncio.sleep(0.05)
    return described


async def test_following_the_docs_a_second_start_of_the_same_order_rejects_nothing(
    runtime: LocalRuntime, tmp_path: Path
) -> None:
    """docs/howto-run-locally.md places ORD-2025-000123 over HTTP; docs/local-stepfunctions.md
    then starts the order machine with examples/order.json, the same order id."""
    api = runtime.ports.url(runtime.ports.api)
    token = mint_token("CUST-1001", key_path=tmp_path / "jwt-key.pem", issuer=f"{api}/")
    headers = {"Authorization": f"Bearer {token}"}
    sfn = boto3.client(
        "stepfunctions",
        endpoint_url=runtime.ports.url(runtime.ports.stepfunctions),
        region_name="us-east-1",
    )
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{api}/orders", json=ORDER, headers=headers) as answer:
            assert answer.status == 202, await answer.text()
            first = (await answer.json())["data"]["executionArn"]
        assert (await _ended(sfn, first))["status"] == "SUCCEEDED"

        machine = "arn:aws:states:us-east-1:123456789012:stateMachine:OrderProcessingStateMachine"
        second = await asyncio.to_thread(
            sfn.start_execution,
            stateMachineArn=machine,
            input=(REPO / "examples" / "order.json").read_text(),
        )
        ended = await _ended(sfn, second["executionArn"])
        assert (ended["status"], ended["error"]) == ("FAILED", "DuplicateOrder")

        async with http.get(f"{api}/orders/{ORDER['orderId']}", headers=headers) as answer:
            assert (await answer.json())["data"]["status"] == "CONFIRMED"

    assert runtime.app is not None
    await runtime.app.drain()  # the events of both executions have been routed
    notification = "arn:aws:states:us-east-1:123456789012:stateMachine:NotificationStateMachine"
    listed = await asyncio.to_thread(sfn.list_executions, stateMachineArn=notification)
    events = [
        json.loads(
            (await asyncio.to_thread(sfn.describe_execution, executionArn=e["executionArn"]))[
                "input"
            ]
        )
        for e in listed["executions"]
    ]
    assert [e["detail-type"] for e in events] == ["OrderConfirmed"], "no rejection was sent"
    event = events[0]
    assert event["resources"] == [first, machine]
    assert (event["account"], event["region"]) == ("123456789012", "us-east-1")
    assert event["id"]
    assert event["time"].endswith("Z")
