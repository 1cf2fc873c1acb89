"""A Distributed Map over S3 (moto): every ItemReader format, batches, tolerated
failures, child executions and the ResultWriter's files read back from S3."""

from __future__ import annotations

import gzip
import json
from typing import Any

import boto3
import pytest

from workflows.engine import ServiceIntegration, StateMachine, VirtualClock

BUCKET = "orders-export"

PASS_CHILD: dict[str, Any] = {
    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
    "StartAt": "Handle",
    "States": {"Handle": {"Type": "Pass", "End": True}},
}


def machine(map_state: dict[str, Any], language: str = "JSONPath") -> StateMachine:
    state: dict[str, Any] = {"Type": "Map", "ItemProcessor": PASS_CHILD, "End": True}
    state.update(map_state)
    definition: dict[str, Any] = {"StartAt": "Sweep", "States": {"Sweep": state}}
    if language == "JSONata":
        definition["QueryLanguage"] = "JSONata"
    return StateMachine(definition, name="NightlySweep")


def reader(input_type: str | None, key: str, **config: Any) -> dict[str, Any]:
    reader_config: dict[str, Any] = dict(config)
    if input_type is not None:
        reader_config["InputType"] = input_type
    return {
        "Resource": "arn:aws:states:::s3:getObject",
        "ReaderConfig": reader_config,
        "Parameters": {"Bucket": BUCKET, "Key": key},
    }


@pytest.fixture
def s3(aws: boto3.Session) -> Any:
    client = aws.client("s3")
    client.create_bucket(Bucket=BUCKET)
    return client


def put(s3: Any, key: str, body: str | bytes) -> None:
    s3.put_object(Bucket=BUCKET, Key=key, Body=body.encode() if isinstance(body, str) else body)


ORDERS_CSV = "orderId,status,total\nA1,STUCK,10\nA2,STUCK,20\nA3,PAID,30\n"


def test_csv_rows_with_a_header_row_become_objects_of_strings(
    s3: Any, integrations: dict[str, ServiceIntegration]
) -> None:
    put(s3, "orders.csv", ORDERS_CSV)
    sm = machine({"ItemReader": reader("CSV", "orders.csv", CSVHeaderLocation="FIRST_ROW")})
    result = sm.run({}, integrations=integrations)
    assert result.status == "SUCCEEDED", result.cause
    assert result.output == [
        {"orderId": "A1", "status": "STUCK", "total": "10"},
        {"orderId": "A2", "status": "STUCK", "total": "20"},
        {"orderId": "A3", "status": "PAID", "total": "30"},
    ]


def test_csv_with_given_headers_and_a_pipe_delimiter(
    s3: Any, integrations: dict[str, ServiceIntegration]
) -> None:
    put(s3, "orders.psv", "A1|STUCK\nA2|PAID\n")
    config = {"CSVHeaderLocation": "GIVEN", "CSVHeaders": ["id", "state"], "CSVDelimiter": "PIPE"}
    sm = machine({"ItemReader": reader("CSV", "orders.psv", **config)})
    result = sm.run({}, integrations=integrations)
    assert result.output == [{"id": "A1", "state": "STUCK"}, {"id": "A2", "state": "PAID"}]


def test_csv_with_duplicate_headers_fails_the_reader(
    s3: Any, integrations: dict[str, ServiceIntegration]
) -> None:
    put(s3, "dup.csv", "id,id\n1,2\n")
    sm = machine({"ItemReader": reader("CSV", "dup.csv", CSVHeaderLocation="FIRST_ROW")})
    result = sm.run({}, integrations=integrations)
    assert (result.status, result.error) == ("FAILED", "States.ItemReaderFailed")
    assert result.cause == "CSV headers cannot contain duplicates."
    failed = [e for e in result.history if e["type"] == "MapRunFailed"]
    assert failed[0]["mapRunFailedEventDetails"]["error"] == "States.ItemReaderFailed"


def test_json_array_and_json_lines(s3: Any, integrations: dict[str, ServiceIntegration]) -> None:
    put(s3, "orders.json", json.dumps([{"id": 1}, {"id": 2}]))
    put(s3, "orders.jsonl", '{"id": 1}\n\n{"id": 2}\n{"id": 3}')
    as_json = machine({"ItemReader": reader("JSON", "orders.json")})
    as_lines = machine({"ItemReader": reader("JSONL", "orders.jsonl")})
    assert as_json.run({}, integrations=integrations).output == [{"id": 1}, {"id": 2}]
    assert as_lines.run({}, integrations=integrations).output == [{"id": 1}, {"id": 2}, {"id": 3}]


def test_a_json_object_that_is_not_an_array_fails_the_reader(
    s3: Any, integrations: dict[str, ServiceIntegration]
) -> None:
    put(s3, "object.json", '{"id": 1}')
    result = machine({"ItemReader": reader("JSON", "object.json")}).run(
        {}, integrations=integrations
    )
    assert (result.error, result.cause) == (
        "States.ItemReaderFailed",
        "Attempting to map over non-iterable node.",
    )


def test_a_missing_object_fails_the_reader_with_s3s_answer(
    s3: Any, integrations: dict[str, ServiceIntegration]
) -> None:
    result = machine({"ItemReader": reader("CSV", "missing.csv")}).run(
        {}, integrations=integrations
    )
    assert result.error == "States.ItemReaderFailed"
    assert result.cause is not None
    assert "does not exist" in result.cause


def test_max_items_and_max_items_path_limit_what_is_read(
    s3: Any, integrations: dict[str, ServiceIntegration]
) -> None:
    put(s3, "orders.csv", ORDERS_CSV)
    fixed = machine({"ItemReader": reader("CSV", "orders.csv", MaxItems=2)})
    by_path = machine({"ItemReader": reader("CSV", "orders.csv", MaxItemsPath="$.limit")})
    assert [i["orderId"] for i in fixed.run({}, integrations=integrations).output] == ["A1", "A2"]
    output = by_path.run({"limit": 1}, integrations=integrations).output
    assert [i["orderId"] for i in output] == ["A1"]


def test_list_objects_v2_items_are_object_metadata(
    s3: Any, integrations: dict[str, ServiceIntegration]
) -> None:
    put(s3, "exports/a.csv", "x")
    put(s3, "exports/b.csv", "yy")
    put(s3, "other/c.csv", "z")
    sm = machine(
        {
            "ItemReader": {
                "Resource": "arn:aws:states:::s3:listObjectsV2",
                "Parameters": {"Bucket": BUCKET, "Prefix.$": "$.prefix"},
            }
        }
    )
    output = sm.run({"prefix": "exports/"}, integrations=integrations).output
    assert [(o["Key"], o["Size"], o["StorageClass"]) for o in output] == [
        ("exports/a.csv", 1, "STANDARD"),
        ("exports/b.csv", 2, "STANDARD"),
    ]
    assert all(isinstance(o["LastModified"], int) and o["Etag"].startswith('"') for o in output)


def test_an_s3_inventory_manifest_reads_its_gzipped_csv_files(
    s3: Any, integrations: dict[str, ServiceIntegration]
) -> None:
    put(s3, "inventory/data/1.csv.gz", gzip.compress(b'"orders-export","a.csv","10"\n'))
    put(s3, "inventory/data/2.csv.gz", gzip.compress(b'"orders-export","b.csv","20"\n'))
    manifest = {
        "sourceBucket": BUCKET,
        "destinationBucket": f"arn:aws:s3:::{BUCKET}",
        "fileFormat": "CSV",
        "fileSchema": "Bucket, Key, Size",
        "files": [{"key": "inventory/data/1.csv.gz"}, {"key": "inventory/data/2.csv.gz"}],
    }
    put(s3, "inventory/manifest.json", json.dumps(manifest))
    sm = machine({"ItemReader": reader("MANIFEST", "inventory/manifest.json")})
    assert sm.run({}, integrations=integrations).output == [
        {"Bucket": BUCKET, "Key": "a.csv", "Size": "10"},
        {"Bucket": BUCKET, "Key": "b.csv", "Size": "20"},
    ]


def test_jsonata_arguments_name_the_object(
    s3: Any, integrations: dict[str, ServiceIntegration]
) -> None:
    put(s3, "2026-12-01/orders.csv", ORDERS_CSV)
    sm = machine(
        {
            "ItemReader": {
                "Resource": "arn:aws:states:::s3:getObject",
                "ReaderConfig": {"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW"},
                "Arguments": {"Bucket": BUCKET, "Key": "{% $states.input.day & '/orders.csv' %}"},
            },
            "ItemSelector": {"id": "{% $states.context.Map.Item.Value.orderId %}"},
        },
        language="JSONata",
    )
    result = sm.run({"day": "2026-12-01"}, integrations=integrations)
    assert result.output == [{"id": "A1"}, {"id": "A2"}, {"id": "A3"}]


def test_item_selector_and_batches_with_batch_input(
    s3: Any, integrations: dict[str, ServiceIntegration]
) -> None:
    put(s3, "orders.csv", ORDERS_CSV)
    sm = machine(
        {
            "ItemReader": reader("CSV", "orders.csv"),
            "ItemSelector": {
                "order.$": "$$.Map.Item.Value.orderId",
                "index.$": "$$.Map.Item.Index",
            },
            "ItemBatcher": {"MaxItemsPerBatch": 2, "BatchInput": {"reason.$": "$.reason"}},
        }
    )
    result = sm.run({"reason": "stuck"}, integrations=integrations)
    assert result.output == [
        {
            "BatchInput": {"reason": "stuck"},
            "Items": [{"order": "A1", "index": 0}, {"order": "A2", "index": 1}],
        },
        {"BatchInput": {"reason": "stuck"}, "Items": [{"order": "A3", "index": 2}]},
    ]


def test_max_input_bytes_per_batch_closes_a_batch_before_it_grows_past_the_limit(
    integrations: dict[str, ServiceIntegration],
) -> None:
    items = [{"pad": "x" * 40} for _ in range(5)]  # 52 bytes each
    sm = machine({"ItemBatcher": {"MaxInputBytesPerBatchPath": "$.bytes"}, "ItemsPath": "$.items"})
    output = sm.run({"items": items, "bytes": 130}, integrations=integrations).output
    # {"Items":[...]} is 12 bytes, each item 52 and a comma: two fit into 130, three do not
    assert [len(batch["Items"]) for batch in output] == [2, 2, 1]
    assert all(len(json.dumps(b, separators=(",", ":"))) <= 130 for b in output)


FAIL_ODD_CHILD: dict[str, Any] = {
    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
    "StartAt": "Check",
    "States": {
        "Check": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.ok", "BooleanEquals": True, "Next": "Done"}],
            "Default": "Broken",
        },
        "Broken": {"Type": "Fail", "Error": "Order.Broken", "Cause": "order cannot be read"},
        "Done": {"Type": "Succeed"},
    },
}


def items(ok: int, broken: int) -> list[dict[str, bool]]:
    return [{"ok": True}] * ok + [{"ok": False}] * broken


def test_a_failing_child_fails_the_map_as_over_a_tolerance_of_zero(
    integrations: dict[str, ServiceIntegration],
) -> None:
    sm = machine({"ItemProcessor": FAIL_ODD_CHILD})
    result = sm.run(items(3, 1), integrations=integrations)
    assert (result.status, result.error, result.cause) == (
        "FAILED",
        "States.ExceedToleratedFailureThreshold",
        "The specified tolerated failure threshold was exceeded",
    )
    failed = next(e for e in result.history if e["type"] == "MapRunFailed")
    assert failed["mapRunFailedEventDetails"]["error"] == "States.ExceedToleratedFailureThreshold"


@pytest.mark.parametrize(
    ("tolerance", "broken", "status"),
    [
        ({"ToleratedFailureCount": 2}, 2, "SUCCEEDED"),
        ({"ToleratedFailureCount": 2}, 3, "FAILED"),
        ({"ToleratedFailurePercentage": 30}, 3, "SUCCEEDED"),
        ({"ToleratedFailurePercentage": 30}, 4, "FAILED"),
        # both given: AWS fails the run when either is exceeded
        ({"ToleratedFailureCount": 5, "ToleratedFailurePercentage": 10}, 2, "FAILED"),
        ({"ToleratedFailureCount": 1, "ToleratedFailurePercentage": 50}, 2, "FAILED"),
        ({"ToleratedFailureCount": 2, "ToleratedFailurePercentage": 20}, 2, "SUCCEEDED"),
    ],
)
def test_tolerated_failures_up_to_the_threshold_and_not_past_it(
    integrations: dict[str, ServiceIntegration],
    tolerance: dict[str, Any],
    broken: int,
    status: str,
) -> None:
    sm = machine({"ItemProcessor": FAIL_ODD_CHILD, **tolerance})
    result = sm.run(items(10 - broken, broken), integrations=integrations)
    assert result.status == status
    if status == "FAILED":
        assert (result.error, result.cause) == (
            "States.ExceedToleratedFailureThreshold",
            "The specified tolerated failure threshold was exceeded",
        )
    else:
        failed = [o for o in result.output if isinstance(o, dict) and o.get("Status") == "FAILED"]
        assert len(failed) == broken
        assert failed[0]["Error"] == "Order.Broken"


def test_result_writer_files_in_s3(s3: Any, integrations: dict[str, ServiceIntegration]) -> None:
    sm = machine(
        {
            "ItemProcessor": FAIL_ODD_CHILD,
            "ToleratedFailureCount": 1,
            "Label": "Sweep",
            "ResultWriter": {
                "Resource": "arn:aws:states:::s3:putObject",
                "Parameters": {"Bucket": BUCKET, "Prefix": "results"},
            },
        }
    )
    result = sm.run(items(2, 1), integrations=integrations)
    assert result.status == "SUCCEEDED", result.cause
    details = result.output["ResultWriterDetails"]
    run_arn = result.output["MapRunArn"]
    assert run_arn.startswith("arn:aws:states:us-east-1:123456789012:mapRun:NightlySweep/Sweep:")
    run_id = run_arn.rpartition(":")[2]
    assert details == {"Bucket": BUCKET, "Key": f"results/{run_id}/manifest.json"}

    def read(key: str) -> Any:
        return json.loads(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())

    manifest = read(details["Key"])
    assert manifest["DestinationBucket"] == BUCKET
    assert manifest["MapRunArn"] == run_arn
    files = manifest["ResultFiles"]
    assert [f["Key"] for f in files["SUCCEEDED"]] == [f"results/{run_id}/SUCCEEDED_0.json"]
    assert [f["Key"] for f in files["FAILED"]] == [f"results/{run_id}/FAILED_0.json"]
    assert files["PENDING"] == []
    succeeded = read(files["SUCCEEDED"][0]["Key"])
    assert [json.loads(r["Input"]) for r in succeeded] == [{"ok": True}, {"ok": True}]
    assert {r["Status"] for r in succeeded} == {"SUCCEEDED"}
    assert succeeded[0]["StateMachineArn"].endswith(":stateMachine:NightlySweep/Sweep")
    failed = read(files["FAILED"][0]["Key"])
    assert [(r["Error"], r["Cause"]) for r in failed] == [("Order.Broken", "order cannot be read")]


def test_a_run_over_its_tolerance_still_writes_what_its_children_did(
    s3: Any, integrations: dict[str, ServiceIntegration]
) -> None:
    sm = machine(
        {
            "ItemProcessor": FAIL_ODD_CHILD,
            "MaxConcurrency": 1,
            "ResultWriter": {
                "Resource": "arn:aws:states:::s3:putObject",
                "Parameters": {"Bucket": BUCKET, "Prefix": "failed-runs"},
            },
        }
    )
    result = sm.run(items(2, 1) + items(2, 0), integrations=integrations)
    assert result.error == "States.ExceedToleratedFailureThreshold"
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]]
    manifest_key = next(k for k in keys if k.endswith("/manifest.json"))
    manifest = json.loads(s3.get_object(Bucket=BUCKET, Key=manifest_key)["Body"].read())
    succeeded = manifest["ResultFiles"]["SUCCEEDED"][0]["Key"]
    failed = manifest["ResultFiles"]["FAILED"][0]["Key"]
    assert len(json.loads(s3.get_object(Bucket=BUCKET, Key=succeeded)["Body"].read())) == 2
    records = json.loads(s3.get_object(Bucket=BUCKET, Key=failed)["Body"].read())
    assert [r["Error"] for r in records] == ["Order.Broken"]


def test_writer_config_alone_shapes_the_output(integrations: dict[str, ServiceIntegration]) -> None:
    child = {
        "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
        "StartAt": "Pair",
        "States": {"Pair": {"Type": "Pass", "Result": ["a", "b"], "End": True}},
    }
    sm = machine(
        {
            "ItemProcessor": child,
            "ResultWriter": {"WriterConfig": {"Transformation": "FLATTEN", "OutputType": "JSON"}},
        }
    )
    assert sm.run([1, 2], integrations=integrations).output == ["a", "b", "a", "b"]


def test_results_over_256_kib_without_a_result_writer_exceed_the_payload_limit(
    integrations: dict[str, ServiceIntegration],
) -> None:
    big = "x" * 100_000
    sm = machine({"ItemSelector": {"pad": big}})
    result = sm.run([1, 2, 3], integrations=integrations)
    assert result.error == "States.DataLimitExceeded"


def test_child_executions_have_their_own_arns_context_and_histories(
    integrations: dict[str, ServiceIntegration],
) -> None:
    child = {
        "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
        "StartAt": "Who",
        "States": {
            "Who": {
                "Type": "Pass",
                "Parameters": {"execution.$": "$$.Execution.Id", "machine.$": "$$.StateMachine.Id"},
                "End": True,
            }
        },
    }
    sm = machine({"ItemProcessor": child, "Label": "Orders"})
    result = sm.run([1, 2], integrations=integrations)
    prefix = "arn:aws:states:us-east-1:123456789012:"
    for output in result.output:
        assert output["execution"].startswith(prefix + "execution:NightlySweep/Orders:")
        assert output["machine"] == prefix + "stateMachine:NightlySweep/Orders"
    parent_types = [e["type"] for e in result.history]
    assert "MapIterationStarted" not in parent_types
    assert "PassStateEntered" not in parent_types


def test_children_run_on_the_parents_virtual_clock(
    integrations: dict[str, ServiceIntegration],
) -> None:
    child = {
        "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
        "StartAt": "Cool",
        "States": {"Cool": {"Type": "Wait", "Seconds": 3600, "End": True}},
    }
    clock = VirtualClock(start=1_000_000.0)
    result = machine({"ItemProcessor": child}).run([1], integrations=integrations, clock=clock)
    assert result.status == "SUCCEEDED"
    assert result.stop_date - result.start_date >= 3600
