"""The names and shapes that cross rooms agree: API, state machines, task Lambdas."""

from __future__ import annotations

import json
from pathlib import Path

from tasks.orders.errors import ApprovalRejected
from workflows.api.errors import ORDER_REJECTED

REPO = Path(__file__).resolve().parents[3]


def test_the_api_rejects_approvals_with_the_error_the_workflow_catches() -> None:
    definition = json.loads((REPO / "state_machines" / "order_processing.asl.json").read_text())
    caught = {
        error
        for catcher in definition["States"]["RequestApproval"]["Catch"]
        for error in catcher["ErrorEquals"]
    }
    assert ApprovalRejected.__name__ == ORDER_REJECTED
    assert ORDER_REJECTED in caught
