"""A Distributed Map's ItemReader over Parquet, Athena manifests and ``ItemsPointer``,
on moto's S3: the items as the children receive them."""

from __future__ import annotations

import datetime
import gzip
import io
import json
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.integration.integrations.test_distributed_map import (
    BUCKET,
    machine,
    put,
    reader,
    s3,
)
from workflows.engine import ServiceIntegration

__all__ = ["s3"]  # the fixture, used by name


def parquet(table: pa.Table, row_group_size: int | None = None) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(table, buffer, row_group_size=row_group_size)
    return buffer.getvalue()


ORDERS = pa.table({"orderId": ["A1", "A2", "A3"], "total": [10, 20, 30]})


def test_parquet_rows_become_objects_keyed_by_column(
    s3: Any, integrations: dict[str, ServiceIntegration]
) -> None:
    put(s3, "orders.parquet", parquet(ORDERS, row_group_size=2))
    result = machine({"ItemReader": reader("PARQUET", "orders.parquet")}).run(
        {}, integrations=integrations
    )
    assert result.status == "SUCCEEDED", result.cause
    assert result.output == [
        {"orderId": "A1", "total": 10},
        {"orderId": "A2", "total": 20},
        {"orderId": "A3", "total": 30},
    ]


def test_parquet_values_as_json(s3: Any, integrations: dict[str, ServiceIntegration]) -> None:
    utc = datetime.UTC
    table = pa.table(
        {
            "when": pa.array(
                [datetime.datetime(2026, 12, 1, 10, 30, tzinfo=utc)], pa.timestamp("ms", tz="UTC")
            ),
            "local": pa.array([datetime.datetime(2026, 12, 1, 10, 30)], pa.timestamp("us")),
            "day": pa.array([datetime.date(2026, 12, 1)]),
            "price": pa.array([Decimal("12.50")], pa.decimal128(10, 2)),
            "count": pa.array([Decimal("3")], pa.decimal128(10, 0)),
            "ratio": [float("nan")],
            "ok": [True],
            "raw": [b"\x00\x01"],
            "tags": [["a", "b"]],
            "address": [{"city": "Lyon", "zip": None}],
            "attrs": pa.array([[("k", 1)]], pa.map_(pa.string(), pa.int64())),
            "missing": pa.array([None], pa.string()),
        }
    )
    put(s3, "typed.parquet", parquet(table))
    result = machine({"ItemReader": reader("PARQUET", "typed.parquet")}).run(
        {}, integrations=integrations
    )
    assert result.output == [
        {
            "when": "2026-12-01T10:30:00Z",
            "local": "2026-12-01T10:30:00",
            "day": "2026-12-01",
            "price": 12.5,
            "count": 3,
            "ratio": None,
            "ok": True,
            "raw": "AAE=",
            "tags": ["a", "b"],
            "address": {"city": "Lyon", "zip": None},
            "attrs": {"k": 1},
            "missing": None,
        }
    ]


def test_a_broken_parquet_object_fails_the_reader(
    s3: Any, integrations: dict[str, ServiceIntegration]
) -> None:
    put(s3, "broken.parquet", b"PAR1 this is not parquet")
    result = machine({"ItemReader": reader("PARQUET", "broken.parquet")}).run(
        {}, integrations=integrations
    )
    assert result.error == "States.ItemReaderFailed"
    assert result.cause is not None
    assert result.cause.startswith("The object is not a readable Parquet file")


def test_max_items_stops_a_parquet_read_early(
    s3: Any, integrations: dict[str, ServiceIntegration]
) -> None:
    put(s3, "orders.parquet", parquet(ORDERS, row_group_size=1))
    result = machine({"ItemReader": reader("PARQUET", "orders.parquet", MaxItems=2)}).run(
        {}, integrations=integrations
    )
    assert [row["orderId"] for row in result.output] == ["A1", "A2"]


def test_an_athena_manifest_reads_its_parquet_files(
    s3: Any, integrations: dict[str, ServiceIntegration]
) -> None:
    put(s3, "athena/run-1/part-0.parquet", parquet(ORDERS.slice(0, 2)))
    put(s3, "athena/run-1/part-1.parquet", parquet(ORDERS.slice(2)))
    put(
        s3,
        "athena/run-1-manifest.csv",
        f"s3://{BUCKET}/athena/run-1/part-0.parquet\ns3://{BUCKET}/athena/run-1/part-1.parquet\n",
    )
    config = {"ManifestType": "ATHENA_DATA"}
    result = machine({"ItemReader": reader("PARQUET", "athena/run-1-manifest.csv", **config)}).run(
        {}, integrations=integrations
    )
    assert result.status == "SUCCEEDED", result.cause
    assert [row["orderId"] for row in result.output] == ["A1", "A2", "A3"]


def test_an_athena_manifest_of_gzipped_csv_and_of_jsonl_files(
    s3: Any, integrations: dict[str, ServiceIntegration]
) -> None:
    put(s3, "athena/csv/0.gz", gzip.compress(b"A1,10\nA2,20\n"))
    put(s3, "athena/csv-manifest.csv", f"s3://{BUCKET}/athena/csv/0.gz\n")
    put(s3, "athena/jsonl/0", '{"orderId": "A3"}\n')
    put(s3, "athena/jsonl-manifest.csv", f"s3://{BUCKET}/athena/jsonl/0\n")
    as_csv = reader(
        "CSV",
        "athena/csv-manifest.csv",
        ManifestType="ATHENA_DATA",
        CSVHeaderLocation="GIVEN",
        CSVHeaders=["orderId", "total"],
    )
    as_jsonl = reader("JSONL", "athena/jsonl-manifest.csv", ManifestType="ATHENA_DATA")
    assert machine({"ItemReader": as_csv}).run({}, integrations=integrations).output == [
        {"orderId": "A1", "total": "10"},
        {"orderId": "A2", "total": "20"},
    ]
    assert machine({"ItemReader": as_jsonl}).run({}, integrations=integrations).output == [
        {"orderId": "A3"}
    ]


def test_an_athena_manifest_line_that_is_no_s3_uri_fails_the_reader(
    s3: Any, integrations: dict[str, ServiceIntegration]
) -> None:
    put(s3, "athena/bad-manifest.csv", "athena/run-1/part-0.parquet\n")
    config = {"ManifestType": "ATHENA_DATA"}
    result = machine({"ItemReader": reader("PARQUET", "athena/bad-manifest.csv", **config)}).run(
        {}, integrations=integrations
    )
    assert (result.error, result.cause) == (
        "States.ItemReaderFailed",
        "Line 1 of the Athena manifest is not an S3 URI: 'athena/run-1/part-0.parquet'.",
    )


EXPORT = {"export": {"day": "2026-12-01", "orders": [{"id": 1}, {"id": 2}], "a/b": {"~": [3]}}}


@pytest.mark.parametrize(
    ("pointer", "items"),
    [
        ("/export/orders", [{"id": 1}, {"id": 2}]),
        ("/export/a~1b/~0", [3]),
    ],
)
def test_items_pointer_selects_the_array_in_a_json_object(
    s3: Any, integrations: dict[str, ServiceIntegration], pointer: str, items: list[Any]
) -> None:
    put(s3, "export.json", json.dumps(EXPORT))
    result = machine({"ItemReader": reader("JSON", "export.json", ItemsPointer=pointer)}).run(
        {}, integrations=integrations
    )
    assert result.status == "SUCCEEDED", result.cause
    assert result.output == items


@pytest.mark.parametrize(
    ("pointer", "cause"),
    [
        ("/export/day", "Attempting to map over non-iterable node."),
        (
            "/export/refunds",
            "ItemsPointer '/export/refunds' selects nothing in the object: "
            "'/export/refunds' is not there.",
        ),
        (
            "/export/orders/7/id",
            "ItemsPointer '/export/orders/7/id' selects nothing in the object: "
            "'/export/orders/7' is not there.",
        ),
    ],
)
def test_items_pointer_to_no_array_fails_the_reader(
    s3: Any, integrations: dict[str, ServiceIntegration], pointer: str, cause: str
) -> None:
    put(s3, "export.json", json.dumps(EXPORT))
    result = machine({"ItemReader": reader("JSON", "export.json", ItemsPointer=pointer)}).run(
        {}, integrations=integrations
    )
    assert (result.error, result.cause) == ("States.ItemReaderFailed", cause)


@pytest.mark.parametrize("input_type", ["MANIFEST", "CSV"])
def test_manifest_type_s3_inventory_reads_an_inventory_manifest(
    s3: Any, integrations: dict[str, ServiceIntegration], input_type: str
) -> None:
    put(s3, "inventory/data/1.csv", b'"orders-export","a.csv"\n')
    manifest = {
        "destinationBucket": f"arn:aws:s3:::{BUCKET}",
        "fileFormat": "CSV",
        "fileSchema": "Bucket, Key",
        "files": [{"key": "inventory/data/1.csv"}],
    }
    put(s3, "inventory/manifest.json", json.dumps(manifest))
    config = {"ManifestType": "S3_INVENTORY"}
    result = machine({"ItemReader": reader(input_type, "inventory/manifest.json", **config)}).run(
        {}, integrations=integrations
    )
    assert result.output == [{"Bucket": BUCKET, "Key": "a.csv"}]
