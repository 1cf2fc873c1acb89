"""The checks of the Choice state: its rules (JSONPath or JSONata) and Default.

A JSONPath rule is judged by compiling it with ``workflows.engine.choice``, the
code that evaluates it at run time.
"""

from __future__ import annotations

from typing import Any, Final

from workflows.engine.diagnostics import Diagnostic, pointer
from workflows.engine.validation.checker import CheckedState, Parts
from workflows.engine.validation.codes import (
    INVALID_CHOICE_RULE,
    INVALID_TYPE,
    INVALID_VALUE,
    MISSING_FIELD,
    QUERY_LANGUAGE_MISMATCH,
    UNKNOWN_FIELD,
)
from workflows.engine.validation.engine_parsers import choice_module
from workflows.engine.validation.expressions import ExpressionChecks
from workflows.engine.validation.json_values import is_jsonata
from workflows.engine.validation.query_languages import JSONATA
from workflows.engine.validation.transitions import TransitionChecks
from workflows.engine.validation.wording import json_kind

_JSONATA_RULE_FIELDS: Final = frozenset({"Condition", "Next", "Assign", "Output", "Comment"})


class ChoiceStateChecks(ExpressionChecks, TransitionChecks):
    def state_choice(self, s: CheckedState) -> None:
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

    def choice_rule(self, s: CheckedState, rule: Any, at: Parts) -> None:
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
        choice = choice_module()
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
        if type(condition) is not bool and not is_jsonata(condition):
            self.error(
                INVALID_TYPE,
                'Condition must be a JSONata expression "{% ... %}" or a boolean, '
                f"not {json_kind(condition)}",
                (*at, "Condition"),
            )


def _is_jsonpath_rule_key(key: str) -> bool:
    """A field of a JSONPath Choice rule: Variable, And/Or/Not or a comparison operator."""
    if key in ("Variable", "And", "Or", "Not"):
        return True
    choice = choice_module()
    if choice is None:  # pragma: no cover
        return key.startswith(("String", "Numeric", "Boolean", "Timestamp", "Is"))
    return key in choice.OPERATORS
