"""Validate an Amazon States Language definition the way AWS does before it runs one.

``validate_definition`` walks a definition (the parsed JSON object, or its text)
once and reports every problem it finds as a ``Diagnostic`` carrying a stable
``code`` and the JSON pointer of the offending field, like AWS
ValidateStateMachineDefinition. An empty list (or a list of warnings only) means
CreateStateMachine would accept the definition.

What is checked, in the top-level machine and in every Parallel branch and Map
ItemProcessor (or legacy Iterator):

- structure: required and unknown fields, JSON types, the fields each state type
  allows, the query language of each state and the fields only one language allows;
- transitions: ``Next``/``End``, ``StartAt``, Choice ``Default`` and rule targets,
  Catch targets, all inside their own ``States`` scope; unreachable states; a
  scope without any terminal state; state names (length, uniqueness);
- expressions: JSONPath and reference paths, ``.$`` fields of payload templates,
  intrinsic functions, Choice rules (``workflows.engine.choice``);
- per state type: Wait's single wait field and its timestamp, Task's Resource ARN
  and timeouts, Retry and Catch (``States.ALL`` alone and last), Map processor
  configuration, concurrency and failure tolerance, Fail's error and cause.

Codes: AWS's own codes where AWS documents one for the problem
(``MISSING_TRANSITION_TARGET``, ``INVALID_RESOURCE``, ``MISSING_END_STATE``,
``DUPLICATE_STATE_NAME``, ``INVALID_STATE_NAME``, ``INVALID_LABEL_NAME``,
``DUPLICATE_LABEL_NAME``, ``INVALID_JSON_DESCRIPTION``, ``MISSING_DESCRIPTION``,
and the warnings ``NO_DOLLAR``, ``NO_PATH``, ``PASS_RESULT_IS_STATIC``); where AWS
only says ``SCHEMA_VALIDATION_FAILED`` the code names the problem instead.

The rule for doubtful cases is: never reject what AWS accepts. Every definition of
the conformance suite (recorded against AWS) validates without an error.
"""

from __future__ import annotations

import difflib
import json
import re
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Final

from workflows.engine.diagnostics import Diagnostic, pointer
from workflows.engine.paths import PathSyntaxError, compile_path, compile_reference_path

__all__ = [
    "CONFLICTING_FIELDS",
    "DUPLICATE_LABEL_NAME",
    "DUPLICATE_STATE_NAME",
    "FIELD_NOT_ALLOWED",
    "HEARTBEAT_NOT_LESS_THAN_TIMEOUT",
    "INVALID_CHOICE_RULE",
    "INVALID_INTRINSIC_FUNCTION",
    "INVALID_JSONPATH",
    "INVALID_JSON_DESCRIPTION",
    "INVALID_LABEL_NAME",
    "INVALID_QUERY_LANGUAGE",
    "INVALID_REFERENCE_PATH",
    "INVALID_RESOURCE",
    "INVALID_STATE_NAME",
    "INVALID_STATE_TYPE",
    "INVALID_TIMESTAMP",
    "INVALID_TYPE",
    "INVALID_VALUE",
    "MISSING_DESCRIPTION",
    "MISSING_END_STATE",
    "MISSING_FIELD",
    "MISSING_NEXT_OR_END",
    "MISSING_TRANSITION_TARGET",
    "NO_DOLLAR",
    "NO_PATH",
    "PASS_RESULT_IS_STATIC",
    "QUERY_LANGUAGE_DOWNGRADE",
    "QUERY_LANGUAGE_MISMATCH",
    "STATES_ALL_NOT_ALONE",
    "STATES_ALL_NOT_LAST",
    "UNKNOWN_FIELD",
    "UNREACHABLE_STATE",
    "validate_definition",
]

# ------------------------------------------------------------------------- codes
# AWS's documented ValidateStateMachineDefinition codes.
MISSING_DESCRIPTION: Final = "MISSING_DESCRIPTION"
INVALID_JSON_DESCRIPTION: Final = "INVALID_JSON_DESCRIPTION"
INVALID_RESOURCE: Final = "INVALID_RESOURCE"
MISSING_END_STATE: Final = "MISSING_END_STATE"
DUPLICATE_STATE_NAME: Final = "DUPLICATE_STATE_NAME"
INVALID_STATE_NAME: Final = "INVALID_STATE_NAME"
DUPLICATE_LABEL_NAME: Final = "DUPLICATE_LABEL_NAME"
INVALID_LABEL_NAME: Final = "INVALID_LABEL_NAME"
MISSING_TRANSITION_TARGET: Final = "MISSING_TRANSITION_TARGET"
NO_DOLLAR: Final = "NO_DOLLAR"  # warning
NO_PATH: Final = "NO_PATH"  # warning
PASS_RESULT_IS_STATIC: Final = "PASS_RESULT_IS_STATIC"  # warning
# Problems AWS reports as SCHEMA_VALIDATION_FAILED, named precisely here.
INVALID_TYPE: Final = "INVALID_TYPE"  # a value of the wrong JSON type
INVALID_VALUE: Final = "INVALID_VALUE"  # the right type, a value out of range or not allowed
MISSING_FIELD: Final = "MISSING_FIELD"
UNKNOWN_FIELD: Final = "UNKNOWN_FIELD"  # a field ASL does not know at this place
FIELD_NOT_ALLOWED: Final = "FIELD_NOT_ALLOWED"  # an ASL field this state type does not accept
CONFLICTING_FIELDS: Final = "CONFLICTING_FIELDS"  # two fields of which only one may be given
INVALID_STATE_TYPE: Final = "INVALID_STATE_TYPE"
MISSING_NEXT_OR_END: Final = "MISSING_NEXT_OR_END"
UNREACHABLE_STATE: Final = "UNREACHABLE_STATE"
INVALID_QUERY_LANGUAGE: Final = "INVALID_QUERY_LANGUAGE"
QUERY_LANGUAGE_MISMATCH: Final = "QUERY_LANGUAGE_MISMATCH"
QUERY_LANGUAGE_DOWNGRADE: Final = "QUERY_LANGUAGE_DOWNGRADE"
INVALID_JSONPATH: Final = "INVALID_JSONPATH"
INVALID_REFERENCE_PATH: Final = "INVALID_REFERENCE_PATH"
INVALID_INTRINSIC_FUNCTION: Final = "INVALID_INTRINSIC_FUNCTION"
INVALID_CHOICE_RULE: Final = "INVALID_CHOICE_RULE"
INVALID_TIMESTAMP: Final = "INVALID_TIMESTAMP"
HEARTBEAT_NOT_LESS_THAN_TIMEOUT: Final = "HEARTBEAT_NOT_LESS_THAN_TIMEOUT"
STATES_ALL_NOT_ALONE: Final = "STATES_ALL_NOT_ALONE"
STATES_ALL_NOT_LAST: Final = "STATES_ALL_NOT_LAST"

# ------------------------------------------------------------------------ tables
JSONPATH: Final = "JSONPath"
JSONATA: Final = "JSONata"
_LANGUAGES: Final = (JSONPATH, JSONATA)
STATES_ALL: Final = "States.ALL"
MAX_STATE_NAME: Final = 80
MAX_LABEL: Final = 40

_TOP_LEVEL_FIELDS: Final = frozenset(
    {"Comment", "StartAt", "States", "Version", "TimeoutSeconds", "QueryLanguage"}
)
# A Parallel branch is a state machine of its own; AWS parses it with the top-level grammar.
_BRANCH_FIELDS: Final = _TOP_LEVEL_FIELDS
_PROCESSOR_FIELDS: Final = frozenset(
    {"Comment", "StartAt", "States", "ProcessorConfig", "QueryLanguage"}
)

_COMMON: Final = frozenset({"Type", "Comment", "QueryLanguage"})
_IO: Final = frozenset({"InputPath", "OutputPath", "Output"})
_FLOW: Final = frozenset({"Next", "End"})
_RESULT: Final = frozenset({"ResultSelector", "ResultPath"})
_ERRORS: Final = frozenset({"Retry", "Catch"})

_STATE_FIELDS: Final[dict[str, frozenset[str]]] = {
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
_STATE_TYPES: Final = tuple(_STATE_FIELDS)
_KNOWN_STATE_FIELDS: Final = frozenset().union(*_STATE_FIELDS.values())

_JSONPATH_ONLY: Final = frozenset(
    {
        "InputPath",
        "OutputPath",
        "Parameters",
        "ResultSelector",
        "ResultPath",
        "Result",
        "ItemsPath",
        "SecondsPath",
        "TimestampPath",
        "ErrorPath",
        "CausePath",
        "TimeoutSecondsPath",
        "HeartbeatSecondsPath",
        "MaxConcurrencyPath",
        "ToleratedFailureCountPath",
        "ToleratedFailurePercentagePath",
    }
)
_JSONATA_ONLY: Final = frozenset({"Arguments", "Output", "Items"})

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
_JSONATA_RULE_FIELDS: Final = frozenset({"Condition", "Next", "Assign", "Output", "Comment"})
_WAIT_FIELDS: Final = ("Seconds", "Timestamp", "SecondsPath", "TimestampPath")

_MAX_INTERVAL: Final = 99_999_999
_MAX_ATTEMPTS: Final = 99_999_999
_MAX_DELAY: Final = 31_622_400

# arn:partition:service:region:account:resource (states integrations leave region
# and account empty: arn:aws:states:::lambda:invoke).
_ARN: Final = re.compile(r"arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:(?:\d{12})?:\S+", re.ASCII)
_LABEL_FORBIDDEN: Final = re.compile(r"[\s<>{}\[\]?*\"#%\\^|~`$&,;:/\x00-\x1f\x7f-\x9f]")
_INTRINSIC_CALL: Final = re.compile(r"States\.[A-Za-z0-9]+\(")
_NAME_LIST_LIMIT: Final = 20

Parts = tuple[str | int, ...]


# ------------------------------------------------------------------------ helpers


def _is_int(value: Any) -> bool:
    return type(value) is int


def _is_number(value: Any) -> bool:
    return type(value) in (int, float)


def _is_jsonata(value: Any) -> bool:
    """A JSONata expression string: ``{% ... %}``."""
    return isinstance(value, str) and value.startswith("{%") and value.endswith("%}")


def json_kind(value: Any) -> str:
    """How a message names a JSON value: ``null``, ``a boolean``, ``the string 'x'``, ..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the string {value!r}" if len(value) <= 40 else "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _looks_like_expression(value: Any) -> bool:
    """A string that reads as a path or an intrinsic call (for NO_DOLLAR / NO_PATH)."""
    if not isinstance(value, str):
        return False
    return (
        value == "$"
        or value.startswith(("$.", "$[", "$$"))
        or _INTRINSIC_CALL.match(value) is not None
    )


def _did_you_mean(word: str, options: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` naming the option closest to ``word``, or ``""``."""
    close = difflib.get_close_matches(word, list(options), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _quoted(names: Iterable[str]) -> str:
    names = list(names)
    shown = ", ".join(names[:_NAME_LIST_LIMIT])
    if len(names) > _NAME_LIST_LIMIT:
        shown += f", ... ({len(names) - _NAME_LIST_LIMIT} more)"
    return shown or "(none)"


def _intrinsic_module() -> Any:
    """``workflows.engine.intrinsics`` if it is available (imported lazily)."""
    try:
        from workflows.engine import intrinsics
    except ImportError:  # pragma: no cover - only while the module is being written
        return None
    return intrinsics


def _choice_module() -> Any:
    try:
        from workflows.engine import choice
    except ImportError:  # pragma: no cover
        return None
    return choice


class _DuplicateKeys(dict[str, Any]):
    """A JSON object parsed from text that remembers which keys it saw twice."""

    duplicates: list[str]


def _pairs_hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = _DuplicateKeys()
    duplicates: list[str] = []
    for key, value in pairs:
        if key in result:
            duplicates.append(key)
        result[key] = value
    result.duplicates = duplicates
    return result


# ---------------------------------------------------------------------- validator


@dataclass(slots=True)
class _State:
    """What the checks of one state need to know about it."""

    name: str
    body: dict[str, Any]
    at: Parts
    type: str
    language: str
    scope: dict[str, Any]  # the States object the state belongs to
    skip: set[str]  # fields already reported (wrong place or language): not checked further


class _Validator:
    def __init__(self) -> None:
        self.diagnostics: list[Diagnostic] = []
        self.scopes_of: dict[str, list[Parts]] = {}  # state name -> the States scopes using it
        self.labels: dict[str, Parts] = {}

    # ----------------------------------------------------------------- reporting

    def error(self, code: str, message: str, at: Parts) -> None:
        self.diagnostics.append(Diagnostic(code, message, pointer(*at)))

    def warn(self, code: str, message: str, at: Parts) -> None:
        self.diagnostics.append(Diagnostic(code, message, pointer(*at), "WARNING"))

    # --------------------------------------------------------------- entry point

    def run(self, definition: Any) -> None:
        if isinstance(definition, str | bytes):
            try:
                text = definition.decode() if isinstance(definition, bytes) else definition
            except UnicodeDecodeError as exc:
                self.error(INVALID_JSON_DESCRIPTION, f"the definition is not UTF-8 text: {exc}", ())
                return
            if not text.strip():
                self.error(MISSING_DESCRIPTION, "the state machine definition is empty", ())
                return
            try:
                definition = json.loads(text, object_pairs_hook=_pairs_hook)
            except json.JSONDecodeError as exc:
                self.error(
                    INVALID_JSON_DESCRIPTION,
                    f"the definition is not valid JSON: {exc.msg} "
                    f"at line {exc.lineno} column {exc.colno}",
                    (),
                )
                return
        if definition is None:
            self.error(MISSING_DESCRIPTION, "the state machine definition is missing", ())
            return
        if not isinstance(definition, dict):
            self.error(
                INVALID_TYPE,
                f"a state machine definition must be a JSON object, not {json_kind(definition)}",
                (),
            )
            return
        self.collect_names(definition, ())
        self.machine(definition, (), _TOP_LEVEL_FIELDS, JSONPATH, "state machine")

    # ----------------------------------------------------------------- names

    def collect_names(self, machine: Any, at: Parts) -> None:
        """Record every state name with its scope, before checking (for hints and duplicates)."""
        if not isinstance(machine, dict):
            return
        states = machine.get("States")
        if not isinstance(states, dict):
            return
        for name, state in states.items():
            self.scopes_of.setdefault(name, []).append((*at, "States"))
            if not isinstance(state, dict):
                continue
            branches = state.get("Branches")
            if isinstance(branches, list):
                for i, branch in enumerate(branches):
                    self.collect_names(branch, (*at, "States", name, "Branches", i))
            for key in ("ItemProcessor", "Iterator"):
                self.collect_names(state.get(key), (*at, "States", name, key))

    # ----------------------------------------------------------------- machines

    def machine(
        self,
        machine: dict[str, Any],
        at: Parts,
        allowed: frozenset[str],
        language: str,
        what: str,
    ) -> None:
        """Check one state machine scope: the top level, a branch or an item processor."""
        for key, value in machine.items():
            if key not in allowed:
                self.error(
                    UNKNOWN_FIELD,
                    f"'{key}' is not a field of a {what}; allowed: {_quoted(sorted(allowed))}",
                    (*at, key),
                )
            elif key == "Comment" and not isinstance(value, str):
                self.error(
                    INVALID_TYPE, f"Comment must be a string, not {json_kind(value)}", (*at, key)
                )
        if "Version" in machine and not isinstance(machine["Version"], str):
            self.error(
                INVALID_TYPE,
                f'Version must be a string such as "1.0", not {json_kind(machine["Version"])}',
                (*at, "Version"),
            )
        if "TimeoutSeconds" in machine:
            value = machine["TimeoutSeconds"]
            if not _is_int(value):
                self.error(
                    INVALID_TYPE,
                    f"TimeoutSeconds must be an integer number of seconds, not {json_kind(value)}",
                    (*at, "TimeoutSeconds"),
                )
            elif value < 0:
                self.error(
                    INVALID_VALUE,
                    f"TimeoutSeconds must not be negative, got {value}",
                    (*at, "TimeoutSeconds"),
                )
        language = self.query_language(machine, at, language)

        states = machine.get("States")
        start = machine.get("StartAt")
        if "StartAt" not in machine:
            self.error(MISSING_FIELD, f"the {what} has no StartAt naming its first state", at)
        elif not isinstance(start, str):
            self.error(
                INVALID_TYPE,
                f"StartAt must be a state name, not {json_kind(start)}",
                (*at, "StartAt"),
            )
            start = None
        if "States" not in machine:
            self.error(MISSING_FIELD, f"the {what} has no States", at)
            return
        if not isinstance(states, dict):
            self.error(
                INVALID_TYPE,
                f"States must be an object mapping state names to states, not {json_kind(states)}",
                (*at, "States"),
            )
            return
        if not states:
            self.error(
                INVALID_VALUE, f"States of the {what} must hold at least one state", (*at, "States")
            )

        for name in getattr(states, "duplicates", ()):
            self.error(
                DUPLICATE_STATE_NAME,
                f"state '{name}' is defined twice in the same States object",
                (*at, "States", name),
            )
        if isinstance(start, str) and states and start not in states:
            self.unknown_target("StartAt", start, states, (*at, "States"), (*at, "StartAt"))

        for name, body in states.items():
            self.state(name, body, (*at, "States", name), states, language)

        self.graph(states, start if isinstance(start, str) else None, at, what)

    def query_language(self, obj: dict[str, Any], at: Parts, inherited: str) -> str:
        """The query language ``obj`` declares (checked), or the one it inherits."""
        if "QueryLanguage" not in obj:
            return inherited
        declared = obj["QueryLanguage"]
        if declared not in _LANGUAGES:
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

    def graph(self, states: dict[str, Any], start: str | None, at: Parts, what: str) -> None:
        """Unreachable states and the presence of a terminal state in one scope."""
        terminal = False
        for body in states.values():
            if isinstance(body, dict) and (
                body.get("Type") in ("Succeed", "Fail") or body.get("End") is True
            ):
                terminal = True
        if states and not terminal:
            self.error(
                MISSING_END_STATE,
                f'the {what} has no terminal state: no state has "End": true '
                "and there is no Succeed or Fail state, so an execution could never finish",
                (*at, "States"),
            )
        if start is None or start not in states:
            return
        seen = {start}
        queue = deque([start])
        while queue:
            body = states.get(queue.popleft())
            if not isinstance(body, dict):
                continue
            for target in _targets(body):
                if target in states and target not in seen:
                    seen.add(target)
                    queue.append(target)
        for name in states:
            if name not in seen:
                self.error(
                    UNREACHABLE_STATE,
                    f"state '{name}' is not reachable from StartAt '{start}': no Next, "
                    "Default, Choice rule or Catch leads to it",
                    (*at, "States", name),
                )

    def unknown_target(
        self, field: str, target: str, scope: dict[str, Any], scope_at: Parts, at: Parts
    ) -> None:
        message = f"{field} '{target}' names no state in this scope"
        elsewhere = [s for s in self.scopes_of.get(target, []) if s != scope_at]
        if elsewhere:
            message += (
                f" ('{target}' is defined in {pointer(*elsewhere[0])}; a transition cannot "
                "leave or enter a Parallel branch or a Map item processor)"
            )
        else:
            message += _did_you_mean(target, scope)
        message += f"; states are: {_quoted(scope)}"
        self.error(MISSING_TRANSITION_TARGET, message, at)

    def target(self, field: str, value: Any, s: _State, at: Parts) -> None:
        """A transition target (Next, Default, a rule's or catcher's Next) in the state's scope."""
        if not isinstance(value, str):
            self.error(INVALID_TYPE, f"{field} must be a state name, not {json_kind(value)}", at)
        elif value not in s.scope:
            self.unknown_target(field, value, s.scope, s.at[:-1], at)

    # ------------------------------------------------------------------- states

    def state(self, name: str, body: Any, at: Parts, scope: dict[str, Any], inherited: str) -> None:
        if not name or len(name) > MAX_STATE_NAME:
            self.error(
                INVALID_STATE_NAME,
                f"state name '{name[:30]}...' is {len(name)} characters long; state names "
                f"must be 1 to {MAX_STATE_NAME} characters"
                if name
                else "a state name must not be empty",
                at,
            )
        first = self.scopes_of.get(name, [])
        if len(first) > 1 and first[0] != at[:-1]:
            self.error(
                DUPLICATE_STATE_NAME,
                f"state name '{name}' is already used in {pointer(*first[0])}; state names "
                "must be unique across the whole state machine, branches and Map "
                "processors included",
                at,
            )
        if not isinstance(body, dict):
            self.error(
                INVALID_TYPE, f"state '{name}' must be a JSON object, not {json_kind(body)}", at
            )
            return
        type_ = body.get("Type")
        if "Type" not in body:
            self.error(
                MISSING_FIELD,
                f"state '{name}' has no Type; use one of {', '.join(_STATE_TYPES)}",
                at,
            )
            return
        if not isinstance(type_, str) or type_ not in _STATE_FIELDS:
            hint = _did_you_mean(type_, _STATE_TYPES) if isinstance(type_, str) else ""
            self.error(
                INVALID_STATE_TYPE,
                f"state '{name}' has Type {json_kind(type_)}{hint}; "
                f"the state types are {', '.join(_STATE_TYPES)}",
                (*at, "Type"),
            )
            return
        language = self.query_language(body, at, inherited)
        s = _State(name, body, at, str(type_), language, scope, set())
        self.fields(s)

        if "Comment" in body and not isinstance(body["Comment"], str):
            self.error(
                INVALID_TYPE,
                f"Comment must be a string, not {json_kind(body['Comment'])}",
                (*at, "Comment"),
            )
        self.io(s)
        if s.type in ("Pass", "Task", "Wait", "Parallel", "Map"):
            self.transition(s)
        _TYPE_CHECKS[s.type](self, s)
        if s.type in ("Task", "Parallel", "Map"):
            self.retry(s)
            self.catch(s)

    def fields(self, s: _State) -> None:
        """Fields the state type does not accept, and fields of the other query language."""
        allowed = _STATE_FIELDS[s.type]
        for key in s.body:
            if key not in allowed:
                s.skip.add(key)
                if key in _KNOWN_STATE_FIELDS:
                    owners = [t for t, fields in _STATE_FIELDS.items() if key in fields]
                    reason = _NOT_ALLOWED_HINTS.get((s.type, key)) or (
                        f"{key} belongs on {' and '.join(_join_types(owners))} states"
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
                        f"{_did_you_mean(key, sorted(allowed))}",
                        (*s.at, key),
                    )
            elif s.language == JSONATA and key in _JSONPATH_ONLY:
                s.skip.add(key)
                self.error(
                    QUERY_LANGUAGE_MISMATCH,
                    f"{key} is a JSONPath field but state '{s.name}' uses JSONata"
                    f"{_JSONATA_REPLACEMENTS.get(key, '')}",
                    (*s.at, key),
                )
            elif s.language == JSONPATH and key in _JSONATA_ONLY:
                s.skip.add(key)
                self.error(
                    QUERY_LANGUAGE_MISMATCH,
                    f"{key} is a JSONata field but state '{s.name}' uses JSONPath; set "
                    '"QueryLanguage": "JSONata" on the state or the state machine to use it',
                    (*s.at, key),
                )

    def has(self, s: _State, key: str) -> bool:
        """``key`` is present and still worth checking."""
        return key in s.body and key not in s.skip

    # ------------------------------------------------------------ input/output

    def io(self, s: _State) -> None:
        body, at = s.body, s.at
        for key in ("InputPath", "OutputPath"):
            if self.has(s, key) and body[key] is not None:
                self.path(body[key], (*at, key), key)
        if self.has(s, "ResultPath") and body["ResultPath"] is not None:
            self.reference_path(body["ResultPath"], (*at, "ResultPath"))
        for key in ("Parameters", "ResultSelector"):
            if self.has(s, key):
                self.template(body[key], (*at, key), key)
        if self.has(s, "Assign"):
            self.assign(body["Assign"], (*at, "Assign"), s.language)
        if self.has(s, "Arguments"):
            value = body["Arguments"]
            if not isinstance(value, dict) and not _is_jsonata(value):
                self.error(
                    INVALID_TYPE,
                    'Arguments must be an object or a JSONata expression "{% ... %}", '
                    f"not {json_kind(value)}",
                    (*at, "Arguments"),
                )

    def assign(self, value: Any, at: Parts, language: str) -> None:
        if not isinstance(value, dict):
            self.error(
                INVALID_TYPE,
                "Assign must be an object mapping variable names to values, "
                f"not {json_kind(value)}",
                at,
            )
        elif language == JSONPATH:
            self.template(value, at, "Assign")

    def template(self, value: Any, at: Parts, field: str) -> None:
        """A payload template: an object whose ``name.$`` fields hold a path or intrinsic."""
        if not isinstance(value, dict):
            self.error(INVALID_TYPE, f"{field} must be a JSON object, not {json_kind(value)}", at)
            return
        self.template_value(value, at)

    def template_value(self, value: Any, at: Parts) -> None:
        if isinstance(value, list):
            for i, item in enumerate(value):
                self.template_value(item, (*at, i))
            return
        if not isinstance(value, dict):
            return
        for key, item in value.items():
            if isinstance(key, str) and key.endswith(".$"):
                if not isinstance(item, str):
                    self.error(
                        INVALID_TYPE,
                        f"'{key}' ends in .$, so its value must be a path or an intrinsic "
                        f"function string, not {json_kind(item)}",
                        (*at, key),
                    )
                else:
                    self.expression(item, (*at, key), f"'{key}'")
            elif isinstance(item, dict | list):
                self.template_value(item, (*at, key))
            elif _looks_like_expression(item):
                self.warn(
                    NO_DOLLAR,
                    f"'{key}' holds {item!r}, which looks like a path or intrinsic function, "
                    f"but is passed as a literal string; name the field '{key}.$' to evaluate it",
                    (*at, key),
                )

    # --------------------------------------------------------------- expressions

    def path(self, value: Any, at: Parts, field: str) -> bool:
        if not isinstance(value, str):
            self.error(
                INVALID_TYPE, f"{field} must be a JSONPath string, not {json_kind(value)}", at
            )
            return False
        try:
            compile_path(value)
        except PathSyntaxError as exc:
            self.error(INVALID_JSONPATH, f"{field} is not a valid JSONPath: {exc}", at)
            return False
        return True

    def reference_path(self, value: Any, at: Parts, field: str = "ResultPath") -> None:
        if not isinstance(value, str):
            self.error(
                INVALID_TYPE,
                f"{field} must be a reference path string or null, not {json_kind(value)}",
                at,
            )
            return
        try:
            compile_reference_path(value)
        except PathSyntaxError as exc:
            self.error(
                INVALID_REFERENCE_PATH,
                f"{field} must be a reference path into the state input (names and "
                f"array indexes only, such as $.result or $.items[0]): {exc}",
                at,
            )

    def expression(self, value: str, at: Parts, field: str) -> None:
        """A path or an intrinsic function call (``.$`` fields, ErrorPath, CausePath, ...)."""
        intrinsics = _intrinsic_module()
        if intrinsics is not None:
            if intrinsics.is_intrinsic(value):
                try:
                    intrinsics.compile_intrinsic(value)
                except ValueError as exc:
                    self.error(
                        INVALID_INTRINSIC_FUNCTION,
                        f"{field} is not a valid intrinsic function call: {exc}",
                        at,
                    )
                return
        elif value.lstrip().startswith("States."):
            return  # intrinsics not available: no verdict rather than a wrong one
        if not value.startswith("$"):
            self.error(
                INVALID_JSONPATH,
                f"{field} must be a JSONPath (starting with $) or an intrinsic function such "
                f"as States.Format(...), not {value!r}",
                at,
            )
            return
        self.path(value, at, field)

    # --------------------------------------------------------------- transitions

    def transition(self, s: _State) -> None:
        body, at = s.body, s.at
        has_next = "Next" in body
        end = body.get("End")
        if "End" in body and type(end) is not bool:
            self.error(
                INVALID_TYPE, f"End must be true or false, not {json_kind(end)}", (*at, "End")
            )
        if has_next:
            self.target("Next", body["Next"], s, (*at, "Next"))
            if end is True:
                self.error(
                    CONFLICTING_FIELDS,
                    f"state '{s.name}' has both Next and \"End\": true; a state either "
                    "transitions or ends its scope, remove one of them",
                    (*at, "End"),
                )
        elif end is not True:
            self.error(
                MISSING_NEXT_OR_END,
                f"{s.type} state '{s.name}' has neither Next nor \"End\": true; add Next "
                'naming the following state, or "End": true if it is the last one',
                at,
            )

    # ------------------------------------------------------------- state types

    def state_pass(self, s: _State) -> None:
        if self.has(s, "Result") and _has_dollar_key(s.body["Result"]):
            self.warn(
                PASS_RESULT_IS_STATIC,
                "Result is used as is: its '.$' fields are not evaluated; use Parameters "
                "to build the output from paths",
                (*s.at, "Result"),
            )

    def state_succeed(self, s: _State) -> None:
        pass

    def state_fail(self, s: _State) -> None:
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
                elif s.language == JSONPATH and _looks_like_expression(value):
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

    def state_wait(self, s: _State) -> None:
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
            if s.language == JSONATA and _is_jsonata(value):
                pass
            elif not isinstance(value, str):
                self.error(INVALID_TYPE, f"Timestamp must be a string, not {json_kind(value)}", at)
            elif not _is_timestamp(value):
                self.error(
                    INVALID_TIMESTAMP,
                    f"Timestamp {value!r} is not an RFC 3339 timestamp such as "
                    "'2016-03-14T01:59:00Z' (uppercase T, and Z or an offset like +01:00)",
                    at,
                )
        for key in ("SecondsPath", "TimestampPath"):
            if self.has(s, key):
                self.path(s.body[key], (*s.at, key), key)

    def state_task(self, s: _State) -> None:
        body, at = s.body, s.at
        if "Resource" not in body:
            self.error(
                MISSING_FIELD,
                f"Task state '{s.name}' has no Resource (the ARN of the Lambda function, "
                "activity or service integration to run)",
                at,
            )
        else:
            resource = body["Resource"]
            if not isinstance(resource, str):
                self.error(
                    INVALID_RESOURCE,
                    f"Resource must be an ARN string, not {json_kind(resource)}",
                    (*at, "Resource"),
                )
            elif _ARN.fullmatch(resource) is None:
                hint = ""
                if "${" in resource:
                    hint = " (an unsubstituted DefinitionSubstitutions placeholder?)"
                self.error(
                    INVALID_RESOURCE,
                    f"Resource {resource!r} is not an ARN such as "
                    "'arn:aws:lambda:us-east-1:123456789012:function:Name' or "
                    f"'arn:aws:states:::lambda:invoke'{hint}",
                    (*at, "Resource"),
                )
        timeout = self.seconds_pair(s, "TimeoutSeconds")
        heartbeat = self.seconds_pair(s, "HeartbeatSeconds")
        if timeout is not None and heartbeat is not None and heartbeat >= timeout:
            self.error(
                HEARTBEAT_NOT_LESS_THAN_TIMEOUT,
                f"HeartbeatSeconds ({heartbeat}) must be less than TimeoutSeconds ({timeout})",
                (*at, "HeartbeatSeconds"),
            )
        if "Credentials" in body:
            credentials = body["Credentials"]
            if not isinstance(credentials, dict):
                self.error(
                    INVALID_TYPE,
                    "Credentials must be an object with RoleArn or RoleArnPath, "
                    f"not {json_kind(credentials)}",
                    (*at, "Credentials"),
                )
            elif "RoleArn" in credentials and "RoleArnPath" in credentials:
                self.error(
                    CONFLICTING_FIELDS,
                    "Credentials has both RoleArn and RoleArnPath; give one of them",
                    (*at, "Credentials", "RoleArnPath"),
                )
            elif isinstance(credentials.get("RoleArnPath"), str):
                self.expression(
                    credentials["RoleArnPath"], (*at, "Credentials", "RoleArnPath"), "RoleArnPath"
                )

    def seconds_pair(self, s: _State, field: str) -> int | None:
        """TimeoutSeconds/HeartbeatSeconds and their Path form; the literal value if given."""
        path = f"{field}Path"
        if self.has(s, field) and self.has(s, path):
            self.error(
                CONFLICTING_FIELDS,
                f"Task state '{s.name}' has both {field} and {path}; give one of them",
                (*s.at, path),
            )
        if self.has(s, path):
            self.path(s.body[path], (*s.at, path), path)
        if self.has(s, field):
            return self.count(s, field, minimum=1)
        return None

    def count(self, s: _State, field: str, *, minimum: int) -> int | None:
        """An integer field with a lower bound (or, under JSONata, an expression)."""
        value = s.body[field]
        at = (*s.at, field)
        if s.language == JSONATA and _is_jsonata(value):
            return None
        if not _is_int(value):
            alternative = ' or a JSONata expression "{% ... %}"' if s.language == JSONATA else ""
            self.error(
                INVALID_TYPE,
                f"{field} must be an integer{alternative}, not {json_kind(value)}",
                at,
            )
            return None
        if value < minimum:
            kind = "positive" if minimum == 1 else "non-negative"
            self.error(INVALID_VALUE, f"{field} must be a {kind} integer, got {value}", at)
            return None
        return int(value)

    def state_choice(self, s: _State) -> None:
        body, at = s.body, s.at
        if "Default" in body:
            self.target("Default", body["Default"], s, (*at, "Default"))
        if "Choices" not in body:
            self.error(
                MISSING_FIELD,
                f"Choice state '{s.name}' has no Choices; list at least one rule",
                at,
            )
            return
        choices = body["Choices"]
        if not isinstance(choices, list):
            self.error(
                INVALID_TYPE,
                f"Choices must be an array of rules, not {json_kind(choices)}",
                (*at, "Choices"),
            )
            return
        if not choices:
            self.error(
                INVALID_VALUE,
                f"Choices of state '{s.name}' is empty; a Choice state needs at least one rule",
                (*at, "Choices"),
            )
        for i, rule in enumerate(choices):
            self.choice_rule(s, rule, (*at, "Choices", i))

    def choice_rule(self, s: _State, rule: Any, at: Parts) -> None:
        if not isinstance(rule, dict):
            self.error(INVALID_TYPE, f"a Choice rule must be an object, not {json_kind(rule)}", at)
            return
        if "Next" not in rule:
            self.error(MISSING_FIELD, "this Choice rule has no Next naming the state to go to", at)
        else:
            self.target("Next", rule["Next"], s, (*at, "Next"))
        if "Assign" in rule:
            self.assign(rule["Assign"], (*at, "Assign"), s.language)
        if s.language == JSONATA:
            self.jsonata_rule(rule, at)
            return
        if "Condition" in rule:
            self.error(
                QUERY_LANGUAGE_MISMATCH,
                f"Condition is a JSONata field but state '{s.name}' uses JSONPath; use "
                'Variable with a comparison operator, or set "QueryLanguage": "JSONata"',
                (*at, "Condition"),
            )
            return
        if "Output" in rule:
            self.error(
                QUERY_LANGUAGE_MISMATCH,
                f"Output is a JSONata field but state '{s.name}' uses JSONPath",
                (*at, "Output"),
            )
            return
        choice = _choice_module()
        if choice is None:  # pragma: no cover - only while the module is being written
            return
        try:
            choice.compile_rule({k: v for k, v in rule.items() if k != "Next"})
        except choice.ChoiceRuleError as exc:
            location = getattr(exc, "location", "") or ""
            message = getattr(exc, "message", None) or str(exc)
            self.diagnostics.append(
                Diagnostic(
                    INVALID_CHOICE_RULE, f"invalid Choice rule: {message}", pointer(*at) + location
                )
            )

    def jsonata_rule(self, rule: dict[str, Any], at: Parts) -> None:
        jsonpath = [k for k in rule if k not in _JSONATA_RULE_FIELDS and _is_jsonpath_rule_key(k)]
        for key in rule:
            if key not in _JSONATA_RULE_FIELDS and not _is_jsonpath_rule_key(key):
                self.error(
                    UNKNOWN_FIELD, f"'{key}' is not a field of a JSONata Choice rule", (*at, key)
                )
        if jsonpath:
            self.error(
                QUERY_LANGUAGE_MISMATCH,
                f"this Choice rule is written for JSONPath ({', '.join(jsonpath)}) but the "
                'state uses JSONata; write the test as "Condition": "{% ... %}"',
                (*at, jsonpath[0]),
            )
            return
        if "Condition" not in rule:
            self.error(MISSING_FIELD, "this JSONata Choice rule has no Condition", at)
            return
        condition = rule["Condition"]
        if type(condition) is not bool and not _is_jsonata(condition):
            self.error(
                INVALID_TYPE,
                'Condition must be a JSONata expression "{% ... %}" or a boolean, '
                f"not {json_kind(condition)}",
                (*at, "Condition"),
            )

    def state_parallel(self, s: _State) -> None:
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
            self.machine(branch, (*at, i), _BRANCH_FIELDS, s.language, "Parallel branch")

    def state_map(self, s: _State) -> None:
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
            if not isinstance(value, list) and not _is_jsonata(value):
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
        if "Label" in body:
            self.label(body["Label"], (*at, "Label"))

    def map_limit(self, s: _State, field: str, minimum: int) -> None:
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

    def map_percentage(self, s: _State) -> None:
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
            if s.language == JSONATA and _is_jsonata(value):
                pass
            elif not _is_number(value):
                self.error(
                    INVALID_TYPE,
                    f"{field} must be a number from 0 to 100, not {json_kind(value)}",
                    at,
                )
            elif not 0 <= value <= 100:
                self.error(INVALID_VALUE, f"{field} must be from 0 to 100, got {value}", at)
        if self.has(s, path):
            self.path(s.body[path], (*s.at, path), path)

    def processor(self, s: _State, processor: Any, at: Parts) -> None:
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
                if "ExecutionType" in config and execution not in ("STANDARD", "EXPRESS"):
                    self.error(
                        INVALID_VALUE,
                        'ProcessorConfig ExecutionType must be "STANDARD" or "EXPRESS", '
                        f"not {json_kind(execution)}",
                        (*config_at, "ExecutionType"),
                    )
        self.machine(processor, at, _PROCESSOR_FIELDS, s.language, f"Map {at[-1]}")

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

    # ------------------------------------------------------------ retry, catch

    def handlers(
        self, s: _State, field: str, what: str
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
            f"'{key}' is not a field of a {what}{_did_you_mean(key, sorted(fields))}",
            (*at, key),
        )

    def retry(self, s: _State) -> None:
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
                if not _is_number(rate):
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
        if not _is_int(value):
            self.error(
                INVALID_TYPE, f"{field} must be an integer, not {json_kind(value)}", (*at, field)
            )
        elif not low <= value <= high:
            self.error(
                INVALID_VALUE, f"{field} must be from {low} to {high}, got {value}", (*at, field)
            )

    def catch(self, s: _State) -> None:
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


_TYPE_CHECKS: Final = {
    "Pass": _Validator.state_pass,
    "Task": _Validator.state_task,
    "Choice": _Validator.state_choice,
    "Wait": _Validator.state_wait,
    "Succeed": _Validator.state_succeed,
    "Fail": _Validator.state_fail,
    "Parallel": _Validator.state_parallel,
    "Map": _Validator.state_map,
}

# ------------------------------------------------------------------------ details

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

_JSONATA_REPLACEMENTS: Final[dict[str, str]] = {
    "InputPath": "; read the input through $states.input in Arguments or Output",
    "OutputPath": "; shape the output with Output",
    "Parameters": "; use Arguments",
    "ResultSelector": "; use Output with $states.result",
    "ResultPath": "; use Output or Assign",
    "Result": "; use Output",
    "ItemsPath": "; use Items",
}


def _join_types(types: list[str]) -> list[str]:
    if len(types) <= 2:
        return types
    return [", ".join(types[:-1]), types[-1]]


def _targets(body: dict[str, Any]) -> list[str]:
    """The states a state can move to: Next, Default, Choice rule and Catch targets."""
    targets: list[str] = []
    for key in ("Next", "Default"):
        if isinstance(body.get(key), str):
            targets.append(body[key])
    for key in ("Choices", "Catch"):
        items = body.get(key)
        if isinstance(items, list):
            targets.extend(
                item["Next"]
                for item in items
                if isinstance(item, dict) and isinstance(item.get("Next"), str)
            )
    return targets


def _has_dollar_key(value: Any) -> bool:
    if isinstance(value, dict):
        return any(
            (isinstance(k, str) and k.endswith(".$")) or _has_dollar_key(v)
            for k, v in value.items()
        )
    if isinstance(value, list):
        return any(_has_dollar_key(v) for v in value)
    return False


def _is_jsonpath_rule_key(key: str) -> bool:
    """A field of a JSONPath Choice rule: Variable, And/Or/Not or a comparison operator."""
    if key in ("Variable", "And", "Or", "Not"):
        return True
    choice = _choice_module()
    if choice is None:  # pragma: no cover
        return key.startswith(("String", "Numeric", "Boolean", "Timestamp", "Is"))
    return key in choice.OPERATORS


def _is_timestamp(text: str) -> bool:
    choice = _choice_module()
    if choice is None:  # pragma: no cover
        return True
    return bool(choice.parse_timestamp(text) is not None)


# ---------------------------------------------------------------------- interface


def validate_definition(definition: Any) -> list[Diagnostic]:
    """Every problem AWS would report for ``definition``; an empty list means it is valid.

    ``definition`` is the parsed JSON object; its JSON text is accepted too (and
    then duplicate state names within one ``States`` object are caught as well).
    Warnings (``severity == "WARNING"``) do not make a definition invalid.
    """
    validator = _Validator()
    validator.run(definition)
    diagnostics = validator.diagnostics
    if isinstance(definition, dict):
        # JSONata expressions and variable references (jsonata_validation.py)
        from workflows.engine.jsonata_validation import validate_jsonata

        seen = {(d.code, d.location) for d in diagnostics}
        diagnostics += [d for d in validate_jsonata(definition) if (d.code, d.location) not in seen]
    return diagnostics
