"""The pytest plugin as users write workflow tests with it (fixtures: workflows, virtual_clock)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from workflows.testing import Return, Throw, WorkflowRunner, states_entered, task_attempts

REPO = Path(__file__).resolve().parents[3]
MOCKS = REPO / "tests" / "fixtures" / "mocks" / "order_processing.json"
ORDER = json.loads((REPO / "examples" / "order.json").read_text())
THRESHOLD = {"ApprovalThreshold": "500"}  # as infra/sam/template.yaml sets it


def test_happy_path_from_an_aws_mock_config(workflows: WorkflowRunner) -> None:
    result = workflows.run(
        "order_processing", ORDER, mock_config=MOCKS, test_case="HappyPath", substitutions=THRESHOLD
    )
    assert result.status == "SUCCEEDED", result.cause
    assert states_entered(result)[-2:] == ["PublishOrderConfirmed", "OrderConfirmed"]


def test_retries_take_no_real_time(workflows: WorkflowRunner) -> None:
    result = workflows.run(
        "order_processing",
        ORDER,
        mock_config=MOCKS,
        test_case="PaymentProviderFlaky",
        substitutions=THRESHOLD,
    )
    assert result.status == "SUCCEEDED"
    assert task_attempts(result, "ChargePayment") == 3


def test_declined_payment_compensates(workflows: WorkflowRunner) -> None:
    result = workflows.run(
        "order_processing",
        ORDER,
        mock_config=MOCKS,
        test_case="PaymentDeclined",
        substitutions=THRESHOLD,
    )
    assert result.status == "FAILED"
    assert result.error == "PaymentDeclined"
    path = states_entered(result)
    assert path.index("ReleaseInventory") > path.index("ChargePayment")
    assert "RefundPayment" not in path


def test_python_mocks_and_substitutions(workflows: WorkflowRunner) -> None:
    valid = Return({"Payload": {**ORDER, "total": 900, "status": "PENDING", "createdAt": "t"}})
    result = workflows.run(
        "order_processing",
        ORDER,
        substitutions={"ApprovalThreshold": "1000"},
        mocks={
            "ValidateOrder": valid,
            "ReserveInventory": Throw("OutOfStock", "SKU-MUG-02: 2 wanted, 0 left"),
            "RejectOrder": Return(
                {
                    "Payload": {
                        "orderId": "o",
                        "customerId": "c",
                        "error": "OutOfStock",
                        "reason": "r",
                    }
                }
            ),
            "PublishOrderRejected": Return({"FailedEntryCount": 0}),
        },
    )
    assert result.status == "FAILED"
    assert result.error == "OutOfStock"


def test_an_unknown_test_case_is_named(workflows: WorkflowRunner) -> None:
    with pytest.raises(ValueError, match="NoSuchCase"):
        workflows.run("order_processing", ORDER, mock_config=MOCKS, test_case="NoSuchCase")


def test_a_24_hour_approval_times_out_on_the_virtual_clock(workflows: WorkflowRunner) -> None:
    """Nobody answers the approval request: the 24-hour timeout passes in no real time."""
    big = {**ORDER}
    valid = Return({"Payload": {**ORDER, "total": 5000, "status": "PENDING", "createdAt": "t"}})
    result = workflows.run(
        "order_processing",
        big,
        mocks={
            "ValidateOrder": valid,
            "ReserveInventory": Return({"Payload": {"reservations": [], "reservedAt": "t"}}),
            "ReleaseInventory": Return({"Payload": {"released": True}}),
            "RejectOrder": Return(
                {"Payload": {"orderId": "o", "customerId": "c", "error": "E", "reason": "r"}}
            ),
            "PublishOrderRejected": Return({"FailedEntryCount": 0}),
        },
        integrations={"sqs:sendMessage": _accept_message},
    )
    assert result.status == "FAILED"
    waited = result.history[-1]["timestamp"] - result.history[0]["timestamp"]
    assert waited.total_seconds() >= 86400


async def _accept_message(request: object) -> dict[str, str]:
    return {"MessageId": "m-1"}
