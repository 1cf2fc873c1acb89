"""How a Distributed Map's ItemReader turns an S3 object into items.

Each decoder takes the object's bytes as an iterator of chunks (as S3 streams them)
and yields items one at a time, so a CSV or JSON Lines file of any size is never
held in memory whole. A JSON file is one document and is parsed whole (locally it
has to fit in memory); ``ItemsPointer`` picks the array inside it. A Parquet file is
spooled to a temporary file (its footer is at the end) and read a row group at a time.

Failures raise ``ItemReaderFailed`` with the cause; the Map reports it as its error.
"""

from __future__ import annotations

import base64
import codecs
import csv
import datetime
import json
import math
import tempfile
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any, Final

from workflows.engine.errors import ItemReaderFailed, StatesError

__all__ = [
    "CSV_DELIMITERS",
    "athena_manifest_files",
    "csv_items",
    "json_items",
    "jsonl_items",
    "lines",
    "manifest_files",
    "parquet_items",
    "pointer_tokens",
]

# ReaderConfig.CSVDelimiter names -> the character
CSV_DELIMITERS: Final[dict[str, str]] = {
    "COMMA": ",",
    "PIPE": "|",
    "SEMICOLON": ";",
    "SPACE": " ",
    "TAB": "\t",
}


def _failed(cause: str) -> StatesError:
    return ItemReaderFailed.of(cause)


def lines(chunks: Iterable[bytes]) -> Iterator[str]:
    """The text lines of a UTF-8 byte stream (without their line ends)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    pending = ""
    try:
        for chunk in chunks:
            pending += decoder.decode(chunk)
            *complete, pending = pending.split("\n")
            for line in complete:
                yield line.removesuffix("\r")
        pending += decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        raise _failed(f"The object is not UTF-8 text: {exc.reason}") from None
    if pending:
        yield pending.removesuffix("\r")


def _whole_json(chunks: Iterable[bytes], what: str) -> Any:
    """A JSON document read whole (an array of items, or a manifest)."""
    try:
        return json.loads(b"".join(chunks))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _failed(f"The {what} is not valid JSON: {exc}") from None


def pointer_tokens(pointer: str) -> list[str] | None:
    """The reference tokens of a JSON Pointer (RFC 6901), or None when it is not one.

    ``""`` is the whole document; every other pointer starts with ``/``, and ``~`` is
    only ever ``~0`` (``~``) or ``~1`` (``/``).
    """
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        return None
    tokens = pointer[1:].split("/")
    for token in tokens:
        if "~" in token.replace("~0", "").replace("~1", ""):
            return None
    return [token.replace("~1", "/").replace("~0", "~") for token in tokens]


def _resolve(document: Any, pointer: str) -> Any:
    """The value ``pointer`` selects in ``document``; a pointer that selects nothing fails."""
    tokens = pointer_tokens(pointer)
    if tokens is None:
        raise _failed(f"ItemsPointer {pointer!r} is not a valid JSON Pointer.")
    value = document
    for depth, token in enumerate(tokens, 1):
        reached = "/" + "/".join(pointer[1:].split("/")[:depth])
        if isinstance(value, dict) and token in value:
            value = value[token]
        elif (
            isinstance(value, list)
            and token.isdigit()
            and (token == "0" or not token.startswith("0"))
            and int(token) < len(value)
        ):
            value = value[int(token)]
        else:
            raise _failed(
                f"ItemsPointer {pointer!r} selects nothing in the object: {reached!r} is not there."
            )
    return value


def json_items(chunks: Iterable[bytes], items_pointer: str | None = None) -> Iterator[Any]:
    """A JSON file holds one array, or (with ``items_pointer``) a document the pointer
    selects the array in; its elements are the items."""
    value = _whole_json(chunks, "object")
    if items_pointer is not None:
        value = _resolve(value, items_pointer)
    if not isinstance(value, list):
        raise _failed("Attempting to map over non-iterable node.")
    yield from value


def jsonl_items(chunks: Iterable[bytes]) -> Iterator[Any]:
    """One JSON value per line; blank lines are skipped."""
    for number, line in enumerate(lines(chunks), 1):
        if not line.strip():
            continue
        try:
            yield json.loads(line)
        except json.JSONDecodeError as exc:
            raise _failed(f"Line {number} of the JSONL object is not valid JSON: {exc}") from None


def csv_items(
    chunks: Iterable[bytes],
    headers: list[str] | None,
    delimiter: str = ",",
) -> Iterator[dict[str, str]]:
    """CSV rows as objects keyed by the headers (the first row when ``headers`` is None).

    Every value is a string, as AWS reads CSV; a short row gets "" for its missing
    columns, and a row longer than the header fails the read.
    """
    reader = csv.reader(lines(chunks), delimiter=delimiter)
    try:
        if headers is None:
            first = next(reader, None)
            if first is None:
                return
            headers = first
        if len(set(headers)) < len(headers):
            raise _failed("CSV headers cannot contain duplicates.")
        width = len(headers)
        for row in reader:
            if not row:
                continue
            if len(row) > width:
                raise _failed(
                    f"CSV row {reader.line_num} has {len(row)} fields but the header has {width}."
                )
            yield {header: row[i] if i < len(row) else "" for i, header in enumerate(headers)}
    except csv.Error as exc:
        raise _failed(f"The CSV object cannot be read: {exc}") from None


def manifest_files(chunks: Iterable[bytes]) -> tuple[str, list[str], list[str]]:
    """An S3 Inventory ``manifest.json``: (bucket, inventory file keys, column names).

    Only CSV inventories can be read, as on AWS.
    """
    manifest = _whole_json(chunks, "manifest")
    if not isinstance(manifest, dict):
        raise _failed("The manifest must be a JSON object.")
    if manifest.get("fileFormat", "CSV") != "CSV":
        raise _failed(
            f"The S3 Inventory format {manifest.get('fileFormat')!r} is not supported; "
            "only CSV inventories can be read."
        )
    bucket = str(manifest.get("destinationBucket", "")).removeprefix("arn:aws:s3:::")
    schema = manifest.get("fileSchema")
    files = manifest.get("files")
    if not bucket or not isinstance(schema, str) or not isinstance(files, list):
        raise _failed("The manifest needs destinationBucket, fileSchema and files.")
    columns = [column.strip() for column in schema.split(",")]
    keys = [str(entry["key"]) for entry in files if isinstance(entry, dict) and "key" in entry]
    return bucket, keys, columns


def athena_manifest_files(chunks: Iterable[bytes]) -> list[tuple[str, str]]:
    """An Athena ``UNLOAD`` manifest: one ``s3://bucket/key`` data file per line.

    Blank lines are skipped; a line that is not an S3 URI fails the read.
    """
    files: list[tuple[str, str]] = []
    for number, line in enumerate(lines(chunks), 1):
        uri = line.strip()
        if not uri:
            continue
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        if not uri.startswith("s3://") or not bucket or not key:
            raise _failed(f"Line {number} of the Athena manifest is not an S3 URI: {uri!r}.")
        files.append((bucket, key))
    return files


# Parquet: rows converted per batch, within a row group.
_PARQUET_BATCH: Final = 1024
# A Parquet object is spooled in memory up to this size, then on disk.
_PARQUET_SPOOL: Final = 8 * 1024 * 1024


def parquet_items(chunks: Iterable[bytes]) -> Iterator[dict[str, Any]]:
    """The rows of a Parquet file as JSON objects keyed by column name.

    The object is spooled to a temporary file (Parquet's footer, which says where
    each row group is, comes last), then read a row group at a time, so memory holds
    one row group's columns, not the file. Values become JSON as ``json_value`` says.
    pyarrow is imported here, so only a Parquet read pays for it.
    """
    try:
        import pyarrow.parquet as pq
    except ImportError:  # pragma: no cover - pyarrow is a dependency of the project
        raise _failed("Reading InputType PARQUET needs pyarrow (pip install pyarrow).") from None

    with tempfile.SpooledTemporaryFile(max_size=_PARQUET_SPOOL) as spool:
        for chunk in chunks:
            spool.write(chunk)
        spool.seek(0)
        try:
            parquet = pq.ParquetFile(spool)
            names = parquet.schema_arrow.names
            if len(set(names)) < len(names):
                raise _failed("Parquet column names cannot contain duplicates.")
            for group in range(parquet.num_row_groups):
                for batch in parquet.iter_batches(
                    batch_size=_PARQUET_BATCH, row_groups=[group], use_threads=False
                ):
                    for row in batch.to_pylist():
                        yield {name: json_value(value) for name, value in row.items()}
        except StatesError:
            raise
        except Exception as exc:  # pyarrow's ArrowInvalid, OSError, ... on a broken file
            raise _failed(f"The object is not a readable Parquet file: {exc}") from None


def json_value(value: Any) -> Any:
    """A Parquet (Arrow) value as JSON, where AWS's documentation does not say how:

    integers, floats, booleans, strings and nulls as they are (NaN and infinities,
    which JSON cannot hold, as null); decimals as numbers (integers when integral,
    as the engine writes a ``Decimal``); timestamps as ISO 8601 text (``Z`` when the
    column is in UTC, the offset for another zone, none for a naive timestamp),
    dates as ``YYYY-MM-DD``, times as ``HH:MM:SS[.ffffff]``, durations as seconds;
    binary as base64 text; lists as arrays, structs as objects, maps as objects
    keyed by the map's keys as text.
    """
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime.datetime):
        text = value.isoformat()
        return text.removesuffix("+00:00") + "Z" if text.endswith("+00:00") else text
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, datetime.timedelta):
        return value.total_seconds()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, dict):
        return {str(key): json_value(item) for key, item in value.items()}
    if isinstance(value, list):
        if value and all(isinstance(item, tuple) and len(item) == 2 for item in value):
            return {str(json_value(key)): json_value(item) for key, item in value}
        return [json_value(item) for item in value]
    return str(value)
