"""The application of infra/sam/template.yaml, run by the engine against moto.

Real handlers from tasks/, real ASL from state_machines/, real boto3 calls into
moto's DynamoDB/SQS/SNS/SES/EventBridge, and a VirtualClock so that a 24-hour
approval timeout or the back-off of a retried payment takes no real time.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from workflows.engine import VirtualClock
from workflows.local.app import LocalApp
from workflows.local.run import fake_aws_environment
from workflows.local.template import load_template

REPO = Path(__file__).resolve().parents[3]
TEMPLATE = REPO / "infra" / "sam" / "template.yaml"


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalApp]:
    for key, value in fake_aws_environment().items():
        monkeypatch.setenv(key, value)
    for key in [k for k in os.environ if k.startswith("AWS_ENDPOINT_URL")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "WARNING")
    with mock_aws():
        local = LocalApp(load_template(TEMPLATE), clock=VirtualClock())
        for key, value in local.environment().items():
            monkeypatch.setenv(key, value)
        local.provision()
        yield local


def example_order(**changes: Any) -> dict[str, Any]:
    order: dict[str, Any] = json.loads((REPO / "examples" / "order.json").read_text())
    order["orderId"] = f"ORD-TEST-{uuid.uuid4().hex[:10].upper()}"
    order.update(changes)
    return order


def table() -> Any:
    return boto3.resource("dynamodb", region_name="us-east-1").Table("OrdersTable")


def order_item(order_id: str) -> dict[str, Any]:
    item: dict[str, Any] = table().get_item(Key={"PK": f"ORDER#{order_id}", "SK": "ORDER"})["Item"]
    return item


def stock(product_id: str) -> int:
    item = table().get_item(Key={"PK": f"PRODUCT#{product_id}", "SK": "PRODUCT"})["Item"]
    return int(item["available"])
