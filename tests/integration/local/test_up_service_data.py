"""The local services keep their data across `workflows up` restarts; --fresh and
`workflows reset` start clean."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3

from tests.integration.local.up_process import REPO, UpProcess

ITEM = {"PK": {"S": "ORDER#KEPT-1"}, "SK": {"S": "ORDER"}, "status": {"S": "CONFIRMED"}}


def aws(up: UpProcess, service: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=f"http://127.0.0.1:{up.ports['aws']}",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def started(state_dir: Path, *extra: str) -> UpProcess:
    process = UpProcess(state_dir, *extra)
    process.wait_until_up()
    return process


def stopped(process: UpProcess) -> None:
    process.signal(signal.SIGTERM)
    assert process.wait() == 0, process.output


def kept(up: UpProcess) -> tuple[dict[str, Any] | None, list[str]]:
    item = aws(up, "dynamodb").get_item(
        TableName="OrdersTable", Key={k: ITEM[k] for k in ("PK", "SK")}
    )
    sqs = aws(up, "sqs")
    url = sqs.get_queue_url(QueueName="EventsDeadLetterQueue")["QueueUrl"]
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    return item.get("Item"), [m["Body"] for m in messages]


def workflows(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "workflows.cli", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_tables_and_queues_survive_a_restart_and_fresh_forgets_them(tmp_path: Path) -> None:
    state = tmp_path / "state"
    first = started(state)
    try:
        aws(first, "dynamodb").put_item(TableName="OrdersTable", Item=ITEM)
        sqs = aws(first, "sqs")
        url = sqs.get_queue_url(QueueName="EventsDeadLetterQueue")["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody="an event that was not delivered")
        stopped(first)
    finally:
        first.stop()

    second = started(state)
    try:
        item, bodies = kept(second)
        assert item == ITEM
        assert bodies == ["an event that was not delivered"]
        refused = workflows("reset", "--state-dir", str(state))
        assert refused.returncode != 0
        assert f"pid {second.process.pid}" in refused.stderr
        stopped(second)
    finally:
        second.stop()

    fresh = started(state, "--fresh")
    try:
        assert kept(fresh) == (None, [])
        aws(fresh, "dynamodb").put_item(TableName="OrdersTable", Item=ITEM)
        stopped(fresh)
    finally:
        fresh.stop()

    reset = workflows("reset", "--state-dir", str(state))
    assert reset.returncode == 0, reset.stderr
    assert "services.json" in reset.stdout
    assert not (state / "services.json").exists()
    assert not (state / "executions.sqlite3").exists()
