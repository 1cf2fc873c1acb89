"""The checks of the Pass, Succeed, Fail and Wait states."""

from __future__ import annotations

from typing import Final

from workflows.engine.validation.checker import CheckedState
from workflows.engine.validation.codes import (
    CONFLICTING_FIELDS,
    INVALID_TIMESTAMP,
    INVALID_TYPE,
    MISSING_FIELD,
    NO_PATH,
    PASS_RESULT_IS_STATIC,
)
from workflows.engine.validation.engine_parsers import is_timestamp
from workflows.engine.validation.expressions import ExpressionChecks
from workflows.engine.validation.json_values import (
    has_dollar_key,
    is_jsonata,
    looks_like_expression,
)
from workflows.engine.validation.query_languages import JSONATA, JSONPATH
from workflows.engine.validation.wording import json_kind

_WAIT_FIELDS: Final = ("Seconds", "Timestamp", "SecondsPath", "TimestampPath")


class FlowStateChecks(ExpressionChecks):
    def state_pass(self, s: CheckedState) -> None:
        if self.has(s, "Result") and has_dollar_key(s.body["Result"]):
            self.warn(
                PASS_RESULT_IS_STATIC,
                "Result is used as is: its '.$' fields are not evaluated; use Parameters "
                "to build the output from paths",
                (*s.at, "Result"),
            )

    def state_succeed(self, s: CheckedState) -> None:
        pass

    def state_fail(self, s: CheckedState) -> None:
        for field in ("Error", "Cause"):
            path = f"{field}Path"
            if self.has(s, field) and self.has(s, path):
                self.error(
                    CONFLICTING_FIELDS,
                    f"Fail state '{s.name}' has both {field} and {path}; give one of them",
                    (*s.at, path),
                )
            if self.has(s, field):
                value = s.body[field]
                if not isinstance(value, str):
                    self.error(
                        INVALID_TYPE,
                        f"{field} must be a string, not {json_kind(value)}",
                        (*s.at, field),
                    )
                elif s.language == JSONPATH and looks_like_expression(value):
                    self.warn(
                        NO_PATH,
                        f"{field} {value!r} looks like a path but is used as literal text; "
                        f"use {path} to evaluate it",
                        (*s.at, field),
                    )
            if self.has(s, path):
                value = s.body[path]
                if not isinstance(value, str):
                    self.error(
                        INVALID_TYPE,
                        f"{path} must be a path or intrinsic function string, "
                        f"not {json_kind(value)}",
                        (*s.at, path),
                    )
                else:
                    self.expression(value, (*s.at, path), path)

    def state_wait(self, s: CheckedState) -> None:
        present = [k for k in _WAIT_FIELDS if self.has(s, k)]
        if not any(k in s.body for k in _WAIT_FIELDS):
            self.error(
                MISSING_FIELD,
                f"Wait state '{s.name}' needs exactly one of Seconds, Timestamp, SecondsPath "
                "or TimestampPath",
                s.at,
            )
        for extra in present[1:]:
            self.error(
                CONFLICTING_FIELDS,
                f"Wait state '{s.name}' has {present[0]} and {extra}; give exactly one of "
                "Seconds, Timestamp, SecondsPath or TimestampPath",
                (*s.at, extra),
            )
        if self.has(s, "Seconds"):
            self.count(s, "Seconds", minimum=0)
        if self.has(s, "Timestamp"):
            value = s.body["Timestamp"]
            at = (*s.at, "Timestamp")
            if (s.language == JSONATA and is_jsonata(value)) or self.placeholder(
                value, at, "Timestamp"
            ):
                pass
            elif not isinstance(value, str):
                self.error(INVALID_TYPE, f"Timestamp must be a string, not {json_kind(value)}", at)
            elif not is_timestamp(value):
                self.error(
                    INVALID_TIMESTAMP,
                    f"Timestamp {value!r} is not an RFC 3339 timestamp such as "
                    "'2016-03-14T01:59:00Z' (uppercase T, and Z or an offset like +01:00)",
                    at,
                )
        for key in ("SecondsPath", "TimestampPath"):
            if self.has(s, key):
                self.path(s.body[key], (*s.at, key), key)
