"""How a Distributed Map's ItemReader turns an S3 object into items.

Each decoder takes the object's bytes as an iterator of chunks (as S3 streams them)
and yields items one at a time, so a CSV or JSON Lines file of any size is never
held in memory whole. A JSON file is one array and is parsed whole (locally it has
to fit in memory).

Failures raise ``ItemReaderFailed`` with the cause; the Map reports it as its error.
"""

from __future__ import annotations

import codecs
import csv
import json
from collections.abc import Iterable, Iterator
from typing import Any, Final

from workflows.engine.errors import ItemReaderFailed, StatesError

__all__ = [
    "CSV_DELIMITERS",
    "csv_items",
    "json_items",
    "jsonl_items",
    "lines",
    "manifest_files",
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


def json_items(chunks: Iterable[bytes]) -> Iterator[Any]:
    """A JSON file holds one array; its elements are the items."""
    value = _whole_json(chunks, "object")
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
