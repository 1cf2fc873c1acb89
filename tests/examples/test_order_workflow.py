"""An example of testing a workflow with the plugin: copy it into your project.

Each fenced Python block of docs/howto-test-workflows.md is a part of this file, and
tests/unit/test_docs_examples.py checks that it still is, so the how-to runs as written.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from workflows.testing import (
    ANY,
    Return,
    Throw,
    assert_path,
    assert_state,
    contains,
    inspect,
    replay,
    snapshot,
)

HERE = Path(__file__).resolve().parent
ORDER = json.loads((HERE.parents[1] / "examples" / "order.json").read_text())
MOCKS = HERE.parent / "fixtures" / "mocks" / "order_processing.json"
THRESHOLD = {"ApprovalThreshold": "500"}
VALID = {**ORDER, "total": 900, "status": "PENDING", "createdAt": "2026-01-01T00:00:00Z"}
CHARGED = {"chargeId": "ch_1", "amount": 900, "currency": "EUR", "status": "CAPTURED"}
ABOVE_THRESHOLD = {
    "ValidateOrder": Return({"Payload": VALID}),
    "ReserveInventory": Return({"Payload": {"reservations": [], "reservedAt": "t"}}),
    "ChargePayment": Return({"Payload": CHARGED}),
    "ConfirmOrder": Return({}),
    "PublishOrderConfirmed": Return({"FailedEntryCount": 0}),
}


def test_a_confirmed_order_goes_this_way(workflows):
    result = workflows.run(
        "order_processing",
        ORDER,
        mock_config=MOCKS,
        test_case="HappyPath",
        substitutions=THRESHOLD,
    )
    assert_path(result, ["ValidateOrder", "ChargePayment", "OrderConfirmed"], exact=False)
    assert_state(result, "ChargePayment", status="succeeded", output=contains({"payment": ANY}))


def test_a_flaky_payment_provider_is_retried(workflows):
    result = workflows.run(
        "order_processing",
        ORDER,
        mock_config=MOCKS,
        test_case="PaymentProviderFlaky",
        substitutions=THRESHOLD,
    )
    charge = inspect(result).state("ChargePayment")
    assert [attempt.outcome for attempt in charge.attempts] == ["failed", "failed", "succeeded"]
    assert len(charge.delays) == 2  # the back-off waited between attempts, in no real time


def test_a_declined_card_releases_the_stock(workflows):
    valid = {**ORDER, "total": 90, "status": "PENDING", "createdAt": "2026-01-01T00:00:00Z"}
    result = workflows.run(
        "order_processing",
        ORDER,
        substitutions=THRESHOLD,
        mocks={
            "ValidateOrder": Return({"Payload": valid}),
            "ReserveInventory": Return({"Payload": {"reservations": [], "reservedAt": "t"}}),
            "ChargePayment": Throw("PaymentDeclined", "card declined"),
            "ReleaseInventory": Return({"Payload": {"released": True}}),
            "RejectOrder": Return(
                {
                    "Payload": {
                        "orderId": "o",
                        "customerId": "c",
                        "error": "PaymentDeclined",
                        "reason": "card declined",
                    }
                }
            ),
            "PublishOrderRejected": Return({"FailedEntryCount": 0}),
        },
    )
    assert result.error == "PaymentDeclined"
    assert_path(result, ["ChargePayment", "ReleaseInventory", "RejectOrder"], exact=False)
    assert_state(result, "ChargePayment", status="caught", error="PaymentDeclined")


def test_the_history_as_a_snapshot(workflows):
    result = workflows.run(
        "order_processing", ORDER, mock_config=MOCKS, test_case="HappyPath", substitutions=THRESHOLD
    )
    text = snapshot(result)  # no timestamps, ARNs and UUIDs numbered: compare it to a file
    assert text.splitlines()[0].startswith("  1   0 ExecutionStarted")


async def test_an_approver_answers_while_the_order_waits(workflows):
    asked = asyncio.Queue()

    async def approval_queue(request):  # stands in for sqs:sendMessage
        await asked.put(request.task_token)
        return {"MessageId": "m-1"}

    execution = asyncio.ensure_future(
        workflows.execute(
            "order_processing",
            ORDER,
            substitutions=THRESHOLD,
            integrations={"sqs:sendMessage": approval_queue},
            mocks=ABOVE_THRESHOLD,  # the other Tasks answered; the total needs an approver
        )
    )
    token = await asked.get()  # the order waits for a human now
    workflows.tokens.succeed(token, {"approved": True, "approver": "manager-1"})
    result = await execution
    assert result.status == "SUCCEEDED"
    assert_path(result, ["RequestApproval", "WasApproved", "ChargePayment"], exact=False)


async def test_an_approver_who_never_answers_rejects_the_order_a_day_later(workflows):
    released, rejected = [], []

    def release_inventory(event, context):  # stands in for the ReleaseInventory Lambda
        released.append(event["order"]["orderId"])
        return {"released": True}

    def reject_order(event, context):  # ... and for MarkOrderRejected
        rejected.append(event["error"]["Error"])
        order = event["order"]
        return {
            "orderId": order["orderId"],
            "customerId": order["customerId"],
            "error": "ApprovalTimedOut",
            "reason": "nobody approved the order within 24 hours",
        }

    async def approval_queue(request):  # the request is sent; nobody ever answers it
        return {"MessageId": "m-1"}

    result = await workflows.execute(
        "order_processing",
        ORDER,
        substitutions=THRESHOLD,
        integrations={"sqs:sendMessage": approval_queue},
        lambdas={
            "ReleaseInventoryFunction": release_inventory,
            "MarkOrderRejectedFunction": reject_order,
        },
        mocks={"PublishOrderRejected": Return({"FailedEntryCount": 0}), **ABOVE_THRESHOLD},
    )
    assert result.status == "FAILED"
    assert result.error == "ApprovalTimedOut"
    assert_state(result, "RequestApproval", status="caught", error="States.Timeout")
    assert released == [VALID["orderId"]]  # the reserved stock went back
    assert rejected == ["States.Timeout"]  # the order was rejected for the timeout
    assert "ChargePayment" not in inspect(result).path  # and nobody was charged
    waited = result.history[-1]["timestamp"] - result.history[0]["timestamp"]
    assert waited.total_seconds() >= 24 * 3600  # a virtual day, no real one


def test_a_recorded_execution_replays_and_an_edit_shows_where_it_leaves(workflows):
    # from AWS: history = "history.json" (aws stepfunctions get-execution-history --output json)
    history = workflows.run(
        "order_processing",
        ORDER,
        mock_config=MOCKS,
        test_case="PaymentDeclined",
        substitutions=THRESHOLD,
    ).history
    machine = workflows.load("order_processing", THRESHOLD)
    replayed = replay(history, machine)
    assert replayed.matches, replayed.divergence
    assert replayed.result.error == "PaymentDeclined"

    edited = json.loads(json.dumps(machine.definition))
    edited["States"]["ChargePayment"]["Catch"][0]["Next"] = "RefundPayment"
    diverged = replay(history, edited)
    assert not diverged.matches
    assert "RefundPayment" in str(diverged.divergence)
