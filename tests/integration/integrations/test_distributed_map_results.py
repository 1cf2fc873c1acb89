"""A Distributed Map's ResultWriter on moto's S3: the items a failed or aborted run
never started in ``PENDING_<n>.json``, and result files split at their size limit,
every file listed in the manifest."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.integration.integrations.test_distributed_map import (
    BUCKET,
    FAIL_ODD_CHILD,
    items,
    machine,
    put,
    reader,
    s3,
)
from workflows.engine import ServiceIntegration, StateMachine, VirtualClock
from workflows.engine.states import result_writer

__all__ = ["s3"]  # the fixture, used by name

WRITER = {
    "Resource": "arn:aws:states:::s3:putObject",
    "Parameters": {"Bucket": BUCKET, "Prefix": "results"},
}


def read(s3: Any, key: str) -> Any:
    body = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    if key.endswith(".jsonl"):
        return [json.loads(line) for line in body.splitlines()]
    return json.loads(body)


def manifest_of(s3: Any) -> dict[str, Any]:
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="results/")["Contents"]]
    manifest: dict[str, Any] = read(s3, next(k for k in keys if k.endswith("/manifest.json")))
    return manifest


def test_a_run_failed_over_its_tolerance_writes_the_items_it_never_started_as_pending(
    s3: Any, integrations: dict[str, ServiceIntegration]
) -> None:
    sm = machine(
        {
            "ItemProcessor": FAIL_ODD_CHILD,
            "MaxConcurrency": 1,
            "ItemSelector": {"order.$": "$$.Map.Item.Index", "ok.$": "$$.Map.Item.Value.ok"},
            "ResultWriter": WRITER,
        }
    )
    result = sm.run(items(1, 1) + items(3, 0), integrations=integrations)
    assert result.error == "States.ExceedToleratedFailureThreshold"
    manifest = manifest_of(s3)
    files = manifest["ResultFiles"]
    run_id = manifest["MapRunArn"].rpartition(":")[2]
    assert [f["Key"] for f in files["PENDING"]] == [f"results/{run_id}/PENDING_0.json"]
    pending = read(s3, files["PENDING"][0]["Key"])
    assert files["PENDING"][0]["Size"] == len(json.dumps(pending, separators=(",", ":")))
    assert pending == [
        {
            "Input": json.dumps({"order": n, "ok": True}, separators=(",", ":")),
            "InputDetails": {"Included": True},
            "Status": "PENDING",
        }
        for n in (2, 3, 4)
    ]
    assert [json.loads(r["Input"])["order"] for r in read(s3, files["SUCCEEDED"][0]["Key"])] == [0]
    assert [r["Error"] for r in read(s3, files["FAILED"][0]["Key"])] == ["Order.Broken"]


def test_pending_items_of_an_item_reader_are_read_to_the_end_and_batched(
    s3: Any, integrations: dict[str, ServiceIntegration]
) -> None:
    rows = [{"ok": n != 0} for n in range(7)]
    put(s3, "orders.jsonl", "\n".join(json.dumps(r) for r in rows))
    child = {
        **FAIL_ODD_CHILD,
        "StartAt": "First",
        "States": {
            **FAIL_ODD_CHILD["States"],
            "First": {"Type": "Pass", "InputPath": "$.Items[0]", "Next": "Check"},
        },
    }
    sm = machine(
        {
            "ItemReader": reader("JSONL", "orders.jsonl", MaxItems=6),
            "ItemBatcher": {"MaxItemsPerBatch": 2},
            "ItemProcessor": child,
            "MaxConcurrency": 1,
            "ResultWriter": {**WRITER, "WriterConfig": {"OutputType": "JSONL"}},
        }
    )
    result = sm.run({}, integrations=integrations)
    assert result.error == "States.ExceedToleratedFailureThreshold"
    files = manifest_of(s3)["ResultFiles"]
    assert files["PENDING"][0]["Key"].endswith("/PENDING_0.jsonl")
    batches = [json.loads(r["Input"])["Items"] for r in read(s3, files["PENDING"][0]["Key"])]
    assert batches == [[{"ok": True}] * 2] * 2  # MaxItems 6: the 7th row is not an item


def test_a_run_that_succeeds_writes_no_pending_file(
    s3: Any, integrations: dict[str, ServiceIntegration]
) -> None:
    result = machine({"ResultWriter": WRITER}).run([1, 2], integrations=integrations)
    assert result.status == "SUCCEEDED", result.cause
    assert manifest_of(s3)["ResultFiles"]["PENDING"] == []


def test_an_aborted_run_exports_its_aborted_children_and_pending_items(
    s3: Any, integrations: dict[str, ServiceIntegration]
) -> None:
    definition = {
        "StartAt": "Sweep",
        "TimeoutSeconds": 5,
        "States": {
            "Sweep": {
                "Type": "Map",
                "MaxConcurrency": 2,
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    "StartAt": "Slow",
                    "States": {"Slow": {"Type": "Wait", "Seconds": 60, "End": True}},
                },
                "ResultWriter": WRITER,
                "End": True,
            }
        },
    }
    sm = StateMachine(definition, name="SlowSweep")
    result = sm.run([1, 2, 3, 4, 5], integrations=integrations, clock=VirtualClock())
    assert result.status == "TIMED_OUT"
    assert "MapRunAborted" in [e["type"] for e in result.history]
    files = manifest_of(s3)["ResultFiles"]
    aborted = read(s3, files["FAILED"][0]["Key"])
    assert sorted(json.loads(r["Input"]) for r in aborted) == [1, 2]
    assert {r["Status"] for r in aborted} == {"ABORTED"}
    assert [json.loads(r["Input"]) for r in read(s3, files["PENDING"][0]["Key"])] == [3, 4, 5]
    assert files["SUCCEEDED"] == []


@pytest.mark.parametrize("output_type", ["JSON", "JSONL"])
def test_result_files_are_split_at_the_size_limit_and_all_listed(
    s3: Any,
    integrations: dict[str, ServiceIntegration],
    monkeypatch: pytest.MonkeyPatch,
    output_type: str,
) -> None:
    monkeypatch.setattr(result_writer, "RESULT_FILE_BYTES", 40)
    config = {"WriterConfig": {"OutputType": output_type, "Transformation": "COMPACT"}}
    sm = machine({"MaxConcurrency": 1, "ResultWriter": {**WRITER, **config}})
    values = [{"order": f"A{n:03}"} for n in range(7)]  # 16 bytes each: two to a file
    result = sm.run(values, integrations=integrations)
    assert result.status == "SUCCEEDED", result.cause
    manifest = read(s3, result.output["ResultWriterDetails"]["Key"])
    listed = manifest["ResultFiles"]["SUCCEEDED"]
    extension = output_type.lower()
    run_id = manifest["MapRunArn"].rpartition(":")[2]
    assert [f["Key"] for f in listed] == [
        f"results/{run_id}/SUCCEEDED_{n}.{extension}" for n in range(4)
    ]
    assert all(f["Size"] <= 40 for f in listed)
    read_back = [value for f in listed for value in read(s3, f["Key"])]
    assert sorted(read_back, key=lambda v: v["order"]) == values
    sizes = [len(s3.get_object(Bucket=BUCKET, Key=f["Key"])["Body"].read()) for f in listed]
    assert sizes == [f["Size"] for f in listed]


def test_a_result_larger_than_the_limit_gets_a_file_of_its_own(
    s3: Any, integrations: dict[str, ServiceIntegration], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(result_writer, "RESULT_FILE_BYTES", 10)
    config = {"WriterConfig": {"Transformation": "COMPACT"}}
    result = machine({"MaxConcurrency": 1, "ResultWriter": {**WRITER, **config}}).run(
        ["a" * 20, "b"], integrations=integrations
    )
    listed = read(s3, result.output["ResultWriterDetails"]["Key"])["ResultFiles"]["SUCCEEDED"]
    assert [read(s3, f["Key"]) for f in listed] == [["a" * 20], ["b"]]


def test_a_read_that_fails_while_pending_items_are_read_does_not_hide_the_runs_failure(
    s3: Any, integrations: dict[str, ServiceIntegration]
) -> None:
    # items are decoded 512 at a time: the broken line is in the second block
    lines = ['{"ok": false}'] + ['{"ok": true}'] * 599 + ["not json"]
    put(s3, "orders.jsonl", "\n".join(lines))
    sm = machine(
        {
            "ItemReader": reader("JSONL", "orders.jsonl"),
            "ItemProcessor": FAIL_ODD_CHILD,
            "MaxConcurrency": 1,
            "ResultWriter": WRITER,
        }
    )
    result = sm.run({}, integrations=integrations)
    assert result.error == "States.ExceedToleratedFailureThreshold"
    pending = read(s3, manifest_of(s3)["ResultFiles"]["PENDING"][0]["Key"])
    assert [json.loads(entry["Input"]) for entry in pending] == [{"ok": True}] * 511
