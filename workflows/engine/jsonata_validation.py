"""Static checks for JSONata states and workflow variables, as AWS validates them.

``validate_jsonata(definition)`` returns one ``Diagnostic`` per problem (all of
them, not the first), each with the JSON pointer of the offending field:

- ``INVALID_JSONATA``: a ``{% %}`` expression that does not parse (JSONata's code
  and message are in the text), or an empty one.
- ``ILLEGAL_JSONATA_REFERENCE``: ``$`` or ``$$`` at the top level of an expression
  (a JSONata state has no implicit input: use ``$states.input``).
- ``UNDEFINED_VARIABLE`` (a WARNING: AWS accepts the definition): ``$name`` in an
  expression or a JSONPath path, where no state of the same or an enclosing scope
  assigns ``name`` (a distributed Map's processor cannot see outer variables). At
  run time the reference fails only when evaluated, with ``States.QueryEvaluationError``
  ("The JSONata expression '$name' specified for the field 'Output' returned nothing
  (undefined).").
- ``INVALID_VARIABLE_NAME``: an Assign key that is not an identifier, is longer
  than 80 characters, or is the reserved ``states``.
- ``QUERY_LANGUAGE_MISMATCH``: a JSONPath-only field (InputPath, Parameters,
  ResultPath, ``.$`` keys, ...) in a JSONata state, or a JSONata-only field
  (Arguments, Output, Items, Condition) in a JSONPath state.
- ``FIELD_NOT_ALLOWED``: Assign where AWS has none (Succeed, Fail, inside And/Or/Not).
- ``INVALID_TYPE``: a JSONata field whose value can be neither its JSON type nor an
  expression (``"TimeoutSeconds": "10"``, ``"Items": 3``, ``"Condition": "yes"``).

Some of these overlap ``validation.validate_definition`` (the language-mismatch
and not-allowed checks use the same codes, imported from it, and locations), so a
caller merging both lists can drop duplicates by ``(code, location)``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from typing import Any, Final

from workflows.engine.diagnostics import Diagnostic, pointer
from workflows.engine.jsonata_expr import (
    FUNCTION_NAMES,
    JsonataSyntaxError,
    compile_expression,
    expression_text,
    is_expression,
    load_jsonata,
    referenced_variables,
)
from workflows.engine.validation.codes import (
    FIELD_NOT_ALLOWED,
    INVALID_TYPE,
    QUERY_LANGUAGE_MISMATCH,
)
from workflows.engine.validation.query_languages import JSONATA, JSONPATH
from workflows.engine.validation.wording import json_kind

__all__ = ["validate_jsonata"]

INVALID_JSONATA: Final = "INVALID_JSONATA"
ILLEGAL_JSONATA_REFERENCE: Final = "ILLEGAL_JSONATA_REFERENCE"
UNDEFINED_VARIABLE: Final = "UNDEFINED_VARIABLE"
INVALID_VARIABLE_NAME: Final = "INVALID_VARIABLE_NAME"

MAX_VARIABLE_NAME: Final = 80

# AWS creates such definitions (a variable may be assigned on another path, or the
# reference never evaluated); the reference fails only when it is evaluated.
_UNDEFINED_AT_RUN_TIME: Final = (
    " (a warning: AWS accepts the definition, and reading the variable before any "
    "state assigns it fails the execution at run time)"
)

_VARIABLE_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_JSONPATH_VARIABLE: Final = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
_STRING_LITERAL: Final = re.compile(r"'(?:\\.|[^'\\])*'|\"(?:\\.|[^\"\\])*\"")
# ``$name(`` is a call: AWS resolves function names when the expression runs
_FUNCTION_CALL: Final = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)\s*\(")

_JSONPATH_ONLY: Final = (
    "InputPath",
    "OutputPath",
    "Parameters",
    "ResultSelector",
    "ResultPath",
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
)
_JSONATA_ONLY: Final = ("Arguments", "Output", "Items")
_NO_ASSIGN: Final = ("Succeed", "Fail")
# JSONata fields holding a number, or an expression giving one
_NUMBER_FIELDS: Final = (
    "TimeoutSeconds",
    "HeartbeatSeconds",
    "Seconds",
    "MaxConcurrency",
    "ToleratedFailureCount",
    "ToleratedFailurePercentage",
)
_JSONPATH_PATH_FIELDS: Final = (
    "InputPath",
    "OutputPath",
    "ItemsPath",
    "SecondsPath",
    "TimestampPath",
    "TimeoutSecondsPath",
    "HeartbeatSecondsPath",
    "MaxConcurrencyPath",
    "ToleratedFailureCountPath",
    "ToleratedFailurePercentagePath",
    "ErrorPath",
    "CausePath",
)
_CHOICE_BOOLEAN: Final = ("And", "Or", "Not")


@functools.cache
def _builtin_functions() -> frozenset[str]:
    """Names JSONata defines (asked of the library when a definition first has JSONata)."""
    try:
        frame = load_jsonata().Jsonata.static_frame
        names = set(frame.bindings) if frame is not None else set()
    except Exception:  # pragma: no cover - the library's layout changed
        names = set()
    return frozenset(names | FUNCTION_NAMES | {"states"})


Parts = tuple[str | int, ...]


class _Scope:
    """The variables one machine (top level, branch or processor) can read."""

    def __init__(self, names: set[str], parent: _Scope | None) -> None:
        self.names = names
        self.parent = parent

    def defines(self, name: str) -> bool:
        scope: _Scope | None = self
        while scope is not None:
            if name in scope.names:
                return True
            scope = scope.parent
        return False


def _assign_names(assign: Any, jsonpath: bool) -> Iterator[str]:
    if isinstance(assign, dict):
        for key in assign:
            if isinstance(key, str):
                yield key[:-2] if jsonpath and key.endswith(".$") else key


def _assigned_in(states: Any, language: str) -> set[str]:
    """Every variable name an Assign of these states (and their Catch/Choice rules) sets."""
    names: set[str] = set()
    if not isinstance(states, dict):
        return names
    for spec in states.values():
        if not isinstance(spec, dict):
            continue
        jsonpath = spec.get("QueryLanguage", language) == JSONPATH
        names.update(_assign_names(spec.get("Assign"), jsonpath))
        for key in ("Catch", "Choices"):
            rules = spec.get(key)
            if isinstance(rules, list):
                for rule in rules:
                    if isinstance(rule, dict):
                        names.update(_assign_names(rule.get("Assign"), jsonpath))
    return names


class _Checker:
    def __init__(self) -> None:
        self.diagnostics: list[Diagnostic] = []

    def error(self, code: str, message: str, at: Parts) -> None:
        self.diagnostics.append(Diagnostic(code, message, pointer(*at)))

    def warn(self, code: str, message: str, at: Parts) -> None:
        self.diagnostics.append(Diagnostic(code, message, pointer(*at), "WARNING"))

    # ------------------------------------------------------------------ machines

    def machine(self, machine: Any, at: Parts, language: str, parent: _Scope | None) -> None:
        if not isinstance(machine, dict):
            return
        declared = machine.get("QueryLanguage")
        if declared in (JSONATA, JSONPATH):
            language = declared
        states = machine.get("States")
        if not isinstance(states, dict):
            return
        scope = _Scope(_assigned_in(states, language), parent)
        for name, spec in states.items():
            if isinstance(spec, dict):
                self.state(str(name), spec, (*at, "States", name), language, scope)

    def state(
        self, name: str, spec: dict[str, Any], at: Parts, language: str, scope: _Scope
    ) -> None:
        declared = spec.get("QueryLanguage")
        if declared in (JSONATA, JSONPATH):
            language = declared
        kind = spec.get("Type")
        jsonata = language == JSONATA
        if "Assign" in spec:
            if kind in _NO_ASSIGN:
                self.error(
                    FIELD_NOT_ALLOWED,
                    f"Assign is not allowed on a {kind} state ('{name}'): a {kind} state "
                    "ends its branch, so nothing could read the variables",
                    (*at, "Assign"),
                )
            else:
                self.assign(spec["Assign"], (*at, "Assign"), jsonata, scope)
        if jsonata:
            self.jsonata_state(name, spec, at, scope)
        else:
            self.jsonpath_state(name, spec, at, scope)
        for i, catcher in enumerate(_list(spec.get("Catch"))):
            if isinstance(catcher, dict):
                self.catcher(catcher, (*at, "Catch", i), jsonata, scope)
        if kind == "Choice":
            for i, rule in enumerate(_list(spec.get("Choices"))):
                if isinstance(rule, dict):
                    self.choice_rule(name, rule, (*at, "Choices", i), jsonata, scope, True)
        if kind == "Parallel":
            for i, branch in enumerate(_list(spec.get("Branches"))):
                self.machine(branch, (*at, "Branches", i), language, scope)
        if kind == "Map":
            key = "ItemProcessor" if "ItemProcessor" in spec else "Iterator"
            processor = spec.get(key)
            distributed = (
                isinstance(processor, dict)
                and isinstance(processor.get("ProcessorConfig"), dict)
                and processor["ProcessorConfig"].get("Mode") == "DISTRIBUTED"
            )
            self.machine(processor, (*at, key), language, None if distributed else scope)

    def jsonata_state(self, name: str, spec: dict[str, Any], at: Parts, scope: _Scope) -> None:
        for key in _JSONPATH_ONLY:
            if key in spec:
                self.error(
                    QUERY_LANGUAGE_MISMATCH,
                    f"{key} is a JSONPath field, but state '{name}' uses JSONata "
                    "(use Arguments, Output and $states instead)",
                    (*at, key),
                )
        if "Result" in spec and spec.get("Type") == "Pass":
            self.error(
                QUERY_LANGUAGE_MISMATCH,
                f"Result is a JSONPath field, but state '{name}' uses JSONata (use Output)",
                (*at, "Result"),
            )
        for key in ("Arguments", "Output", "ItemSelector"):
            if key in spec:
                self.jsonata_value(spec[key], (*at, key), scope)
        for key in _NUMBER_FIELDS:
            if key in spec:
                value = spec[key]
                if is_expression(value):
                    self.expression(value, (*at, key), scope)
                elif isinstance(value, bool) or not isinstance(value, int | float):
                    self.error(
                        INVALID_TYPE,
                        f'{key} must be a number or a JSONata expression "{{% ... %}}", '
                        f"not {json_kind(value)}",
                        (*at, key),
                    )
        if "Items" in spec:
            value = spec["Items"]
            if is_expression(value):
                self.expression(value, (*at, "Items"), scope)
            elif isinstance(value, list):
                self.jsonata_value(value, (*at, "Items"), scope)
            else:
                self.error(
                    INVALID_TYPE,
                    f'Items must be an array or a JSONata expression "{{% ... %}}", '
                    f"not {json_kind(value)}",
                    (*at, "Items"),
                )
        for key in ("Timestamp", "Error", "Cause"):
            if key in spec:
                value = spec[key]
                if is_expression(value):
                    self.expression(value, (*at, key), scope)
                elif not isinstance(value, str):
                    self.error(
                        INVALID_TYPE,
                        f"{key} must be a string or a JSONata expression, not {json_kind(value)}",
                        (*at, key),
                    )

    def jsonpath_state(self, name: str, spec: dict[str, Any], at: Parts, scope: _Scope) -> None:
        for key in _JSONATA_ONLY:
            if key in spec:
                self.error(
                    QUERY_LANGUAGE_MISMATCH,
                    f"{key} is a JSONata field, but state '{name}' uses JSONPath; set "
                    '"QueryLanguage": "JSONata" on the state or the state machine to use it',
                    (*at, key),
                )
        for key in _JSONPATH_PATH_FIELDS:
            value = spec.get(key)
            if isinstance(value, str):
                self.jsonpath_text(value, (*at, key), scope)
        for key in ("Parameters", "ResultSelector", "ItemSelector"):
            if key in spec:
                self.payload(spec[key], (*at, key), scope)

    # -------------------------------------------------------- Assign, Catch, Choice

    def assign(self, assign: Any, at: Parts, jsonata: bool, scope: _Scope) -> None:
        if not isinstance(assign, dict):
            self.error(
                INVALID_TYPE,
                f"Assign must be an object mapping variable names to values, "
                f"not {json_kind(assign)}",
                at,
            )
            return
        for key, value in assign.items():
            name = key
            if not jsonata and key.endswith(".$"):
                name = key[:-2]
                if isinstance(value, str):
                    self.jsonpath_text(value, (*at, key), scope)
            elif jsonata and key.endswith(".$"):
                self.error(
                    QUERY_LANGUAGE_MISMATCH,
                    f"'{key}' is a JSONPath key (ending in .$) in a JSONata state; write the "
                    'value as a JSONata expression "{% ... %}" under the plain name',
                    (*at, key),
                )
                continue
            if name == "states":
                self.error(
                    INVALID_VARIABLE_NAME,
                    "'states' is reserved for the $states variable and cannot be assigned",
                    (*at, key),
                )
            elif len(name) > MAX_VARIABLE_NAME or not _VARIABLE_NAME.match(name):
                self.error(
                    INVALID_VARIABLE_NAME,
                    f"'{name}' is not a valid variable name: use letters, digits and "
                    f"underscores, not starting with a digit, at most {MAX_VARIABLE_NAME} "
                    "characters",
                    (*at, key),
                )
            if jsonata:
                self.jsonata_value(value, (*at, key), scope)
            elif not key.endswith(".$"):
                self.payload(value, (*at, key), scope)

    def catcher(self, catcher: dict[str, Any], at: Parts, jsonata: bool, scope: _Scope) -> None:
        if "Assign" in catcher:
            self.assign(catcher["Assign"], (*at, "Assign"), jsonata, scope)
        if jsonata:
            if "ResultPath" in catcher:
                self.error(
                    QUERY_LANGUAGE_MISMATCH,
                    "ResultPath is a JSONPath field of a Catch; in a JSONata state use Output "
                    "with $states.errorOutput",
                    (*at, "ResultPath"),
                )
            if "Output" in catcher:
                self.jsonata_value(catcher["Output"], (*at, "Output"), scope)
        elif "Output" in catcher:
            self.error(
                QUERY_LANGUAGE_MISMATCH,
                "Output is a JSONata field of a Catch; in a JSONPath state use ResultPath",
                (*at, "Output"),
            )

    def choice_rule(
        self, name: str, rule: dict[str, Any], at: Parts, jsonata: bool, scope: _Scope, top: bool
    ) -> None:
        if not top and "Assign" in rule:
            self.error(
                FIELD_NOT_ALLOWED,
                "Assign is only allowed in a top-level Choice rule, not inside And, Or or Not",
                (*at, "Assign"),
            )
        elif top and "Assign" in rule:
            self.assign(rule["Assign"], (*at, "Assign"), jsonata, scope)
        if jsonata:
            if "Condition" in rule:
                condition = rule["Condition"]
                if is_expression(condition):
                    self.expression(condition, (*at, "Condition"), scope)
                elif type(condition) is not bool:
                    self.error(
                        INVALID_TYPE,
                        'Condition must be a boolean or a JSONata expression "{% ... %}", '
                        f"not {json_kind(condition)}",
                        (*at, "Condition"),
                    )
            if "Output" in rule:
                self.jsonata_value(rule["Output"], (*at, "Output"), scope)
            return
        for key in ("Condition", "Output"):
            if key in rule:
                self.error(
                    QUERY_LANGUAGE_MISMATCH,
                    f"{key} is a JSONata field, but Choice state '{name}' uses JSONPath",
                    (*at, key),
                )
        variable = rule.get("Variable")
        if isinstance(variable, str):
            self.jsonpath_text(variable, (*at, "Variable"), scope)
        for key, value in rule.items():
            if key.endswith("Path") and isinstance(value, str):
                self.jsonpath_text(value, (*at, key), scope)
        for key in _CHOICE_BOOLEAN:
            inner = rule.get(key)
            if isinstance(inner, dict):
                self.choice_rule(name, inner, (*at, key), jsonata, scope, False)
            elif isinstance(inner, list):
                for i, item in enumerate(inner):
                    if isinstance(item, dict):
                        self.choice_rule(name, item, (*at, key, i), jsonata, scope, False)

    # ------------------------------------------------------------------- values

    def jsonata_value(self, value: Any, at: Parts, scope: _Scope) -> None:
        """A JSON value of a JSONata state: check every ``{% %}`` string inside."""
        if isinstance(value, str):
            if is_expression(value):
                self.expression(value, at, scope)
        elif isinstance(value, dict):
            for key, item in value.items():
                if isinstance(key, str) and key.endswith(".$"):
                    self.error(
                        QUERY_LANGUAGE_MISMATCH,
                        f"'{key}' is a JSONPath key (ending in .$) in a JSONata state; write "
                        'the value as a JSONata expression "{% ... %}" under the plain name',
                        (*at, key),
                    )
                self.jsonata_value(item, (*at, key), scope)
        elif isinstance(value, list):
            for i, item in enumerate(value):
                self.jsonata_value(item, (*at, i), scope)

    def expression(self, source: str, at: Parts, scope: _Scope) -> None:
        text = expression_text(source)
        if not text:
            self.error(INVALID_JSONATA, "the JSONata expression is empty: {% %}", at)
            return
        try:
            compiled = compile_expression(source)
        except JsonataSyntaxError as exc:
            self.error(
                INVALID_JSONATA,
                f"the JSONata expression '{text}' is not valid: {exc.code}: {exc.message} "
                f"(at position {exc.position})",
                at,
            )
            return
        names, bare = referenced_variables(text)
        names -= set(_FUNCTION_CALL.findall(_STRING_LITERAL.sub("''", text)))
        if bare and _root_reference(compiled):
            self.error(
                ILLEGAL_JSONATA_REFERENCE,
                f"the JSONata expression '{text}' uses $ or $$ at its top level; a JSONata "
                "state has no implicit input: use $states.input (and $states.context)",
                at,
            )
        for name in sorted(names - _builtin_functions()):
            if not scope.defines(name):
                self.warn(
                    UNDEFINED_VARIABLE,
                    f"the JSONata expression '{text}' references ${name}, but no state in "
                    f"this scope or an enclosing one assigns it{_UNDEFINED_AT_RUN_TIME}",
                    at,
                )

    def jsonpath_text(self, text: str, at: Parts, scope: _Scope) -> None:
        """A JSONPath path or intrinsic call: its ``$name`` roots must be assigned."""
        if text.startswith("States."):
            body = _STRING_LITERAL.sub("''", text)
            candidates = _JSONPATH_VARIABLE.findall(body)
        elif text.startswith("$") and not text.startswith("$$"):
            match = _JSONPATH_VARIABLE.match(text)
            candidates = [match.group(1)] if match else []
        else:
            candidates = []
        for name in candidates:
            if not scope.defines(name):
                self.warn(
                    UNDEFINED_VARIABLE,
                    f"the path '{text}' reads the variable ${name}, but no state in this "
                    f"scope or an enclosing one assigns it{_UNDEFINED_AT_RUN_TIME}",
                    at,
                )

    def payload(self, value: Any, at: Parts, scope: _Scope) -> None:
        """A JSONPath payload template: ``.$`` values may read variables."""
        if isinstance(value, dict):
            for key, item in value.items():
                if isinstance(key, str) and key.endswith(".$") and isinstance(item, str):
                    self.jsonpath_text(item, (*at, key), scope)
                else:
                    self.payload(item, (*at, key), scope)
        elif isinstance(value, list):
            for i, item in enumerate(value):
                self.payload(item, (*at, i), scope)


def _root_reference(compiled: Any) -> bool:
    """Whether the expression reads ``$`` or ``$$`` outside any predicate, map or lambda."""
    ast = getattr(compiled, "_jsonata", None)
    node = getattr(ast, "ast", None)
    return _has_root(node) if node is not None else True


def _has_root(node: Any) -> bool:
    if node is None:
        return False
    kind = getattr(node, "type", None)
    if kind == "variable" and node.value in ("", "$"):
        return True
    if kind == "path":
        steps = node.steps or []
        return bool(steps) and _has_root(steps[0])
    if kind in ("binary", "condition", "bind"):
        return any(
            _has_root(getattr(node, attr, None))
            for attr in ("lhs", "rhs", "condition", "then", "_else")
        )
    if kind == "unary":
        expression = getattr(node, "expression", None)
        if _has_root(expression):
            return True
        for item in getattr(node, "expressions", None) or []:
            if _has_root(item):
                return True
        for pair in getattr(node, "lhs_object", None) or []:
            items = pair if isinstance(pair, list | tuple) else [pair]
            if any(_has_root(item) for item in items):
                return True
        return False
    if kind == "block":
        return any(_has_root(item) for item in (node.expressions or []))
    if kind in ("function", "partial"):
        return any(_has_root(item) for item in (node.arguments or []))
    return False


def validate_jsonata(definition: Any) -> list[Diagnostic]:
    """Every JSONata and Variables problem of ``definition`` (see the module docstring)."""
    if not isinstance(definition, dict):
        return []
    checker = _Checker()
    language = definition.get("QueryLanguage", JSONPATH)
    checker.machine(definition, (), language if language in (JSONATA, JSONPATH) else JSONPATH, None)
    return checker.diagnostics


def _list(value: Any) -> list[Any]:
    """A field that should be an array; the validation package reports other shapes."""
    return value if isinstance(value, list) else []
