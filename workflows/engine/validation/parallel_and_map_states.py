"""The checks of the Parallel and Map states, whose branches and processors are machines.

A branch or an item processor is checked as a state machine of its own, through
the validator's ``machine``; Map also has its processor configuration,
concurrency and failure tolerance, and a Label unique in the whole state machine.
"""

from __future__ import annotations

import re
from typing import Any, Final

from workflows.engine.diagnostics import pointer
from workflows.engine.validation.checker import CheckedState, Parts
from workflows.engine.validation.codes import (
    CONFLICTING_FIELDS,
    DUPLICATE_LABEL_NAME,
    INVALID_LABEL_NAME,
    INVALID_TYPE,
    INVALID_VALUE,
    MISSING_FIELD,
)
from workflows.engine.validation.distributed_map import DistributedMapChecks
from workflows.engine.validation.fields import BRANCH_FIELDS, PROCESSOR_FIELDS
from workflows.engine.validation.json_values import is_jsonata, is_number
from workflows.engine.validation.query_languages import JSONATA, JSONPATH
from workflows.engine.validation.wording import json_kind

MAX_LABEL: Final = 40
_LABEL_FORBIDDEN: Final = re.compile(r"[\s<>{}\[\]?*\"#%\\^|~`$&,;:/\x00-\x1f\x7f-\x9f]")


class ParallelAndMapStateChecks(DistributedMapChecks):
    def machine(
        self,
        machine: dict[str, Any],
        at: Parts,
        allowed: frozenset[str],
        language: str,
        what: str,
    ) -> None:
        """Check a nested state machine; the validator, which checks every scope, defines it."""
        raise NotImplementedError

    def state_parallel(self, s: CheckedState) -> None:
        if "Branches" not in s.body:
            self.error(MISSING_FIELD, f"Parallel state '{s.name}' has no Branches", s.at)
            return
        branches = s.body["Branches"]
        at = (*s.at, "Branches")
        if not isinstance(branches, list):
            self.error(
                INVALID_TYPE,
                f"Branches must be an array of state machines, not {json_kind(branches)}",
                at,
            )
            return
        if not branches:
            self.error(
                INVALID_VALUE, f"Branches of Parallel state '{s.name}' must not be empty", at
            )
        for i, branch in enumerate(branches):
            if not isinstance(branch, dict):
                self.error(
                    INVALID_TYPE,
                    "a branch must be a state machine object with StartAt and States, "
                    f"not {json_kind(branch)}",
                    (*at, i),
                )
                continue
            self.machine(branch, (*at, i), BRANCH_FIELDS, s.language, "Parallel branch")

    def state_map(self, s: CheckedState) -> None:
        body, at = s.body, s.at
        processors = [k for k in ("ItemProcessor", "Iterator") if k in body]
        if not processors:
            self.error(
                MISSING_FIELD,
                f"Map state '{s.name}' has no ItemProcessor describing what runs for each item",
                at,
            )
        elif len(processors) > 1:
            self.error(
                CONFLICTING_FIELDS,
                f"Map state '{s.name}' has both ItemProcessor and Iterator (its deprecated "
                "name); keep ItemProcessor",
                (*at, "Iterator"),
            )
        if processors:
            self.processor(s, body[processors[0]], (*at, processors[0]))
        if self.has(s, "ItemSelector") and self.has(s, "Parameters"):
            self.error(
                CONFLICTING_FIELDS,
                f"Map state '{s.name}' has both ItemSelector and Parameters (its deprecated "
                "name); keep ItemSelector",
                (*at, "Parameters"),
            )
        if self.has(s, "ItemSelector"):
            value = body["ItemSelector"]
            if s.language == JSONPATH:
                self.template(value, (*at, "ItemSelector"), "ItemSelector")
            elif not isinstance(value, dict):
                self.error(
                    INVALID_TYPE,
                    f"ItemSelector must be a JSON object, not {json_kind(value)}",
                    (*at, "ItemSelector"),
                )
        if self.has(s, "ItemsPath"):
            self.path(body["ItemsPath"], (*at, "ItemsPath"), "ItemsPath")
        if self.has(s, "Items"):
            value = body["Items"]
            if not isinstance(value, list) and not is_jsonata(value):
                self.error(
                    INVALID_TYPE,
                    f'Items must be an array or a JSONata expression "{{% ... %}}", '
                    f"not {json_kind(value)}",
                    (*at, "Items"),
                )
        for field, minimum in (("MaxConcurrency", 0), ("ToleratedFailureCount", 0)):
            self.map_limit(s, field, minimum)
        self.map_percentage(s)
        for key in ("ItemReader", "ItemBatcher", "ResultWriter"):
            if key in body and not isinstance(body[key], dict):
                self.error(
                    INVALID_TYPE,
                    f"{key} must be a JSON object, not {json_kind(body[key])}",
                    (*at, key),
                )
        processor = body[processors[0]] if processors else None
        config = processor.get("ProcessorConfig") if isinstance(processor, dict) else None
        mode = config.get("Mode") if isinstance(config, dict) else None
        self.distributed_fields(s, mode == "DISTRIBUTED")
        if "Label" in body:
            self.label(body["Label"], (*at, "Label"))

    def map_limit(self, s: CheckedState, field: str, minimum: int) -> None:
        path = f"{field}Path"
        if self.has(s, field) and self.has(s, path):
            self.error(
                CONFLICTING_FIELDS,
                f"Map state '{s.name}' has both {field} and {path}; give one of them",
                (*s.at, path),
            )
        if self.has(s, field):
            self.count(s, field, minimum=minimum)
        if self.has(s, path):
            self.path(s.body[path], (*s.at, path), path)

    def map_percentage(self, s: CheckedState) -> None:
        field, path = "ToleratedFailurePercentage", "ToleratedFailurePercentagePath"
        if self.has(s, field) and self.has(s, path):
            self.error(
                CONFLICTING_FIELDS,
                f"Map state '{s.name}' has both {field} and {path}; give one of them",
                (*s.at, path),
            )
        if self.has(s, field):
            value = s.body[field]
            at = (*s.at, field)
            if s.language == JSONATA and is_jsonata(value):
                pass
            elif not is_number(value):
                self.error(
                    INVALID_TYPE,
                    f"{field} must be a number from 0 to 100, not {json_kind(value)}",
                    at,
                )
            elif not 0 <= value <= 100:
                self.error(INVALID_VALUE, f"{field} must be from 0 to 100, got {value}", at)
        if self.has(s, path):
            self.path(s.body[path], (*s.at, path), path)

    def processor(self, s: CheckedState, processor: Any, at: Parts) -> None:
        if not isinstance(processor, dict):
            self.error(
                INVALID_TYPE,
                f"{at[-1]} must be a state machine object with StartAt and States, "
                f"not {json_kind(processor)}",
                at,
            )
            return
        if "ProcessorConfig" in processor:
            config = processor["ProcessorConfig"]
            config_at = (*at, "ProcessorConfig")
            if not isinstance(config, dict):
                self.error(
                    INVALID_TYPE,
                    f"ProcessorConfig must be an object, not {json_kind(config)}",
                    config_at,
                )
            else:
                mode = config.get("Mode")
                if "Mode" in config and mode not in ("INLINE", "DISTRIBUTED"):
                    self.error(
                        INVALID_VALUE,
                        'ProcessorConfig Mode must be "INLINE" or "DISTRIBUTED", '
                        f"not {json_kind(mode)}",
                        (*config_at, "Mode"),
                    )
                execution = config.get("ExecutionType")
                if mode == "DISTRIBUTED" and "ExecutionType" not in config:
                    self.error(
                        MISSING_FIELD,
                        "ProcessorConfig needs an ExecutionType (STANDARD or EXPRESS) when "
                        "Mode is DISTRIBUTED: the type of the child executions",
                        config_at,
                    )
                if "ExecutionType" in config and execution not in ("STANDARD", "EXPRESS"):
                    self.error(
                        INVALID_VALUE,
                        'ProcessorConfig ExecutionType must be "STANDARD" or "EXPRESS", '
                        f"not {json_kind(execution)}",
                        (*config_at, "ExecutionType"),
                    )
        self.machine(processor, at, PROCESSOR_FIELDS, s.language, f"Map {at[-1]}")

    def label(self, value: Any, at: Parts) -> None:
        if not isinstance(value, str):
            self.error(INVALID_LABEL_NAME, f"Label must be a string, not {json_kind(value)}", at)
            return
        if not value or len(value) > MAX_LABEL:
            self.error(
                INVALID_LABEL_NAME,
                f"Label must be 1 to {MAX_LABEL} characters, got {len(value)}",
                at,
            )
        elif (bad := _LABEL_FORBIDDEN.search(value)) is not None:
            self.error(
                INVALID_LABEL_NAME,
                f"Label {value!r} contains {bad.group()!r}; labels cannot contain whitespace, "
                'brackets, wildcards, control characters or any of " # % \\ ^ | ~ ` $ & , ; : /',
                at,
            )
        if value in self.labels:
            self.error(
                DUPLICATE_LABEL_NAME,
                f"Label {value!r} is already used at {pointer(*self.labels[value])}; Map labels "
                "must be unique within the state machine",
                at,
            )
        else:
            self.labels[value] = at
