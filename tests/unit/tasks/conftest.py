"""Fixtures for the task Lambda tests: moto-backed tables, deps with fakes, events.

Event shapes live as JSON under ``tests/fixtures/tasks/`` (and ``examples/``);
tests copy and tweak them rather than hand-building dicts.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tasks.common.idempotency import dynamodb_persistence
from tasks.common.repositories import (
    DynamoCatalogRepository,
    DynamoDeliveryRepository,
    DynamoInventoryRepository,
    DynamoOrderRepository,
    DynamoPaymentRepository,
    DynamoPreferencesRepository,
)
from tasks.common.seed import seed_table
from tasks.common.settings import NotificationSettings, OrdersSettings
from tasks.notifications.deps import NotificationDeps
from tasks.orders.deps import OrderTaskDeps
from tasks.orders.payments import InMemoryPaymentGateway

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = ROOT / "tests" / "fixtures" / "tasks"
ORDERS_TABLE = "workflows-orders"
IDEMPOTENCY_TABLE = "workflows-idempotency"
REGION = "eu-west-1"
NOW = datetime(2025, 6, 2, 9, 30, 1, tzinfo=UTC)
EXECUTION_ARN = "arn:aws:states:eu-west-1:123456789012:execution:order_processing:run-1"


def load_fixture(name: str) -> dict[str, Any]:
    path = ROOT / "examples" / name if name == "order.json" else FIXTURES / name
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


@dataclass
class FakeLambdaContext:
    function_name: str = "test-function"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:eu-west-1:123456789012:function:test-function"
    aws_request_id: str = "52fdfc07-2182-154f-163f-5f0f9a621d72"
    log_group_name: str = "/aws/lambda/test-function"
    log_stream_name: str = "2025/06/02/[$LATEST]abc"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


@pytest.fixture
def fixture() -> Callable[[str], dict[str, Any]]:
    """``fixture("name.json")``: a fresh copy of a shared event fixture."""
    return load_fixture


@pytest.fixture
def region() -> str:
    return REGION


@pytest.fixture
def execution_arn() -> str:
    return EXECUTION_ARN


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext()


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("ORDERS_TABLE", ORDERS_TABLE)
    monkeypatch.setenv("IDEMPOTENCY_TABLE", IDEMPOTENCY_TABLE)
    with mock_aws():
        yield


def create_tables() -> Any:
    ddb = boto3.resource("dynamodb", region_name=REGION)
    table = ddb.create_table(
        TableName=ORDERS_TABLE,
        KeySchema=[
            {"AttributeName": "PK", "KeyType": "HASH"},
            {"AttributeName": "SK", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": n, "AttributeType": "S"} for n in ("PK", "SK", "GSI1PK", "GSI1SK")
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "GSI1",
                "KeySchema": [
                    {"AttributeName": "GSI1PK", "KeyType": "HASH"},
                    {"AttributeName": "GSI1SK", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    ddb.create_table(
        TableName=IDEMPOTENCY_TABLE,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return table


@pytest.fixture
def table(aws: None) -> Any:
    orders = create_tables()
    seed_table(ORDERS_TABLE, table=orders)
    return orders


class Clock:
    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def gateway() -> InMemoryPaymentGateway:
    return InMemoryPaymentGateway(flaky_failures=2)


@pytest.fixture
def order_deps(table: Any, gateway: InMemoryPaymentGateway, clock: Clock) -> OrderTaskDeps:
    return OrderTaskDeps(
        settings=OrdersSettings(orders_table=ORDERS_TABLE, idempotency_table=IDEMPOTENCY_TABLE),
        orders=DynamoOrderRepository(table),
        catalog=DynamoCatalogRepository(table),
        inventory=DynamoInventoryRepository(table),
        payments=DynamoPaymentRepository(table),
        gateway=gateway,
        idempotency=dynamodb_persistence(IDEMPOTENCY_TABLE),
        clock=clock,
    )


@pytest.fixture
def notification_deps(table: Any, clock: Clock) -> NotificationDeps:
    return NotificationDeps(
        settings=NotificationSettings(
            orders_table=ORDERS_TABLE,
            idempotency_table=IDEMPOTENCY_TABLE,
            sender_email="orders@shop.example.com",
        ),
        preferences=DynamoPreferencesRepository(table),
        deliveries=DynamoDeliveryRepository(table),
        idempotency_factory=lambda: dynamodb_persistence(IDEMPOTENCY_TABLE),
        clock=clock,
    )


@pytest.fixture
def order_request() -> dict[str, Any]:
    """The example order as the workflow state holds it when ValidateOrder runs."""
    state = load_fixture("order.json")
    state["workflow"] = {"executionArn": EXECUTION_ARN, "approvalThreshold": 500}
    return state


@pytest.fixture
def placed_order(
    order_request: dict[str, Any], order_deps: OrderTaskDeps
) -> Callable[..., dict[str, Any]]:
    """Store an order through ValidateOrder; returns the state the next tasks get."""
    from tasks.orders.validate_order import validate_order

    def place(**overrides: Any) -> dict[str, Any]:
        state = copy.deepcopy(order_request)
        state.update(overrides)
        state["order"] = validate_order(state, order_deps).to_json_dict()
        return state

    return place
