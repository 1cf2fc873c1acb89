"""The ItemReader's decoders on bytes, without S3: JSON Pointers, Parquet read a row
group at a time, Parquet values as JSON, and Athena manifests."""

from __future__ import annotations

import datetime
import io
import subprocess
import sys
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from workflows.engine.errors import ItemReaderFailed
from workflows.engine.states.item_formats import (
    athena_manifest_files,
    json_items,
    json_value,
    parquet_items,
    pointer_tokens,
)


@pytest.mark.parametrize(
    ("pointer", "tokens"),
    [
        ("", []),
        ("/", [""]),
        ("/orders", ["orders"]),
        ("/a~1b/~0c/0", ["a/b", "~c", "0"]),
        ("/~01", ["~1"]),  # "~0" first: "~01" is "~1", not "/"
        ("orders", None),
        ("/a~", None),
        ("/a~2", None),
    ],
)
def test_pointer_tokens(pointer: str, tokens: list[str] | None) -> None:
    assert pointer_tokens(pointer) == tokens


@pytest.mark.parametrize(
    ("pointer", "items"),
    [
        ("", [1]),  # the whole document: not an array here
        ("/data/items", [{"id": 1}]),
        ("/data/pages/1", ["b"]),
    ],
)
def test_json_items_with_a_pointer(pointer: str, items: list[Any]) -> None:
    document = b'{"data": {"items": [{"id": 1}], "pages": [["a"], ["b"]]}}'
    if pointer == "":
        with pytest.raises(ItemReaderFailed, match="non-iterable"):
            list(json_items([document], pointer))
    else:
        assert list(json_items([document], pointer)) == items


@pytest.mark.parametrize("token", ["01", "-", "2"])
def test_a_pointer_into_an_array_needs_an_index_it_has(token: str) -> None:
    with pytest.raises(ItemReaderFailed, match="selects nothing"):
        list(json_items([b'{"pages": [[1], [2]]}'], f"/pages/{token}"))


def _parquet(table: pa.Table, row_group_size: int) -> list[bytes]:
    buffer = io.BytesIO()
    pq.write_table(table, buffer, row_group_size=row_group_size)
    data = buffer.getvalue()
    return [data[i : i + 1000] for i in range(0, len(data), 1000)]  # as S3 streams it


def test_parquet_rows_are_read_one_row_group_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    chunks = _parquet(pa.table({"n": list(range(10))}), row_group_size=4)
    asked: list[Any] = []
    original = pq.ParquetFile.iter_batches

    def spy(self: pq.ParquetFile, *args: Any, **kwargs: Any) -> Any:
        asked.append(kwargs.get("row_groups"))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(pq.ParquetFile, "iter_batches", spy)
    rows = parquet_items(chunks)
    assert next(rows) == {"n": 0}
    assert asked == [[0]]
    assert [row["n"] for row in rows] == list(range(1, 10))
    assert asked == [[0], [1], [2]]


def test_parquet_with_no_rows_has_no_items() -> None:
    empty = pa.table({"n": pa.array([], pa.int64())})
    assert list(parquet_items(_parquet(empty, row_group_size=4))) == []


@pytest.mark.parametrize(
    ("value", "json"),
    [
        (None, None),
        (7, 7),
        (1.5, 1.5),
        (float("inf"), None),
        (Decimal("2.50"), 2.5),
        (Decimal("4"), 4),
        (datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC), "2026-01-02T03:04:05Z"),
        (
            datetime.datetime(
                2026, 1, 2, 3, 4, 5, tzinfo=datetime.timezone(datetime.timedelta(hours=2))
            ),
            "2026-01-02T03:04:05+02:00",
        ),
        (datetime.time(3, 4, 5, 6), "03:04:05.000006"),
        (datetime.timedelta(minutes=1, milliseconds=500), 60.5),
        (b"hi", "aGk="),
        ([("a", 1), ("b", None)], {"a": 1, "b": None}),
        ({"x": [Decimal("1")]}, {"x": [1]}),
    ],
)
def test_parquet_values_as_json(value: Any, json: Any) -> None:
    assert json_value(value) == json


def test_athena_manifest_lists_its_data_files() -> None:
    manifest = [b"s3://exports/run/part-0.parquet\r\n\n", b"s3://exports/run/part-1.parquet"]
    assert athena_manifest_files(manifest) == [
        ("exports", "run/part-0.parquet"),
        ("exports", "run/part-1.parquet"),
    ]


@pytest.mark.parametrize("line", ["run/part-0.parquet", "s3://exports", "s3:///key"])
def test_an_athena_manifest_line_must_be_an_s3_uri(line: str) -> None:
    with pytest.raises(ItemReaderFailed, match="not an S3 URI"):
        athena_manifest_files([line.encode()])


def test_only_a_parquet_read_imports_pyarrow() -> None:
    code = (
        "import sys\n"
        "import workflows.engine, workflows.integrations, workflows.local\n"
        "from workflows.engine.states.item_formats import csv_items\n"
        "assert list(csv_items([b'a\\n1\\n'], None)) == [{'a': '1'}]\n"
        "assert 'pyarrow' not in sys.modules, 'pyarrow was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
