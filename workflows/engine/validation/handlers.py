"""Retry and Catch: the error handlers of Task, Parallel and Map states.

Retriers' fields and ranges, catchers' targets and result fields, and
``ErrorEquals`` (``States.ALL`` alone and last).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Final

from workflows.engine.validation.checker import CheckedState, Parts
from workflows.engine.validation.codes import (
    INVALID_TYPE,
    INVALID_VALUE,
    MISSING_FIELD,
    QUERY_LANGUAGE_MISMATCH,
    STATES_ALL_NOT_ALONE,
    STATES_ALL_NOT_LAST,
    UNKNOWN_FIELD,
)
from workflows.engine.validation.expressions import ExpressionChecks
from workflows.engine.validation.json_values import is_int, is_number
from workflows.engine.validation.query_languages import JSONATA, JSONPATH
from workflows.engine.validation.transitions import TransitionChecks
from workflows.engine.validation.wording import did_you_mean, json_kind

STATES_ALL: Final = "States.ALL"

_RETRIER_FIELDS: Final = frozenset(
    {
        "ErrorEquals",
        "IntervalSeconds",
        "MaxAttempts",
        "BackoffRate",
        "MaxDelaySeconds",
        "JitterStrategy",
        "Comment",
    }
)
_CATCHER_FIELDS: Final = frozenset(
    {"ErrorEquals", "Next", "ResultPath", "Output", "Assign", "Comment"}
)

_MAX_INTERVAL: Final = 99_999_999
_MAX_ATTEMPTS: Final = 99_999_999
_MAX_DELAY: Final = 31_622_400


class HandlerChecks(ExpressionChecks, TransitionChecks):
    def handlers(
        self, s: CheckedState, field: str, what: str
    ) -> Iterator[tuple[dict[str, Any], Parts, bool]]:
        """Each object in ``s.body[field]`` (Retry or Catch), its location and if it is the last.

        A field that is not an array, and an item that is not an object, are reported here.
        """
        if field not in s.body:
            return
        items = s.body[field]
        at = (*s.at, field)
        if not isinstance(items, list):
            self.error(
                INVALID_TYPE, f"{field} must be an array of {what}s, not {json_kind(items)}", at
            )
            return
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                self.error(
                    INVALID_TYPE, f"a {what} must be an object, not {json_kind(item)}", (*at, i)
                )
                continue
            yield item, (*at, i), i == len(items) - 1

    def unknown_handler_field(self, key: str, fields: frozenset[str], what: str, at: Parts) -> None:
        self.error(
            UNKNOWN_FIELD,
            f"'{key}' is not a field of a {what}{did_you_mean(key, sorted(fields))}",
            (*at, key),
        )

    def retry(self, s: CheckedState) -> None:
        for retrier, rat, last in self.handlers(s, "Retry", "retrier"):
            for key in retrier:
                if key not in _RETRIER_FIELDS:
                    self.unknown_handler_field(key, _RETRIER_FIELDS, "retrier", rat)
            self.error_equals(retrier, rat, last=last, what="retrier")
            self.retrier_int(retrier, rat, "IntervalSeconds", 1, _MAX_INTERVAL)
            self.retrier_int(retrier, rat, "MaxAttempts", 0, _MAX_ATTEMPTS)
            self.retrier_int(retrier, rat, "MaxDelaySeconds", 1, _MAX_DELAY)
            if "BackoffRate" in retrier:
                rate = retrier["BackoffRate"]
                if self.placeholder(rate, (*rat, "BackoffRate"), "BackoffRate"):
                    pass
                elif not is_number(rate):
                    self.error(
                        INVALID_TYPE,
                        f"BackoffRate must be a number, not {json_kind(rate)}",
                        (*rat, "BackoffRate"),
                    )
                elif rate < 1.0:
                    self.error(
                        INVALID_VALUE,
                        f"BackoffRate must be at least 1.0, got {rate}",
                        (*rat, "BackoffRate"),
                    )
            if "JitterStrategy" in retrier and retrier["JitterStrategy"] not in ("FULL", "NONE"):
                self.error(
                    INVALID_VALUE,
                    'JitterStrategy must be "FULL" or "NONE", '
                    f"not {json_kind(retrier['JitterStrategy'])}",
                    (*rat, "JitterStrategy"),
                )
            if "Comment" in retrier and not isinstance(retrier["Comment"], str):
                self.error(INVALID_TYPE, "Comment must be a string", (*rat, "Comment"))

    def retrier_int(
        self, retrier: dict[str, Any], at: Parts, field: str, low: int, high: int
    ) -> None:
        if field not in retrier:
            return
        value = retrier[field]
        if self.placeholder(value, (*at, field), field):
            return
        if not is_int(value):
            self.error(
                INVALID_TYPE, f"{field} must be an integer, not {json_kind(value)}", (*at, field)
            )
        elif not low <= value <= high:
            self.error(
                INVALID_VALUE, f"{field} must be from {low} to {high}, got {value}", (*at, field)
            )

    def catch(self, s: CheckedState) -> None:
        for catcher, cat, last in self.handlers(s, "Catch", "catcher"):
            skip: set[str] = set()
            for key in catcher:
                if key not in _CATCHER_FIELDS:
                    skip.add(key)
                    self.unknown_handler_field(key, _CATCHER_FIELDS, "catcher", cat)
                elif s.language == JSONATA and key == "ResultPath":
                    skip.add(key)
                    self.error(
                        QUERY_LANGUAGE_MISMATCH,
                        f"ResultPath is a JSONPath field but state '{s.name}' uses JSONata; "
                        "use Output (with $states.errorOutput) or Assign",
                        (*cat, key),
                    )
                elif s.language == JSONPATH and key == "Output":
                    skip.add(key)
                    self.error(
                        QUERY_LANGUAGE_MISMATCH,
                        f"Output is a JSONata field but state '{s.name}' uses JSONPath; "
                        "use ResultPath",
                        (*cat, key),
                    )
            self.error_equals(catcher, cat, last=last, what="catcher")
            if "Next" not in catcher:
                self.error(MISSING_FIELD, "this catcher has no Next naming the state to go to", cat)
            else:
                self.target("Next", catcher["Next"], s, (*cat, "Next"))
            if (
                "ResultPath" in catcher
                and "ResultPath" not in skip
                and catcher["ResultPath"] is not None
            ):
                self.reference_path(catcher["ResultPath"], (*cat, "ResultPath"))
            if "Assign" in catcher:
                self.assign(catcher["Assign"], (*cat, "Assign"), s.language)
            if "Comment" in catcher and not isinstance(catcher["Comment"], str):
                self.error(INVALID_TYPE, "Comment must be a string", (*cat, "Comment"))

    def error_equals(self, handler: dict[str, Any], at: Parts, *, last: bool, what: str) -> None:
        if "ErrorEquals" not in handler:
            self.error(
                MISSING_FIELD,
                f"this {what} has no ErrorEquals listing the errors it handles "
                '(for example ["States.ALL"])',
                at,
            )
            return
        errors = handler["ErrorEquals"]
        eat = (*at, "ErrorEquals")
        if not isinstance(errors, list):
            self.error(
                INVALID_TYPE,
                f"ErrorEquals must be an array of error names, not {json_kind(errors)}",
                eat,
            )
            return
        if not errors:
            self.error(INVALID_VALUE, "ErrorEquals must name at least one error", eat)
            return
        for j, name in enumerate(errors):
            if not isinstance(name, str):
                self.error(
                    INVALID_TYPE,
                    f"an error name must be a string, not {json_kind(name)}",
                    (*eat, j),
                )
        if STATES_ALL in errors:
            if len(errors) > 1:
                self.error(
                    STATES_ALL_NOT_ALONE,
                    f"States.ALL must be the only error name in its ErrorEquals; this {what} "
                    "also lists other errors",
                    eat,
                )
            if not last:
                self.error(
                    STATES_ALL_NOT_LAST,
                    f"a {what} matching States.ALL must be the last one, since it matches every "
                    f"error and the {what}s after it could never run",
                    eat,
                )
