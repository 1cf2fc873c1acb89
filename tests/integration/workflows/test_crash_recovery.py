"""After a crash the executions succeed, and what a crashed task did happens once (#13).

A task invocation that dies mid-way (a sandbox crash, a Lambda timeout on AWS,
``kill -9`` of ``workflows up``) leaves its Powertools idempotency record IN_PROGRESS
until its deadline, the function's ``Timeout`` after it started. The execution calls
the task again at once (resumed after the restart), the duplicate raises
``DuplicateRequestInProgress``, and that state's Retrier for it waits past the
timeout: the retry then finds the key free (or the first result) and the execution
goes on.

Here the application of infra/sam/template.yaml runs with its real handlers against
moto on a virtual clock (conftest.py). A crash is a ``BaseException`` that is not an
``Exception``, raised inside Powertools at a chosen point: Powertools deletes the
record only for an ``Exception``, so the record stays as a dead sandbox leaves it.
The crashed invocation's function is then called again at once, as the resumed
execution would, and what that call answers is the Task's first attempt.
"""

from __future__ import annotations

import datetime as real_datetime
import importlib
import types
from collections.abc import Callable
from typing import Any, Literal

import boto3
import pytest
from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer
from moto.core import DEFAULT_ACCOUNT_ID
from moto.sns.models import sns_backends

from tasks.common.repositories import DynamoInventoryRepository
from tasks.orders.payments import shared_fake_gateway
from tests.integration.workflows.conftest import example_order, order_item, stock, table
from workflows.local.app import LocalApp
from workflows.testing import inspect

IN_PROGRESS = "DuplicateRequestInProgress"
POWERTOOLS_TIME = (
    "aws_lambda_powertools.utilities.idempotency.base",
    "aws_lambda_powertools.utilities.idempotency.persistence.base",
    "aws_lambda_powertools.utilities.idempotency.persistence.dynamodb",
    "aws_lambda_powertools.utilities.idempotency.persistence.datarecord",
)


class SandboxCrash(BaseException):
    """The invocation's process died here: nothing after this point ran."""


@pytest.fixture
def app_on_one_clock(app: LocalApp, monkeypatch: pytest.MonkeyPatch) -> LocalApp:
    """Powertools reads the wall clock for its in-progress expiry; here it reads the
    app's virtual clock, which the handler's context counts down on, as on Lambda
    both are the same time."""
    clock = app.clock

    class ClockDatetime(real_datetime.datetime):
        @classmethod
        def now(cls, tz: real_datetime.tzinfo | None = None) -> Any:
            return real_datetime.datetime.fromtimestamp(clock.now(), tz)

    shim = types.SimpleNamespace(datetime=ClockDatetime, timedelta=real_datetime.timedelta)
    for module in POWERTOOLS_TIME:
        monkeypatch.setattr(importlib.import_module(module), "dt", shim)
    return app


def crash_once(
    monkeypatch: pytest.MonkeyPatch,
    app: LocalApp,
    *,
    handler: str,
    task: str,
    point: Literal["before the work", "after the work"],
) -> list[float]:
    """The next invocation of ``task`` (its idempotency key prefix) dies at ``point``:
    right after Powertools wrote the IN_PROGRESS record, or after the task's work,
    before its result was stored. Returns the (virtual) moments of the crash."""
    crashes: list[float] = []
    method = "save_inprogress" if point == "before the work" else "save_success"
    original: Callable[..., Any] = getattr(BasePersistenceLayer, method)

    def dies_once(self: BasePersistenceLayer, *args: Any, **kwargs: Any) -> Any:
        if self.function_name != task or crashes:
            return original(self, *args, **kwargs)
        if point == "before the work":
            original(self, *args, **kwargs)
        crashes.append(app.clock.now())
        raise SandboxCrash

    monkeypatch.setattr(BasePersistenceLayer, method, dies_once)

    module = importlib.import_module(handler.rpartition(".")[0])
    real = getattr(module, handler.rpartition(".")[2])

    def crashed_then_called_again(event: Any, context: Any) -> Any:
        try:
            return real(event, context)
        except SandboxCrash:
            pass
        # the execution resumed: it calls the task again at once, with the same input
        return real(event, context)

    monkeypatch.setattr(module, handler.rpartition(".")[2], crashed_then_called_again)
    return crashes


def assert_waited_out_the_crash(result: Any, state: str, crashes: list[float]) -> None:
    """The state failed with DuplicateRequestInProgress until the crashed invocation's
    deadline (the function's 30 s Timeout) had passed, then succeeded."""
    assert crashes, "the crash was injected"
    [visit] = inspect(result).visits(state)
    outcomes = [(a.outcome, a.error) for a in visit.attempts]
    assert outcomes[0] == ("failed", IN_PROGRESS), outcomes
    assert outcomes[-1] == ("succeeded", None), outcomes
    assert all(outcome == ("failed", IN_PROGRESS) for outcome in outcomes[:-1]), outcomes
    assert sum(visit.delays) >= 30, "the retry came after the function's timeout"


async def test_a_charge_that_crashed_after_capturing_is_waited_for_and_charged_once(
    app_on_one_clock: LocalApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = app_on_one_clock
    crashes = crash_once(
        monkeypatch,
        app,
        handler="tasks.orders.charge_payment.handler",
        task="ChargePayment",
        point="after the work",
    )
    order = example_order()
    gateway = shared_fake_gateway(2)
    captured = gateway.captured_count
    result = await app.execute("order_processing", order)
    await app.drain()
    assert result.status == "SUCCEEDED", result.cause
    assert_waited_out_the_crash(result, "ChargePayment", crashes)
    assert order_item(order["orderId"])["status"] == "CONFIRMED"
    key = f"charge:{order['orderId']}"
    assert gateway.charge_attempts[key] == 1, "the provider was asked once"
    assert gateway.captured_count == captured + 1
    assert "RefundPayment" not in inspect(result).path


async def test_a_reservation_that_crashed_after_reserving_is_retried_and_reserved_once(
    app: LocalApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ReserveInventory keeps no Powertools record (its transaction is its own guard):
    the call after the crash runs at once, finds the reservations the crashed one
    committed, and answers them without taking the stock again."""
    crashes: list[float] = []
    original = DynamoInventoryRepository.reserve

    def reserves_then_dies(self: DynamoInventoryRepository, *args: Any, **kwargs: Any) -> Any:
        reserved = original(self, *args, **kwargs)
        if not crashes:
            crashes.append(app.clock.now())
            raise SandboxCrash
        return reserved

    monkeypatch.setattr(DynamoInventoryRepository, "reserve", reserves_then_dies)
    module = importlib.import_module("tasks.orders.reserve_inventory")
    real = module.handler

    def crashed_then_called_again(event: Any, context: Any) -> Any:
        try:
            return real(event, context)
        except SandboxCrash:
            pass
        return real(event, context)  # the resumed execution calls the task again at once

    monkeypatch.setattr(module, "handler", crashed_then_called_again)
    order = example_order()
    before = {line["productId"]: stock(line["productId"]) for line in order["items"]}
    result = await app.execute("order_processing", order)
    await app.drain()
    assert result.status == "SUCCEEDED", result.cause
    assert crashes, "the crash was injected"
    [visit] = inspect(result).visits("ReserveInventory")
    assert [(a.outcome, a.error) for a in visit.attempts] == [("succeeded", None)]
    for line in order["items"]:
        product = line["productId"]
        assert stock(product) == before[product] - line["quantity"], product
    reservations = table().query(
        KeyConditionExpression="PK = :pk AND begins_with(SK, :sk)",
        ExpressionAttributeValues={":pk": f"ORDER#{order['orderId']}", ":sk": "RESERVATION#"},
    )["Items"]
    assert len(reservations) == len(order["items"])
    assert "ReleaseInventory" not in inspect(result).path


def sent_on(channel: str) -> int:
    if channel == "email":
        quota = boto3.client("ses", region_name="us-east-1").get_send_quota()
        return int(quota["SentLast24Hours"])
    backend = sns_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]
    if channel == "sms":
        return len(backend.sms_messages)
    return sum(len(endpoint.messages) for endpoint in backend.platform_endpoints.values())


@pytest.mark.parametrize(
    ("channel", "task"), [("email", "SendEmail"), ("sms", "SendSms"), ("push", "SendPush")]
)
async def test_a_send_that_crashed_is_waited_for_and_sent_once(
    app_on_one_clock: LocalApp, monkeypatch: pytest.MonkeyPatch, channel: str, task: str
) -> None:
    app = app_on_one_clock
    # push is configured here (the template leaves it off), so every channel can send
    platform = boto3.client("sns", region_name="us-east-1").create_platform_application(
        Name="orders-push", Platform="GCM", Attributes={"PlatformCredential": "key"}
    )
    monkeypatch.setenv("PUSH_PLATFORM_APPLICATION_ARN", platform["PlatformApplicationArn"])
    # crashed before sending: a crash after the provider accepted the message would
    # send it again (SES and SNS have no idempotency key)
    crashes = crash_once(
        monkeypatch,
        app,
        handler=f"tasks.notifications.send_{channel}.handler",
        task=task,
        point="before the work",
    )
    order = example_order()  # CUST-1001 wants email, sms and push
    before = sent_on(channel)
    result = await app.execute("order_processing", order)
    await app.drain()
    assert result.status == "SUCCEEDED", result.cause
    [notification] = [
        r.result for r in app.records if r.state_machine == "NotificationStateMachine"
    ]
    assert notification.status == "SUCCEEDED", notification.cause
    assert_waited_out_the_crash(notification, task, crashes)
    deliveries = table().query(
        KeyConditionExpression="PK = :pk AND begins_with(SK, :sk)",
        ExpressionAttributeValues={":pk": f"ORDER#{order['orderId']}", ":sk": "NOTIFICATION#"},
    )["Items"]
    statuses = {item["SK"].rsplit("#", 1)[-1]: item["status"] for item in deliveries}
    assert statuses == {"email": "SENT", "sms": "SENT", "push": "SENT"}
    assert sent_on(channel) == before + 1, f"one {channel} message"
