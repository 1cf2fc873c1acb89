"""The checks of a Distributed Map's own fields: ItemReader, ItemBatcher, ResultWriter.

These fields only mean something in ``DISTRIBUTED`` mode; an inline Map that has
one is refused (AWS refuses it too). Each sub-object is checked for its known
fields, the values AWS accepts (InputType, CSVHeaderLocation, CSVDelimiter,
OutputType, Transformation), its limits (MaxItems up to 100,000,000,
MaxInputBytesPerBatch up to 256 KiB) and fields that exclude each other (a value
and its ``Path`` form). Every problem carries the JSON pointer of the field.
"""

from __future__ import annotations

import re
from typing import Any, Final

from workflows.engine.validation.checker import CheckedState, Parts
from workflows.engine.validation.codes import (
    CONFLICTING_FIELDS,
    FIELD_NOT_ALLOWED,
    INVALID_TYPE,
    INVALID_VALUE,
    MISSING_FIELD,
    UNKNOWN_FIELD,
)
from workflows.engine.validation.expressions import ExpressionChecks
from workflows.engine.validation.json_values import is_int, is_jsonata
from workflows.engine.validation.query_languages import JSONATA, JSONPATH
from workflows.engine.validation.wording import did_you_mean, json_kind

__all__ = ["DISTRIBUTED_ONLY", "DistributedMapChecks"]

# Map fields that only a Distributed Map accepts.
DISTRIBUTED_ONLY: Final = ("ItemReader", "ItemBatcher", "ResultWriter")

_READER_RESOURCES: Final = (
    "arn:aws:states:::s3:getObject",
    "arn:aws:states:::s3:listObjectsV2",
)
_WRITER_RESOURCE: Final = "arn:aws:states:::s3:putObject"
_INPUT_TYPES: Final = ("CSV", "JSON", "JSONL", "PARQUET", "MANIFEST")
# a JSON Pointer (RFC 6901): "" or "/"-led tokens, "~" only as "~0" or "~1"
_JSON_POINTER: Final = re.compile(r"(/([^~/]|~[01])*)*")
_MANIFEST_TYPES: Final = ("S3_INVENTORY", "ATHENA_DATA")
# the InputType each ManifestType reads its data files as
_MANIFEST_INPUTS: Final = {
    "S3_INVENTORY": ("MANIFEST", "CSV"),
    "ATHENA_DATA": ("CSV", "JSONL", "PARQUET"),
}
_HEADER_LOCATIONS: Final = ("FIRST_ROW", "GIVEN")
_DELIMITERS: Final = ("COMMA", "PIPE", "SEMICOLON", "SPACE", "TAB")
_OUTPUT_TYPES: Final = ("JSON", "JSONL")
_TRANSFORMATIONS: Final = ("NONE", "COMPACT", "FLATTEN")
MAX_ITEMS_LIMIT: Final = 100_000_000
MAX_BATCH_BYTES: Final = 256 * 1024

_READER_FIELDS: Final = frozenset({"Resource", "ReaderConfig", "Parameters", "Arguments"})
_READER_CONFIG_FIELDS: Final = frozenset(
    {
        "InputType",
        "CSVHeaderLocation",
        "CSVHeaders",
        "CSVDelimiter",
        "ManifestType",
        "ItemsPointer",
        "MaxItems",
        "MaxItemsPath",
    }
)
_BATCHER_FIELDS: Final = frozenset(
    {
        "MaxItemsPerBatch",
        "MaxItemsPerBatchPath",
        "MaxInputBytesPerBatch",
        "MaxInputBytesPerBatchPath",
        "BatchInput",
    }
)
_WRITER_FIELDS: Final = frozenset({"Resource", "Parameters", "Arguments", "WriterConfig"})
_WRITER_CONFIG_FIELDS: Final = frozenset({"OutputType", "Transformation"})


class DistributedMapChecks(ExpressionChecks):
    def distributed_fields(self, s: CheckedState, distributed: bool) -> None:
        present = [key for key in DISTRIBUTED_ONLY if key in s.body]
        if not distributed:
            for key in present:
                self.error(
                    FIELD_NOT_ALLOWED,
                    f"{key} is only allowed in a Distributed Map: set "
                    'ItemProcessor.ProcessorConfig.Mode to "DISTRIBUTED"',
                    (*s.at, key),
                )
            return
        checks = {
            "ItemReader": self._item_reader,
            "ItemBatcher": self._item_batcher,
            "ResultWriter": self._result_writer,
        }
        for key in present:
            value = s.body[key]
            if isinstance(value, dict):
                checks[key](s, value, (*s.at, key))

    # ------------------------------------------------------------------ shared

    def _known(self, value: dict[str, Any], known: frozenset[str], at: Parts, what: str) -> None:
        for key in value:
            if key not in known:
                hint = did_you_mean(key, known)
                self.error(UNKNOWN_FIELD, f"{what} has no field '{key}'{hint}", (*at, key))

    def _one_of(self, value: Any, allowed: tuple[str, ...], at: Parts, field: str) -> None:
        if value not in allowed:
            choices = ", ".join(allowed)
            self.error(
                INVALID_VALUE, f"{field} must be one of {choices}, not {json_kind(value)}", at
            )

    def _payload(self, s: CheckedState, value: dict[str, Any], at: Parts, what: str) -> None:
        """Parameters under JSONPath, Arguments under JSONata."""
        wrong, right = (
            ("Arguments", "Parameters")
            if s.language == JSONPATH
            else (
                "Parameters",
                "Arguments",
            )
        )
        if wrong in value:
            self.error(
                FIELD_NOT_ALLOWED,
                f"{what} uses {right} in a {s.language} state, not {wrong}",
                (*at, wrong),
            )
        if right not in value:
            return
        payload = value[right]
        if s.language == JSONPATH:
            self.template(payload, (*at, right), right)
        elif not isinstance(payload, dict) and not is_jsonata(payload):
            self.error(
                INVALID_TYPE,
                f"{right} must be a JSON object or a JSONata expression, not {json_kind(payload)}",
                (*at, right),
            )

    def _limit(
        self,
        s: CheckedState,
        value: dict[str, Any],
        at: Parts,
        field: str,
        maximum: int,
        minimum: int = 1,
    ) -> None:
        path = f"{field}Path"
        if field in value and path in value:
            self.error(CONFLICTING_FIELDS, f"{field} and {path} cannot both be given", (*at, path))
        if path in value:
            if s.language == JSONATA:
                self.error(
                    FIELD_NOT_ALLOWED,
                    f"{path} is a JSONPath field; in JSONata give {field} an expression",
                    (*at, path),
                )
            else:
                self.path(value[path], (*at, path), path)
        if field not in value:
            return
        number = value[field]
        if s.language == JSONATA and is_jsonata(number):
            return
        if not is_int(number):
            self.error(
                INVALID_TYPE, f"{field} must be an integer, not {json_kind(number)}", (*at, field)
            )
        elif not minimum <= number <= maximum:
            self.error(
                INVALID_VALUE,
                f"{field} must be from {minimum} to {maximum}, got {number}",
                (*at, field),
            )

    # ---------------------------------------------------------------- reader

    def _item_reader(self, s: CheckedState, reader: dict[str, Any], at: Parts) -> None:
        self._known(reader, _READER_FIELDS, at, "ItemReader")
        resource = reader.get("Resource")
        if resource is None:
            self.error(MISSING_FIELD, "ItemReader needs a Resource", at)
        elif resource not in _READER_RESOURCES:
            self.error(
                INVALID_VALUE,
                f"ItemReader Resource must be one of {', '.join(_READER_RESOURCES)}, "
                f"not {json_kind(resource)}",
                (*at, "Resource"),
            )
        self._payload(s, reader, at, "ItemReader")
        config = reader.get("ReaderConfig")
        config_at = (*at, "ReaderConfig")
        if config is None:
            if resource == _READER_RESOURCES[0]:
                self.error(
                    MISSING_FIELD,
                    "ItemReader with s3:getObject needs ReaderConfig.InputType "
                    "(CSV, JSON, JSONL, PARQUET or MANIFEST)",
                    at,
                )
            return
        if not isinstance(config, dict):
            self.error(
                INVALID_TYPE,
                f"ReaderConfig must be a JSON object, not {json_kind(config)}",
                config_at,
            )
            return
        self._known(config, _READER_CONFIG_FIELDS, config_at, "ReaderConfig")
        self._reader_config(s, config, config_at, resource)

    def _reader_config(
        self, s: CheckedState, config: dict[str, Any], at: Parts, resource: Any
    ) -> None:
        input_type = config.get("InputType")
        if "InputType" in config:
            self._one_of(input_type, _INPUT_TYPES, (*at, "InputType"), "InputType")
            if resource == _READER_RESOURCES[1]:
                self.error(
                    FIELD_NOT_ALLOWED,
                    "InputType is for s3:getObject; s3:listObjectsV2 reads object metadata",
                    (*at, "InputType"),
                )
        elif resource == _READER_RESOURCES[0]:
            self.error(MISSING_FIELD, "ReaderConfig needs an InputType for s3:getObject", at)
        csv_fields = [k for k in ("CSVHeaderLocation", "CSVHeaders", "CSVDelimiter") if k in config]
        if csv_fields and input_type != "CSV":
            for key in csv_fields:
                self.error(FIELD_NOT_ALLOWED, f"{key} is only for InputType CSV", (*at, key))
        if "CSVHeaderLocation" in config:
            self._one_of(
                config["CSVHeaderLocation"],
                _HEADER_LOCATIONS,
                (*at, "CSVHeaderLocation"),
                "CSVHeaderLocation",
            )
        if "CSVDelimiter" in config:
            self._one_of(config["CSVDelimiter"], _DELIMITERS, (*at, "CSVDelimiter"), "CSVDelimiter")
        given = config.get("CSVHeaderLocation") == "GIVEN"
        headers = config.get("CSVHeaders")
        if given and headers is None:
            self.error(MISSING_FIELD, "CSVHeaderLocation GIVEN needs CSVHeaders", at)
        if headers is not None:
            if not given:
                self.error(
                    FIELD_NOT_ALLOWED,
                    "CSVHeaders is only used with CSVHeaderLocation GIVEN",
                    (*at, "CSVHeaders"),
                )
            elif not isinstance(headers, list) or not all(isinstance(h, str) for h in headers):
                self.error(
                    INVALID_TYPE,
                    f"CSVHeaders must be an array of strings, not {json_kind(headers)}",
                    (*at, "CSVHeaders"),
                )
            elif len(set(headers)) < len(headers):
                self.error(
                    INVALID_VALUE, "CSVHeaders cannot contain duplicates", (*at, "CSVHeaders")
                )
        self._manifest_and_pointer(config, at, resource)
        self._limit(s, config, at, "MaxItems", MAX_ITEMS_LIMIT, minimum=0)

    def _manifest_and_pointer(self, config: dict[str, Any], at: Parts, resource: Any) -> None:
        """ManifestType (which manifest the object is) and ItemsPointer (JSON only)."""
        input_type = config.get("InputType")
        if "ManifestType" in config:
            manifest = config["ManifestType"]
            self._one_of(manifest, _MANIFEST_TYPES, (*at, "ManifestType"), "ManifestType")
            if resource == _READER_RESOURCES[1]:
                self.error(
                    FIELD_NOT_ALLOWED,
                    "ManifestType is for s3:getObject; s3:listObjectsV2 reads object metadata",
                    (*at, "ManifestType"),
                )
            inputs = _MANIFEST_INPUTS.get(manifest) if isinstance(manifest, str) else None
            if inputs is not None and input_type in _INPUT_TYPES and input_type not in inputs:
                self.error(
                    INVALID_VALUE,
                    f"ManifestType {manifest} reads InputType {' or '.join(inputs)}, "
                    f"not {input_type}",
                    (*at, "InputType"),
                )
        if "ItemsPointer" not in config:
            return
        pointer = config["ItemsPointer"]
        where = (*at, "ItemsPointer")
        if input_type != "JSON":
            self.error(FIELD_NOT_ALLOWED, "ItemsPointer is only for InputType JSON", where)
        elif not isinstance(pointer, str):
            self.error(
                INVALID_TYPE,
                f"ItemsPointer must be a JSON Pointer (a string), not {json_kind(pointer)}",
                where,
            )
        elif not _JSON_POINTER.fullmatch(pointer):
            self.error(
                INVALID_VALUE,
                f"ItemsPointer {pointer!r} is not a JSON Pointer: it starts with '/' and "
                "escapes '~' as '~0' and '/' as '~1' (RFC 6901)",
                where,
            )

    # --------------------------------------------------------------- batcher

    def _item_batcher(self, s: CheckedState, batcher: dict[str, Any], at: Parts) -> None:
        self._known(batcher, _BATCHER_FIELDS, at, "ItemBatcher")
        limits = ("MaxItemsPerBatch", "MaxInputBytesPerBatch")
        if not any(key in batcher or f"{key}Path" in batcher for key in limits):
            self.error(
                MISSING_FIELD,
                "ItemBatcher needs MaxItemsPerBatch or MaxInputBytesPerBatch (or their Path form)",
                at,
            )
        self._limit(s, batcher, at, "MaxItemsPerBatch", MAX_ITEMS_LIMIT)
        self._limit(s, batcher, at, "MaxInputBytesPerBatch", MAX_BATCH_BYTES)
        if "BatchInput" in batcher:
            value = batcher["BatchInput"]
            if s.language == JSONPATH:
                self.template(value, (*at, "BatchInput"), "BatchInput")
            elif not isinstance(value, dict) and not is_jsonata(value):
                self.error(
                    INVALID_TYPE,
                    f"BatchInput must be a JSON object, not {json_kind(value)}",
                    (*at, "BatchInput"),
                )

    # ---------------------------------------------------------------- writer

    def _result_writer(self, s: CheckedState, writer: dict[str, Any], at: Parts) -> None:
        self._known(writer, _WRITER_FIELDS, at, "ResultWriter")
        resource = writer.get("Resource")
        has_payload = "Parameters" in writer or "Arguments" in writer
        if resource is None and not has_payload and "WriterConfig" not in writer:
            self.error(
                MISSING_FIELD,
                "ResultWriter needs Resource and Parameters (to export to S3), WriterConfig, "
                "or all three",
                at,
            )
        if resource is not None and resource != _WRITER_RESOURCE:
            self.error(
                INVALID_VALUE,
                f"ResultWriter Resource must be {_WRITER_RESOURCE}, not {json_kind(resource)}",
                (*at, "Resource"),
            )
        if resource is not None and not has_payload:
            self.error(
                MISSING_FIELD, "ResultWriter with a Resource needs the Bucket to write to", at
            )
        if has_payload and resource is None:
            self.error(MISSING_FIELD, "ResultWriter with a Bucket needs its Resource", at)
        self._payload(s, writer, at, "ResultWriter")
        config = writer.get("WriterConfig")
        if config is None:
            return
        config_at = (*at, "WriterConfig")
        if not isinstance(config, dict):
            self.error(
                INVALID_TYPE,
                f"WriterConfig must be a JSON object, not {json_kind(config)}",
                config_at,
            )
            return
        self._known(config, _WRITER_CONFIG_FIELDS, config_at, "WriterConfig")
        if "OutputType" in config:
            self._one_of(
                config["OutputType"], _OUTPUT_TYPES, (*config_at, "OutputType"), "OutputType"
            )
        if "Transformation" in config:
            self._one_of(
                config["Transformation"],
                _TRANSFORMATIONS,
                (*config_at, "Transformation"),
                "Transformation",
            )
