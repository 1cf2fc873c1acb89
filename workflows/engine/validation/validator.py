"""The validator: one walk over the definition that runs every check of the package.

It parses a definition given as text (remembering duplicate keys), records every
state name with its scope, then checks each state machine scope (the top level,
every Parallel branch and Map processor) and each of its states, dispatching to
the checks of the state's type.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Final, Literal

from workflows.engine.diagnostics import Diagnostic, pointer
from workflows.engine.validation.checker import CheckedState, Parts
from workflows.engine.validation.choice_state import ChoiceStateChecks
from workflows.engine.validation.codes import (
    DUPLICATE_STATE_NAME,
    INVALID_JSON_DESCRIPTION,
    INVALID_STATE_NAME,
    INVALID_STATE_TYPE,
    INVALID_TYPE,
    INVALID_VALUE,
    MISSING_DESCRIPTION,
    MISSING_FIELD,
    UNKNOWN_FIELD,
)
from workflows.engine.validation.fields import (
    STATE_FIELDS,
    STATE_TYPES,
    TOP_LEVEL_FIELDS,
    FieldChecks,
)
from workflows.engine.validation.flow_states import FlowStateChecks
from workflows.engine.validation.handlers import HandlerChecks
from workflows.engine.validation.json_values import is_int
from workflows.engine.validation.parallel_and_map_states import ParallelAndMapStateChecks
from workflows.engine.validation.placeholders import quote_bare_placeholders
from workflows.engine.validation.query_languages import JSONPATH
from workflows.engine.validation.task_state import TaskStateChecks
from workflows.engine.validation.wording import did_you_mean, json_kind, quoted

MAX_STATE_NAME: Final = 80


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


class _Validator(
    FieldChecks,
    FlowStateChecks,
    TaskStateChecks,
    ChoiceStateChecks,
    ParallelAndMapStateChecks,
    HandlerChecks,
):
    parsed: Any = None  # the definition as a JSON value, once parsed

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
            if self.placeholders and "${" in text:
                # "TimeoutSeconds": ${Timeout} is filled with a JSON value at deployment:
                # read it as the string "${Timeout}", which the field's check then notes.
                text = quote_bare_placeholders(text)[0]
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
        self.parsed = definition
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
        self.machine(definition, (), TOP_LEVEL_FIELDS, JSONPATH, "state machine")

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
                    f"'{key}' is not a field of a {what}; allowed: {quoted(sorted(allowed))}",
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
            if self.placeholder(value, (*at, "TimeoutSeconds"), "TimeoutSeconds"):
                pass
            elif not is_int(value):
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
                f"state '{name}' has no Type; use one of {', '.join(STATE_TYPES)}",
                at,
            )
            return
        if not isinstance(type_, str) or type_ not in STATE_FIELDS:
            hint = did_you_mean(type_, STATE_TYPES) if isinstance(type_, str) else ""
            self.error(
                INVALID_STATE_TYPE,
                f"state '{name}' has Type {json_kind(type_)}{hint}; "
                f"the state types are {', '.join(STATE_TYPES)}",
                (*at, "Type"),
            )
            return
        language = self.query_language(body, at, inherited)
        s = CheckedState(name, body, at, str(type_), language, scope, set())
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


# The checks of each state type, defined by the mixin of that type.
_TYPE_CHECKS: Final[dict[str, Callable[[_Validator, CheckedState], None]]] = {
    "Pass": _Validator.state_pass,
    "Task": _Validator.state_task,
    "Choice": _Validator.state_choice,
    "Wait": _Validator.state_wait,
    "Succeed": _Validator.state_succeed,
    "Fail": _Validator.state_fail,
    "Parallel": _Validator.state_parallel,
    "Map": _Validator.state_map,
}


MachineType = Literal["STANDARD", "EXPRESS"]


def validate_definition(
    definition: Any,
    *,
    machine_type: MachineType = "STANDARD",
    placeholders: bool = False,
) -> list[Diagnostic]:
    """Every problem AWS would report for ``definition``; an empty list means it is valid.

    ``definition`` is the parsed JSON object; its JSON text is accepted too (and
    then duplicate state names within one ``States`` object are caught as well).
    ``machine_type`` is the workflow type it is created as: an EXPRESS workflow
    refuses activities and the ``.sync``/``.waitForTaskToken`` patterns.
    ``placeholders=True`` validates a file as kept beside infrastructure code, whose
    ``${Name}`` placeholders the deployment fills (``placeholders.py``); by default a
    definition is judged as AWS receives it, where ``${Name}`` is plain text.
    Warnings and notes (``severity`` ``"WARNING"``, ``"NOTE"``) do not make a
    definition invalid.
    """
    validator = _Validator(machine_type=machine_type, placeholders=placeholders)
    validator.run(definition)
    diagnostics = validator.diagnostics
    parsed = validator.parsed
    if isinstance(parsed, dict):
        # JSONata expressions and variable references (jsonata_validation.py)
        from workflows.engine.jsonata_validation import validate_jsonata

        seen = {(d.code, d.location) for d in diagnostics}
        diagnostics += [d for d in validate_jsonata(parsed) if (d.code, d.location) not in seen]
    return diagnostics
