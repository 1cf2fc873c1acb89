"""A Distributed Map's ``ItemReader``: the items come from S3, not from the state input.

The engine knows nothing of S3 itself: it asks the task runner's integrations for
``s3:getObject`` (an iterator of the object's byte chunks), ``s3:listObjectsV2``
(one page of object metadata) and ``s3:putObject`` (the result writer), which
``workflows.integrations`` provides on top of the same boto3 clients as the SDK
integrations (moto in tests and ``workflows run``, the local services under
``workflows up``, AWS itself when pointed there). Those keys are not Task
resources: ``arn:aws:states:::s3:getObject`` is only valid in an ItemReader.

Items are decoded in a worker thread a block at a time, so a large object streams
through without being held whole and without one thread hop per item.
"""

from __future__ import annotations

import asyncio
import itertools
import zlib
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any, Final

from workflows.engine.errors import ItemReaderFailed, StatesError
from workflows.engine.frame import Frame
from workflows.engine.mocks import Return
from workflows.engine.paths import JsonPath
from workflows.engine.states.common import (
    FieldArguments,
    number_or_expression,
    optional_path,
)
from workflows.engine.states.item_formats import (
    CSV_DELIMITERS,
    athena_manifest_files,
    csv_items,
    json_items,
    jsonl_items,
    manifest_files,
    parquet_items,
)
from workflows.engine.tasks import TaskRequest, parse_resource

__all__ = ["ItemReader", "call_s3"]

# Items decoded per trip to the worker thread.
_BLOCK: Final = 512


class ItemReader:
    """A compiled ``ItemReader`` field."""

    def __init__(self, spec: dict[str, Any], language: str) -> None:
        self.resource = parse_resource(spec["Resource"])
        self.action = self.resource.action
        config: dict[str, Any] = spec.get("ReaderConfig") or {}
        self.input_type: str | None = config.get("InputType")
        # S3_INVENTORY: a manifest.json of S3 Inventory (what InputType MANIFEST reads);
        # ATHENA_DATA: an Athena UNLOAD manifest, its data files of InputType each
        self.manifest_type: str | None = config.get("ManifestType")
        if self.input_type == "MANIFEST" and self.manifest_type is None:
            self.manifest_type = "S3_INVENTORY"
        self.items_pointer: str | None = config.get("ItemsPointer")
        self.header_location: str = config.get("CSVHeaderLocation", "FIRST_ROW")
        self.headers: list[str] | None = config.get("CSVHeaders")
        self.delimiter = CSV_DELIMITERS.get(config.get("CSVDelimiter", "COMMA"), ",")
        self.max_items: Any = number_or_expression(config, "MaxItems")
        self.max_items_path: JsonPath | None = optional_path(config.get("MaxItemsPath"))
        self.request = FieldArguments(spec, language)

    def _request_parameters(self, effective: Any, frame: Frame) -> dict[str, Any]:
        value = self.request.evaluate(effective, frame)
        if not isinstance(value, dict):
            raise ItemReaderFailed.of("The ItemReader parameters must be a JSON object.")
        return value

    async def items(
        self, effective: Any, frame: Frame, state_name: str, max_items: int | None
    ) -> AsyncIterator[Any]:
        """The items, at most ``max_items`` of them."""
        mocks = frame.execution.mocks
        answer = mocks.next(state_name) if mocks is not None else None
        if answer is not None:
            if not isinstance(answer, Return):
                raise StatesError(answer.error, answer.cause)
            if not isinstance(answer.value, list):
                raise ItemReaderFailed.of("Attempting to map over non-iterable node.")
            for item in answer.value[:max_items]:
                yield item
            return
        parameters = self._request_parameters(effective, frame)
        source = self._source(parameters, frame)
        count = 0
        async for item in source:
            if max_items is not None and count >= max_items:
                break
            count += 1
            yield item

    async def _source(self, parameters: dict[str, Any], frame: Frame) -> AsyncIterator[Any]:
        if self.action == "listObjectsV2":
            async for item in _listed_objects(parameters, frame):
                yield item
            return
        chunks = await call_s3("getObject", parameters, frame)
        if self.manifest_type == "S3_INVENTORY":
            bucket, keys, columns = await _in_thread(frame, lambda: manifest_files(chunks))
            for key in keys:
                chunks = await call_s3("getObject", {"Bucket": bucket, "Key": key}, frame)
                rows = csv_items(_gunzipped(chunks) if key.endswith(".gz") else chunks, columns)
                async for item in _blocks(rows, frame):
                    yield item
            return
        if self.manifest_type == "ATHENA_DATA":
            files = await _in_thread(frame, lambda: athena_manifest_files(chunks))
            for bucket, key in files:
                chunks = await call_s3("getObject", {"Bucket": bucket, "Key": key}, frame)
                data = _gunzipped(chunks) if key.endswith(".gz") else chunks
                async for item in _blocks(self._decoded(data), frame):
                    yield item
            return
        async for item in _blocks(self._decoded(chunks), frame):
            yield item

    def _decoded(self, chunks: Iterable[bytes]) -> Iterator[Any]:
        """The items of one object of this reader's InputType."""
        if self.input_type == "CSV":
            headers = self.headers if self.header_location == "GIVEN" else None
            return csv_items(chunks, headers, self.delimiter)
        if self.input_type == "JSONL":
            return jsonl_items(chunks)
        if self.input_type == "JSON":
            return json_items(chunks, self.items_pointer)
        if self.input_type == "PARQUET":
            return parquet_items(chunks)
        raise ItemReaderFailed.of(f"The ItemReader InputType {self.input_type!r} is not supported.")


async def call_s3(action: str, parameters: dict[str, Any], frame: Frame) -> Any:
    """Call the runner's ``s3:<action>`` integration for an ItemReader or ResultWriter."""
    execution = frame.execution
    runner = execution.tasks
    resource = parse_resource(f"arn:aws:states:::s3:{action}")
    integration = runner.integrations.get(f"s3:{action}")
    if integration is None:
        raise StatesError(
            "States.Runtime",
            f"No S3 integration is configured for s3:{action}: run the state machine with "
            "integrations=workflows.integrations.aws_integrations() (workflows run and "
            "workflows up do), or mock the Map state's ItemReader.",
        )
    request = TaskRequest(
        resource=resource,
        parameters=parameters,
        state_name=frame.state_name,
        execution_arn=execution.arn,
        task_token=None,
        clock=execution.clock,
        region=runner.region,
        account=runner.account,
    )
    return await integration(request)


async def _listed_objects(parameters: dict[str, Any], frame: Frame) -> AsyncIterator[Any]:
    request = dict(parameters)
    while True:
        page = await call_s3("listObjectsV2", request, frame)
        for item in page.get("Contents", []):
            yield item
        token = page.get("NextContinuationToken")
        if not token:
            return
        request["ContinuationToken"] = token


async def _in_thread(frame: Frame, work: Any) -> Any:
    with frame.execution.clock.busy():
        return await asyncio.to_thread(work)


async def _blocks(decoded: Iterator[Any], frame: Frame) -> AsyncIterator[Any]:
    """Items of a blocking decoder, pulled ``_BLOCK`` at a time in a worker thread."""
    while True:
        block: list[Any] = await _in_thread(frame, lambda: list(itertools.islice(decoded, _BLOCK)))
        for item in block:
            yield item
        if len(block) < _BLOCK:
            return


def _gunzipped(chunks: Iterable[bytes]) -> Iterator[bytes]:
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    for chunk in chunks:
        yield inflater.decompress(chunk)
    yield inflater.flush()
