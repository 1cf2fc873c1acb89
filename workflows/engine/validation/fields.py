"""Which fields a state machine, a branch, a processor and each state type accept.

The tables are the ASL grammar of fields; ``FieldChecks`` reports a field out of
place (on the wrong state type, or of the other query language) with a hint of
where it belongs, and checks ``QueryLanguage`` declarations.
"""

from __future__ import annotations

from typing import Any, Final

from workflows.engine.validation.checker import CheckedState, Checker, Parts
from workflows.engine.validation.codes import (
    FIELD_NOT_ALLOWED,
    INVALID_QUERY_LANGUAGE,
    QUERY_LANGUAGE_DOWNGRADE,
    QUERY_LANGUAGE_MISMATCH,
    UNKNOWN_FIELD,
)
from workflows.engine.validation.query_languages import (
    JSONATA,
    JSONATA_ONLY,
    JSONATA_REPLACEMENTS,
    JSONPATH,
    JSONPATH_ONLY,
    LANGUAGES,
)
from workflows.engine.validation.wording import did_you_mean, join_types, json_kind

TOP_LEVEL_FIELDS: Final = frozenset(
    {"Comment", "StartAt", "States", "Version", "TimeoutSeconds", "QueryLanguage"}
)
# A Parallel branch is a state machine of its own; AWS parses it with the top-level grammar.
BRANCH_FIELDS: Final = TOP_LEVEL_FIELDS
PROCESSOR_FIELDS: Final = frozenset(
    {"Comment", "StartAt", "States", "ProcessorConfig", "QueryLanguage"}
)

_COMMON: Final = frozenset({"Type", "Comment", "QueryLanguage"})
_IO: Final = frozenset({"InputPath", "OutputPath", "Output"})
_FLOW: Final = frozenset({"Next", "End"})
_RESULT: Final = frozenset({"ResultSelector", "ResultPath"})
_ERRORS: Final = frozenset({"Retry", "Catch"})

STATE_FIELDS: Final[dict[str, frozenset[str]]] = {
    "Pass": _COMMON | _IO | _FLOW | {"Assign", "Parameters", "Result", "ResultPath"},
    "Task": _COMMON
    | _IO
    | _FLOW
    | _RESULT
    | _ERRORS
    | {
        "Assign",
        "Parameters",
        "Arguments",
        "Resource",
        "Credentials",
        "TimeoutSeconds",
        "TimeoutSecondsPath",
        "HeartbeatSeconds",
        "HeartbeatSecondsPath",
    },
    "Choice": _COMMON | _IO | {"Assign", "Choices", "Default"},
    "Wait": _COMMON
    | _IO
    | _FLOW
    | {"Assign", "Seconds", "SecondsPath", "Timestamp", "TimestampPath"},
    "Succeed": _COMMON | _IO,
    "Fail": _COMMON | {"Error", "ErrorPath", "Cause", "CausePath"},
    "Parallel": _COMMON
    | _IO
    | _FLOW
    | _RESULT
    | _ERRORS
    | {"Assign", "Parameters", "Arguments", "Branches"},
    "Map": _COMMON
    | _IO
    | _FLOW
    | _RESULT
    | _ERRORS
    | {
        "Assign",
        "ItemProcessor",
        "Iterator",
        "ItemsPath",
        "Items",
        "ItemSelector",
        "Parameters",
        "ItemReader",
        "ItemBatcher",
        "ResultWriter",
        "MaxConcurrency",
        "MaxConcurrencyPath",
        "ToleratedFailurePercentage",
        "ToleratedFailurePercentagePath",
        "ToleratedFailureCount",
        "ToleratedFailureCountPath",
        "Label",
    },
}
STATE_TYPES: Final = tuple(STATE_FIELDS)
_KNOWN_STATE_FIELDS: Final = frozenset().union(*STATE_FIELDS.values())

_NOT_ALLOWED_HINTS: Final[dict[tuple[str, str], str]] = {
    **{
        (t, f): f"a {t} state ends the execution (or its branch or iteration), so it has no {f}"
        for t in ("Succeed", "Fail")
        for f in ("Next", "End")
    },
    ("Choice", "Next"): "a Choice state moves on through its Choices rules and Default",
    (
        "Choice",
        "End",
    ): "a Choice state cannot end the execution; point a rule or Default at a Succeed state",
    ("Pass", "Resource"): "only Task states run a Resource; change the Type to Task",
}


class FieldChecks(Checker):
    def query_language(self, obj: dict[str, Any], at: Parts, inherited: str) -> str:
        """The query language ``obj`` declares (checked), or the one it inherits."""
        if "QueryLanguage" not in obj:
            return inherited
        declared = obj["QueryLanguage"]
        if declared not in LANGUAGES:
            self.error(
                INVALID_QUERY_LANGUAGE,
                f'QueryLanguage must be "JSONPath" or "JSONata", not {json_kind(declared)}',
                (*at, "QueryLanguage"),
            )
            return inherited
        if inherited == JSONATA and declared == JSONPATH:
            self.error(
                QUERY_LANGUAGE_DOWNGRADE,
                "QueryLanguage JSONPath is not allowed inside a JSONata scope: once the "
                "state machine (or an enclosing state) uses JSONata, nested states cannot "
                "go back to JSONPath",
                (*at, "QueryLanguage"),
            )
            return JSONATA
        return str(declared)

    def fields(self, s: CheckedState) -> None:
        """Fields the state type does not accept, and fields of the other query language."""
        allowed = STATE_FIELDS[s.type]
        for key in s.body:
            if key not in allowed:
                s.skip.add(key)
                if key in _KNOWN_STATE_FIELDS:
                    owners = [t for t, fields in STATE_FIELDS.items() if key in fields]
                    reason = _NOT_ALLOWED_HINTS.get((s.type, key)) or (
                        f"{key} belongs on {' and '.join(join_types(owners))} states"
                    )
                    self.error(
                        FIELD_NOT_ALLOWED,
                        f"{key} is not allowed on a {s.type} state ('{s.name}'): {reason}",
                        (*s.at, key),
                    )
                else:
                    self.error(
                        UNKNOWN_FIELD,
                        f"'{key}' is not a field of a {s.type} state"
                        f"{did_you_mean(key, sorted(allowed))}",
                        (*s.at, key),
                    )
            elif s.language == JSONATA and key in JSONPATH_ONLY:
                s.skip.add(key)
                self.error(
                    QUERY_LANGUAGE_MISMATCH,
                    f"{key} is a JSONPath field but state '{s.name}' uses JSONata"
                    f"{JSONATA_REPLACEMENTS.get(key, '')}",
                    (*s.at, key),
                )
            elif s.language == JSONPATH and key in JSONATA_ONLY:
                s.skip.add(key)
                self.error(
                    QUERY_LANGUAGE_MISMATCH,
                    f"{key} is a JSONata field but state '{s.name}' uses JSONPath; set "
                    '"QueryLanguage": "JSONata" on the state or the state machine to use it',
                    (*s.at, key),
                )
