"""A recorded execution of each of the project's machines replays to the same history.

The histories are recorded by running the real definitions with the plugin and
exported as GetExecutionHistory prints them (ISO timestamps). Their data holds what
differs between two executions of the same thing: the execution ARN
(LoadWorkflowContext stores it, the events carry it), $$.State.EnteredTime in
parameters, a waiting Task's token; the replay runs as another execution, at another
time, and must still match.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from tests.integration.workflows.test_failure_paths import (
    EVENT,
    FOUND,
    ORDER,
    PREFERENCES,
    PUBLISHED,
    REFUNDED,
    RELEASED,
    THRESHOLD,
    THROTTLED,
    cancelled,
    messages,
    payload,
    process_order,
    sent,
    validated,
)
from workflows.testing import Return, Throw, replay

CHARGED = payload(chargeId="ch_1", amount=1299, currency="EUR", status="CAPTURED")


def exported(result: Any, folder: Path) -> Path:
    """The execution's history as `aws stepfunctions get-execution-history` writes it."""
    events = [{**e, "timestamp": e["timestamp"].isoformat()} for e in result.history]
    path = folder / "history.json"
    path.write_text(json.dumps({"events": events}, default=str))
    return path


async def test_an_approved_order_replays_with_its_callback_and_retries(workflows, tmp_path):
    tokens: asyncio.Queue[str] = asyncio.Queue()

    async def approval_queue(request: Any) -> Any:
        await tokens.put(request.task_token)
        return {"MessageId": "m-1"}

    run = asyncio.ensure_future(
        workflows.execute(
            "order_processing",
            ORDER,
            substitutions=THRESHOLD,
            integrations={"sqs:sendMessage": approval_queue},
            mocks={
                "ValidateOrder": [THROTTLED, validated(1299)],
                "ReserveInventory": Return(
                    {"Payload": {"reservations": [], "reservedAt": "2026-01-01T00:00:01Z"}}
                ),
                "ChargePayment": CHARGED,
                "ConfirmOrder": Return({}),
                "PublishOrderConfirmed": PUBLISHED,
            },
        )
    )
    workflows.tokens.succeed(await tokens.get(), {"approved": True})
    result = await run
    assert result.status == "SUCCEEDED", result.cause
    machine = workflows.load("order_processing", THRESHOLD)
    # replay runs its own execution to the end: outside this test's event loop
    replayed = await asyncio.to_thread(replay, exported(result, tmp_path), machine)
    assert replayed.matches, str(replayed.divergence)
    assert replayed.result.status == "SUCCEEDED"


def test_a_declined_order_replays_to_the_same_rejection(workflows, tmp_path):
    result = process_order(
        workflows,
        {
            "ValidateOrder": validated(90),
            "ReserveInventory": Return({"Payload": {"reservations": [], "reservedAt": "t"}}),
            "ChargePayment": Throw("PaymentDeclined", "card declined"),
            "ReleaseInventory": RELEASED,
            "RejectOrder": payload(
                orderId="o", customerId="c", error="PaymentDeclined", reason="r"
            ),
            "PublishOrderRejected": PUBLISHED,
        },
    )
    replayed = replay(exported(result, tmp_path), workflows.load("order_processing", THRESHOLD))
    assert replayed.matches, str(replayed.divergence)
    assert replayed.result.error == "PaymentDeclined"


def test_a_notification_replays_with_its_map_of_channels(workflows, tmp_path):
    result = workflows.run(
        "notification",
        EVENT,
        mocks={
            "LoadPreferences": PREFERENCES,
            "RenderMessages": messages("email", "push"),
            "SendEmail": sent("email"),
            "SendPush": Throw("EndpointDisabled", "the device is gone"),
            "RecordDeliveries": payload(sent=1, failed=1),
        },
    )
    replayed = replay(exported(result, tmp_path), workflows.load("notification"))
    assert replayed.matches, str(replayed.divergence)


def test_a_sweep_and_a_quote_replay(workflows, tmp_path):
    sweep = workflows.run(
        "stuck_order_sweep",
        {"source": "aws.scheduler"},
        mocks={
            "FindStuckOrders": FOUND,
            "CancelOrder": cancelled(True),
            "RefundCancelledOrder": REFUNDED,
            "ReleaseCancelledOrderStock": RELEASED,
            "PublishOrderCancelled": PUBLISHED,
        },
    )
    assert replay(exported(sweep, tmp_path), workflows.load("stuck_order_sweep")).matches
    quote = workflows.run(
        "order_quote",
        json.loads((Path(__file__).parents[3] / "examples" / "order_quote.json").read_text()),
    )
    replayed = replay(exported(quote, tmp_path), workflows.load("order_quote"))
    assert replayed.matches, str(replayed.divergence)
