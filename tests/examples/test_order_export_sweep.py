"""The bulk stuck-order sweep of state_machines/order_export_sweep.asl.json, end to
end: an export of 1,000 orders as CSV in S3 (moto), a Distributed Map in batches of 50
on EXPRESS children, each order cancelled by a stand-in of the CancelOrder function,
the results written to S3 and read back from there, as docs/howto-distributed-map.md
describes."""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from workflows.engine import StateMachine, VirtualClock
from workflows.engine.mocks import Return, Throw
from workflows.integrations import aws_integrations

DEFINITION = Path(__file__).resolve().parents[2] / "state_machines"
BUCKET = "order-exports"
SUBSTITUTIONS = {
    "ExportBucket": BUCKET,
    "CancelOrderFunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:CancelOrder",
}


def sweep_machine() -> StateMachine:
    text = (DEFINITION / "order_export_sweep.asl.json").read_text()
    for name, value in SUBSTITUTIONS.items():
        text = text.replace("${" + name + "}", value)
    return StateMachine(text, name="OrderExportSweep")


def cancel_order(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """A stand-in of tasks/orders' CancelOrder: claims an order that is still stuck."""
    if event["orderId"].startswith("BROKEN"):
        raise ValueError(f"order {event['orderId']} cannot be read")
    stuck = event["status"] in ("PENDING", "AWAITING_APPROVAL")
    return {
        "orderId": event["orderId"],
        "customerId": event["customerId"],
        "cancelled": stuck,
        "previousStatus": event["status"],
        "reason": event["reason"],
    }


def export(broken: int) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["orderId", "customerId", "status", "createdAt"])
    for n in range(1000):
        order = f"BROKEN-{n}" if n % 500 == 7 and n // 500 < broken else f"ORD-{n:04d}"
        status = "PAID" if n % 10 == 0 else "PENDING"
        writer.writerow([order, f"CUST-{n % 37}", status, "2026-11-30T03:00:00Z"])
    return out.getvalue()


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name in [k for k in os.environ if k.startswith("AWS_ENDPOINT_URL")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


def run_sweep(s3: Any, broken: int) -> Any:
    s3.put_object(Bucket=BUCKET, Key="exports/stuck.csv", Body=export(broken).encode())
    return sweep_machine().run(
        {"exportKey": "exports/stuck.csv", "maxOrders": 0},
        lambdas={"CancelOrder": cancel_order},
        integrations=aws_integrations(lambda: boto3.Session(region_name="us-east-1")),
        clock=VirtualClock(),
        name="nightly-2026-12-01",
    )


def read_json(s3: Any, key: str) -> Any:
    return json.loads(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())


def test_the_sweep_cancels_stuck_orders_and_writes_its_results_to_s3(s3: Any) -> None:
    result = run_sweep(s3, broken=1)
    assert result.status == "SUCCEEDED", result.cause
    manifest = read_json(s3, result.output["results"]["ResultWriterDetails"]["Key"])
    files = manifest["ResultFiles"]
    succeeded = read_json(s3, files["SUCCEEDED"][0]["Key"])
    failed = read_json(s3, files["FAILED"][0]["Key"])
    # 20 batches of 50; the one with the broken order failed, within the 5% tolerated
    assert (len(succeeded), len(failed)) == (19, 1)
    assert "cannot be read" in failed[0]["Cause"]
    outcomes = [order for batch in succeeded for order in json.loads(batch["Output"])]
    assert len(outcomes) == 950
    assert sum(o["cancelled"] for o in outcomes) == 855  # every tenth order was paid
    first_input = json.loads(succeeded[0]["Input"])
    assert first_input["BatchInput"]["sweep"] == "nightly-2026-12-01"
    assert set(first_input["Items"][0]) == {"orderId", "customerId", "status"}


def test_more_broken_orders_than_tolerated_fail_the_sweep(s3: Any) -> None:
    result = run_sweep(s3, broken=2)
    assert (result.status, result.error) == ("FAILED", "States.ExceedToleratedFailureThreshold")


def test_a_mock_answers_the_item_reader_and_no_export_is_read(s3: Any) -> None:
    rows = [{"orderId": "ORD-1", "customerId": "CUST-1", "status": "PENDING"}]
    result = sweep_machine().run(
        {"exportKey": "exports/none-uploaded.csv", "maxOrders": 0},
        lambdas={"CancelOrder": cancel_order},
        integrations=aws_integrations(lambda: boto3.Session(region_name="us-east-1")),
        mocks={"CancelExportedOrders": Return(rows)},
    )
    manifest = read_json(s3, result.output["results"]["ResultWriterDetails"]["Key"])
    written = read_json(s3, manifest["ResultFiles"]["SUCCEEDED"][0]["Key"])
    assert json.loads(written[0]["Output"])[0]["cancelled"] is True


def test_a_throttled_cancellation_is_retried(s3: Any) -> None:
    rows = [{"orderId": "ORD-1", "customerId": "CUST-1", "status": "PENDING"}]
    cancelled = {
        "orderId": "ORD-1",
        "customerId": "CUST-1",
        "cancelled": True,
        "previousStatus": "PENDING",
        "reason": "stuck past its deadline (export sweep)",
    }
    result = sweep_machine().run(
        {"exportKey": "exports/none-uploaded.csv", "maxOrders": 0},
        integrations=aws_integrations(lambda: boto3.Session(region_name="us-east-1")),
        clock=VirtualClock(),
        mocks={
            "CancelExportedOrders": Return(rows),
            "CancelOrder": [
                Throw("Lambda.TooManyRequestsException"),
                Return({"StatusCode": 200, "Payload": cancelled}),
            ],
        },
    )
    assert result.status == "SUCCEEDED", result.cause
    manifest = read_json(s3, result.output["results"]["ResultWriterDetails"]["Key"])
    written = read_json(s3, manifest["ResultFiles"]["SUCCEEDED"][0]["Key"])
    assert json.loads(written[0]["Output"]) == [cancelled]
