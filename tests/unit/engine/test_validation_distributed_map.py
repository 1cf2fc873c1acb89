"""Validation of a Distributed Map's ItemReader, ItemBatcher and ResultWriter: each
problem is named, with the JSON pointer of the field, and valid definitions pass."""

from __future__ import annotations

from typing import Any

import pytest

from workflows.engine.validation import validate_definition

CSV_READER: dict[str, Any] = {
    "Resource": "arn:aws:states:::s3:getObject",
    "ReaderConfig": {"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW", "MaxItems": 10},
    "Parameters": {"Bucket": "orders-export", "Key.$": "$.key"},
}
WRITER: dict[str, Any] = {
    "Resource": "arn:aws:states:::s3:putObject",
    "Parameters": {"Bucket": "orders-export", "Prefix": "results"},
    "WriterConfig": {"OutputType": "JSONL", "Transformation": "COMPACT"},
}


def map_machine(mode: str = "DISTRIBUTED", language: str = "JSONPath", **fields: Any) -> Any:
    state = {
        "Type": "Map",
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": mode, "ExecutionType": "EXPRESS"},
            "StartAt": "P",
            "States": {"P": {"Type": "Pass", "End": True}},
        },
        "End": True,
        **fields,
    }
    return {"QueryLanguage": language, "StartAt": "M", "States": {"M": state}}


def problems(definition: Any) -> list[tuple[str, str, str]]:
    return [
        (d.code, d.location, d.message)
        for d in validate_definition(definition)
        if d.severity == "ERROR"
    ]


def test_a_complete_distributed_map_is_valid() -> None:
    definition = map_machine(
        ItemReader=CSV_READER,
        ItemBatcher={"MaxItemsPerBatch": 100, "BatchInput": {"run.$": "$$.Execution.Id"}},
        ResultWriter=WRITER,
        ToleratedFailurePercentage=5,
        Label="Sweep",
    )
    assert problems(definition) == []


def test_a_jsonata_distributed_map_is_valid() -> None:
    reader = {
        "Resource": "arn:aws:states:::s3:listObjectsV2",
        "Arguments": {"Bucket": "orders-export", "Prefix": "{% $states.input.day %}"},
    }
    definition = map_machine(
        language="JSONata",
        ItemReader=reader,
        ItemBatcher={"MaxInputBytesPerBatch": "{% $states.input.bytes %}"},
        ResultWriter={"WriterConfig": {"Transformation": "FLATTEN"}},
    )
    assert problems(definition) == []


def test_distributed_fields_on_an_inline_map_are_refused() -> None:
    found = problems(map_machine(mode="INLINE", ItemReader=CSV_READER, ResultWriter=WRITER))
    assert [(code, where) for code, where, _ in found] == [
        ("FIELD_NOT_ALLOWED", "/States/M/ItemReader"),
        ("FIELD_NOT_ALLOWED", "/States/M/ResultWriter"),
    ]
    assert "DISTRIBUTED" in found[0][2]


@pytest.mark.parametrize(
    ("reader", "code", "where", "words"),
    [
        (
            {**CSV_READER, "Resource": "arn:aws:states:::s3:getObjects"},
            "INVALID_VALUE",
            "/States/M/ItemReader/Resource",
            "s3:listObjectsV2",
        ),
        (
            {**CSV_READER, "ReaderConfig": {"InputType": "XML"}},
            "INVALID_VALUE",
            "/States/M/ItemReader/ReaderConfig/InputType",
            "CSV, JSON, JSONL, PARQUET, MANIFEST",
        ),
        (
            {**CSV_READER, "ReaderConfig": {"InputType": "CSV", "CSVHeaderLocation": "GIVEN"}},
            "MISSING_FIELD",
            "/States/M/ItemReader/ReaderConfig",
            "CSVHeaders",
        ),
        (
            {**CSV_READER, "ReaderConfig": {"InputType": "CSV", "CSVDelimiter": ","}},
            "INVALID_VALUE",
            "/States/M/ItemReader/ReaderConfig/CSVDelimiter",
            "COMMA, PIPE",
        ),
        (
            {**CSV_READER, "ReaderConfig": {"InputType": "JSON", "MaxItems": 0.5}},
            "INVALID_TYPE",
            "/States/M/ItemReader/ReaderConfig/MaxItems",
            "integer",
        ),
        (
            {
                **CSV_READER,
                "ReaderConfig": {"InputType": "JSON", "MaxItems": 1, "MaxItemsPath": "$.n"},
            },
            "CONFLICTING_FIELDS",
            "/States/M/ItemReader/ReaderConfig/MaxItemsPath",
            "MaxItems",
        ),
        (
            {**CSV_READER, "ReaderConfig": {"InputType": "JSON", "MaxItem": 1}},
            "UNKNOWN_FIELD",
            "/States/M/ItemReader/ReaderConfig/MaxItem",
            "did you mean 'MaxItems'",
        ),
        (
            {"Resource": "arn:aws:states:::s3:getObject", "Parameters": {"Bucket": "b"}},
            "MISSING_FIELD",
            "/States/M/ItemReader",
            "InputType",
        ),
    ],
)
def test_item_reader_problems(reader: dict[str, Any], code: str, where: str, words: str) -> None:
    found = problems(map_machine(ItemReader=reader))
    assert [(c, w) for c, w, _ in found] == [(code, where)]
    assert words in found[0][2]


@pytest.mark.parametrize(
    ("batcher", "code", "where"),
    [
        ({}, "MISSING_FIELD", "/States/M/ItemBatcher"),
        ({"MaxItemsPerBatch": 0}, "INVALID_VALUE", "/States/M/ItemBatcher/MaxItemsPerBatch"),
        (
            {"MaxInputBytesPerBatch": 300_000},
            "INVALID_VALUE",
            "/States/M/ItemBatcher/MaxInputBytesPerBatch",
        ),
        (
            {"MaxItemsPerBatch": 2, "MaxItemsPerBatchPath": "$.n"},
            "CONFLICTING_FIELDS",
            "/States/M/ItemBatcher/MaxItemsPerBatchPath",
        ),
        (
            {"MaxItemsPerBatch": 2, "BatchInput": "run"},
            "INVALID_TYPE",
            "/States/M/ItemBatcher/BatchInput",
        ),
    ],
)
def test_item_batcher_problems(batcher: dict[str, Any], code: str, where: str) -> None:
    found = problems(map_machine(ItemBatcher=batcher))
    assert [(c, w) for c, w, _ in found] == [(code, where)]


@pytest.mark.parametrize(
    ("writer", "code", "where"),
    [
        ({}, "MISSING_FIELD", "/States/M/ResultWriter"),
        (
            {**WRITER, "Resource": "arn:aws:states:::s3:getObject"},
            "INVALID_VALUE",
            "/States/M/ResultWriter/Resource",
        ),
        (
            {"Resource": "arn:aws:states:::s3:putObject"},
            "MISSING_FIELD",
            "/States/M/ResultWriter",
        ),
        (
            {"WriterConfig": {"Transformation": "SQUASH"}},
            "INVALID_VALUE",
            "/States/M/ResultWriter/WriterConfig/Transformation",
        ),
        (
            {"WriterConfig": {"OutputType": "CSV"}},
            "INVALID_VALUE",
            "/States/M/ResultWriter/WriterConfig/OutputType",
        ),
        (
            {**WRITER, "Arguments": {"Bucket": "b"}},
            "FIELD_NOT_ALLOWED",
            "/States/M/ResultWriter/Arguments",
        ),
    ],
)
def test_result_writer_problems(writer: dict[str, Any], code: str, where: str) -> None:
    found = problems(map_machine(ResultWriter=writer))
    assert [(c, w) for c, w, _ in found] == [(code, where)]


def test_a_distributed_map_needs_the_type_of_its_children() -> None:
    definition = map_machine()
    del definition["States"]["M"]["ItemProcessor"]["ProcessorConfig"]["ExecutionType"]
    found = problems(definition)
    assert [(c, w) for c, w, _ in found] == [
        ("MISSING_FIELD", "/States/M/ItemProcessor/ProcessorConfig")
    ]
    assert "ExecutionType" in found[0][2]


def _reader(**config: Any) -> dict[str, Any]:
    return {**CSV_READER, "ReaderConfig": config}


@pytest.mark.parametrize(
    "config",
    [
        {"InputType": "PARQUET"},
        {"InputType": "JSON", "ItemsPointer": "/orders/items"},
        {"InputType": "JSON", "ItemsPointer": "/a~1b/0/~0c"},
        {"InputType": "JSON", "ItemsPointer": ""},
        {"InputType": "MANIFEST", "ManifestType": "S3_INVENTORY"},
        {"InputType": "PARQUET", "ManifestType": "ATHENA_DATA"},
        {"InputType": "JSONL", "ManifestType": "ATHENA_DATA"},
        {
            "InputType": "CSV",
            "ManifestType": "ATHENA_DATA",
            "CSVHeaderLocation": "GIVEN",
            "CSVHeaders": ["id"],
        },
    ],
)
def test_parquet_manifests_and_items_pointer_are_valid(config: dict[str, Any]) -> None:
    assert problems(map_machine(ItemReader=_reader(**config))) == []


@pytest.mark.parametrize(
    ("config", "code", "field", "words"),
    [
        ({"InputType": "CSV", "ItemsPointer": "/a"}, "FIELD_NOT_ALLOWED", "ItemsPointer", "JSON"),
        ({"InputType": "JSONL", "ItemsPointer": "/a"}, "FIELD_NOT_ALLOWED", "ItemsPointer", "JSON"),
        ({"InputType": "JSON", "ItemsPointer": "a/b"}, "INVALID_VALUE", "ItemsPointer", "RFC 6901"),
        ({"InputType": "JSON", "ItemsPointer": "/a~2"}, "INVALID_VALUE", "ItemsPointer", "'~0'"),
        ({"InputType": "JSON", "ItemsPointer": 3}, "INVALID_TYPE", "ItemsPointer", "the number 3"),
        (
            {"InputType": "JSON", "ManifestType": "GLUE"},
            "INVALID_VALUE",
            "ManifestType",
            "S3_INVENTORY, ATHENA_DATA",
        ),
        (
            {"InputType": "MANIFEST", "ManifestType": "ATHENA_DATA"},
            "INVALID_VALUE",
            "InputType",
            "CSV or JSONL or PARQUET",
        ),
        (
            {"InputType": "PARQUET", "ManifestType": "S3_INVENTORY"},
            "INVALID_VALUE",
            "InputType",
            "MANIFEST or CSV",
        ),
    ],
)
def test_items_pointer_and_manifest_type_problems(
    config: dict[str, Any], code: str, field: str, words: str
) -> None:
    found = problems(map_machine(ItemReader=_reader(**config)))
    assert [(c, w) for c, w, _ in found] == [(code, f"/States/M/ItemReader/ReaderConfig/{field}")]
    assert words in found[0][2]


def test_manifest_type_is_not_for_list_objects() -> None:
    reader = {
        "Resource": "arn:aws:states:::s3:listObjectsV2",
        "ReaderConfig": {"ManifestType": "ATHENA_DATA"},
        "Parameters": {"Bucket": "orders-export"},
    }
    found = problems(map_machine(ItemReader=reader))
    assert [(c, w) for c, w, _ in found] == [
        ("FIELD_NOT_ALLOWED", "/States/M/ItemReader/ReaderConfig/ManifestType")
    ]
