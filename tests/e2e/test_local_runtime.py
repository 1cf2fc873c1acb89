"""`workflows up` as a person uses it: curl the API, the order runs, the services answer."""

from __future__ import annotations

import asyncio
import json
import os
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import boto3
import pytest

from workflows.local.local_auth import mint_token
from workflows.local.runtime import LocalRuntime, Ports

REPO = Path(__file__).resolve().parents[2]
ORDER = json.loads((REPO / "examples" / "order_request.json").read_text())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{api}/orders", json=ORDER, headers=headers) as answer:
            assert answer.status == 202, await answer.text()
            placed = await answer.json()
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
