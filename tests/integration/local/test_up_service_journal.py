"""What the local services acknowledged is there after a kill -9 of `workflows up`
(issue #13): the services' journal, not the 30 s snapshot, keeps it."""

from __future__ import annotations

import json
import signal
import time
import urllib.request
from pathlib import Path
from typing import Any

from tests.integration.local.test_up_service_data import aws
from tests.integration.local.up_process import REPO, UpProcess
from workflows.local.local_auth import mint_token

ORDER_ID = "ORD-KILLED-000001"
ORDER_KEY = {"PK": {"S": f"ORDER#{ORDER_ID}"}, "SK": {"S": "ORDER"}}


def place_order(up: UpProcess) -> dict[str, Any]:
    token = mint_token(
        "CUST-1001",
        key_path=up.state_dir / "jwt-key.pem",
        issuer=f"http://127.0.0.1:{up.ports['api']}/",
    )
    body = json.loads((REPO / "examples" / "order_request.json").read_text())
    request = urllib.request.Request(
        f"http://127.0.0.1:{up.ports['api']}/orders",
        data=json.dumps({**body, "orderId": ORDER_ID}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=60) as answer:
        assert answer.status == 202
        data: dict[str, Any] = json.loads(answer.read())
        return data


def test_kill_9_right_after_the_writes_keeps_the_order_the_message_and_the_object(
    tmp_path: Path,
) -> None:
    state = tmp_path / "state"
    first = UpProcess(state)
    try:
        first.wait_until_up()
        sqs = aws(first, "sqs")
        url = sqs.get_queue_url(QueueName="EventsDeadLetterQueue")["QueueUrl"]
        sent = sqs.send_message(QueueUrl=url, MessageBody="an event that was not delivered")
        s3 = aws(first, "s3")
        bucket = next(
            b["Name"] for b in s3.list_buckets()["Buckets"] if "export" in b["Name"].lower()
        )
        s3.put_object(Bucket=bucket, Key="sweep-results/kept.json", Body=b'{"kept": true}')
        placed = place_order(first)
        # the order workflow's first task stores the order in OrdersTable: once DynamoDB
        # acknowledged that write (it can be read), kill at once. No snapshot was taken
        # since the start (every 30 s), so only the journal has the order.
        dynamodb = aws(first, "dynamodb")
        deadline = time.monotonic() + 60
        while "Item" not in dynamodb.get_item(TableName="OrdersTable", Key=ORDER_KEY):
            assert time.monotonic() < deadline, first.output
            time.sleep(0.05)
        first.signal(signal.SIGKILL)
        first.wait()
    finally:
        first.stop()
    assert placed["success"] is True

    second = UpProcess(state)
    try:
        second.wait_until_up()
        order = aws(second, "dynamodb").get_item(TableName="OrdersTable", Key=ORDER_KEY)
        assert "Item" in order, second.output
        sqs = aws(second, "sqs")
        url = sqs.get_queue_url(QueueName="EventsDeadLetterQueue")["QueueUrl"]
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
        assert [(m["MessageId"], m["Body"]) for m in messages] == [
            (sent["MessageId"], "an event that was not delivered")
        ]
        kept = aws(second, "s3").get_object(Bucket=bucket, Key="sweep-results/kept.json")
        assert kept["Body"].read() == b'{"kept": true}'
    finally:
        second.stop()
