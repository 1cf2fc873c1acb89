"""A Distributed Map's ``ResultWriter``: child results exported to S3, or reshaped.

With ``Resource`` ``arn:aws:states:::s3:putObject`` the results go to S3 in AWS's
layout, under ``<Prefix>/<map run id>/``: ``SUCCEEDED_<n>.json`` and ``FAILED_<n>.json``
(failed, timed out and aborted children), ``PENDING_<n>.json`` (the items a failed or
aborted run never started), and a ``manifest.json`` listing them (also when the run
fails over its tolerated failures or is aborted, as AWS exports then too)::

    {"DestinationBucket": "...", "MapRunArn": "...",
     "ResultFiles": {"FAILED": [{"Key": "...", "Size": 123}], "PENDING": [],
                     "SUCCEEDED": [{"Key": "...", "Size": 456}]}}

A file is closed at AWS's 5 GB (``RESULT_FILE_BYTES``) and the next one, ``_1``, ``_2``,
..., takes the rest; every file is in the manifest. The Map's output is
``{"MapRunArn": ..., "ResultWriterDetails": {"Bucket", "Key"}}`` (the manifest's key).
``WriterConfig.Transformation`` shapes each result: ``NONE`` (the default with S3) the
execution's record (ARN, input, output, dates, status), ``COMPACT`` (the default without
S3) its output, ``FLATTEN`` its output with arrays flattened; a failed child is always
written as its record, and a pending item as ``pending_record`` shows it. ``OutputType``
``JSONL`` writes one result per line (files named ``.jsonl``) instead of a JSON array.

Results are written to spooled temporary files as children end, so a large run's
results do not stay in memory.
"""

from __future__ import annotations

import tempfile
from typing import IO, TYPE_CHECKING, Any, Final

from workflows.engine.errors import ResultWriterFailed, StatesError
from workflows.engine.frame import Frame, iso_timestamp
from workflows.engine.history import dumps
from workflows.engine.states.common import (
    FieldArguments,
)
from workflows.engine.states.item_reader import call_s3

if TYPE_CHECKING:
    from workflows.engine.machine import ExecutionResult
    from workflows.engine.map_runs import MapRun

__all__ = ["RESULT_FILE_BYTES", "ResultSink", "ResultWriter", "execution_record", "pending_record"]

# Results kept in memory per file before it spills to disk.
_SPOOL_BYTES: Final = 4 * 1024 * 1024
# AWS closes a result file at 5 GB (S3's largest single PUT) and goes on in the next;
# read when a sink opens, so a test can lower it.
RESULT_FILE_BYTES = 5 * 1024 * 1024 * 1024


def execution_record(result: ExecutionResult, state_machine_arn: str) -> dict[str, Any]:
    """A child execution as a result file (and a failed child in the Map output) shows it."""
    record: dict[str, Any] = {
        "ExecutionArn": result.execution_arn,
        "Input": dumps(result.input),
        "InputDetails": {"Included": True},
        "Name": result.name,
    }
    if result.status == "SUCCEEDED":
        record["Output"] = dumps(result.output)
        record["OutputDetails"] = {"Included": True}
        record["RedriveCount"] = 0
        record["RedriveStatus"] = "NOT_REDRIVABLE"
        record["RedriveStatusReason"] = "Execution is SUCCEEDED and cannot be redriven"
    else:
        if result.error is not None:
            record["Error"] = result.error
        if result.cause is not None:
            record["Cause"] = result.cause
        record["RedriveCount"] = 0
        record["RedriveStatus"] = "REDRIVABLE_BY_MAP_RUN"
    record["StartDate"] = iso_timestamp(result.start_date)
    record["StateMachineArn"] = state_machine_arn
    record["Status"] = result.status
    record["StopDate"] = iso_timestamp(result.stop_date)
    return record


def pending_record(child_input: Any) -> dict[str, Any]:
    """An item (or batch) a failed or aborted run never started, in ``PENDING_<n>.json``:
    the input its child execution would have had, as a record without an execution.
    AWS's documentation names the files but shows no entry; this shape is ours."""
    return {"Input": dumps(child_input), "InputDetails": {"Included": True}, "Status": "PENDING"}


class _File:
    """One result file being filled: a JSON array or JSON Lines."""

    def __init__(self, jsonl: bool) -> None:
        self.jsonl = jsonl
        self.body: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES)  # noqa: SIM115
        self.count = 0
        self.size = 0 if jsonl else 1  # a JSON array's closing "]"
        self._contents: bytes | None = None

    def fits(self, text: bytes, limit: int) -> bool:
        """``text`` can go in without the file growing past ``limit`` (an empty file
        takes any one result: a result is never split)."""
        return not self.count or self.size + len(text) + 1 <= limit

    def add(self, text: bytes) -> None:
        if self.jsonl:
            self.body.write(text + b"\n")
        else:
            self.body.write((b"," if self.count else b"[") + text)
        self.size += len(text) + 1
        self.count += 1

    def contents(self) -> bytes:
        if self._contents is None:
            if not self.jsonl:
                self.body.write(b"]")
            self.body.seek(0)
            self._contents = self.body.read()
            self.body.close()
        return self._contents


class ResultSink:
    """Where child results go as children end."""

    def __init__(self, transformation: str, jsonl: bool) -> None:
        self.transformation = transformation
        self.jsonl = jsonl
        self.max_bytes = RESULT_FILE_BYTES
        # the files of each status, in the manifest's order
        self.files: dict[str, list[_File]] = {"FAILED": [], "PENDING": [], "SUCCEEDED": []}

    def _write(self, status: str, value: Any) -> None:
        text = dumps(value).encode()
        files = self.files[status]
        if not files or not files[-1].fits(text, self.max_bytes):
            files.append(_File(self.jsonl))
        files[-1].add(text)

    def add(self, result: ExecutionResult, state_machine_arn: str) -> None:
        if result.status != "SUCCEEDED":
            self._write("FAILED", execution_record(result, state_machine_arn))
        elif self.transformation == "NONE":
            self._write("SUCCEEDED", execution_record(result, state_machine_arn))
        elif self.transformation == "FLATTEN" and isinstance(result.output, list):
            for value in result.output:
                self._write("SUCCEEDED", value)
        else:
            self._write("SUCCEEDED", result.output)

    def add_pending(self, child_input: Any) -> None:
        """An item (or batch) the run never started."""
        self._write("PENDING", pending_record(child_input))


class ResultWriter:
    """A compiled ``ResultWriter`` field."""

    def __init__(self, spec: dict[str, Any], language: str) -> None:
        self.resource: str | None = spec.get("Resource")
        config: dict[str, Any] = spec.get("WriterConfig") or {}
        default = "NONE" if self.resource else "COMPACT"
        self.transformation: str = config.get("Transformation", default)
        self.jsonl = config.get("OutputType") == "JSONL"
        self.request = FieldArguments(spec, language)

    def open_sink(self, run: MapRun) -> ResultSink | None:
        """A sink when results go to S3; without it they are collected as the output."""
        return ResultSink(self.transformation, self.jsonl) if self.resource else None

    def shape(self, results: list[Any], failed: set[int]) -> list[Any]:
        """The Map's output without S3 export: results per ``Transformation``."""
        if self.transformation != "FLATTEN":
            return results
        shaped: list[Any] = []
        for slot, value in enumerate(results):
            if slot not in failed and isinstance(value, list):
                shaped.extend(value)
            else:
                shaped.append(value)
        return shaped

    def _location(self, effective: Any, frame: Frame) -> tuple[str, str]:
        value = self.request.evaluate(effective, frame)
        if not isinstance(value, dict) or not isinstance(value.get("Bucket"), str):
            raise ResultWriterFailed.of("The ResultWriter parameters need a Bucket (a string).")
        prefix = value.get("Prefix", "")
        if not isinstance(prefix, str):
            raise ResultWriterFailed.of("The ResultWriter Prefix must be a string.")
        return value["Bucket"], prefix

    async def finish(
        self,
        sink: ResultSink | None,
        results: list[Any] | None,
        failed: set[int],
        run: MapRun,
        effective: Any,
        frame: Frame,
    ) -> Any:
        if sink is None:
            return self.shape(results or [], failed)
        bucket, prefix = self._location(effective, frame)
        run_id = run.arn.rpartition(":")[2]
        folder = f"{prefix.rstrip('/')}/{run_id}" if prefix else run_id
        extension = "jsonl" if self.jsonl else "json"
        listed: dict[str, list[dict[str, Any]]] = {}
        for status, files in sink.files.items():
            listed[status] = []
            for number, file in enumerate(files):
                key = f"{folder}/{status}_{number}.{extension}"
                body = file.contents()
                await _put(bucket, key, body, frame)
                listed[status].append({"Key": key, "Size": len(body)})
                if status != "PENDING":
                    run.results_written += file.count
        manifest = {"DestinationBucket": bucket, "MapRunArn": run.arn, "ResultFiles": listed}
        manifest_key = f"{folder}/manifest.json"
        await _put(bucket, manifest_key, dumps(manifest).encode(), frame)
        return {
            "MapRunArn": run.arn,
            "ResultWriterDetails": {"Bucket": bucket, "Key": manifest_key},
        }


async def _put(bucket: str, key: str, body: bytes, frame: Frame) -> None:
    try:
        await call_s3("putObject", {"Bucket": bucket, "Key": key, "Body": body}, frame)
    except ResultWriterFailed:
        raise
    except StatesError as error:
        raise ResultWriterFailed.of(error.cause or str(error.error)) from None
