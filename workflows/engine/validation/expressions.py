"""Paths, payload templates and intrinsic calls, and the input/output fields that hold them.

``.$`` fields of Parameters, ResultSelector, Assign and ItemSelector, InputPath,
OutputPath, ResultPath, and the path fields of every state type go through these
checks; an intrinsic call is judged by compiling it with ``workflows.engine.intrinsics``.
"""

from __future__ import annotations

from typing import Any

from workflows.engine.paths import PathSyntaxError, compile_path, compile_reference_path
from workflows.engine.validation.checker import CheckedState, Checker, Parts
from workflows.engine.validation.codes import (
    INVALID_INTRINSIC_FUNCTION,
    INVALID_JSONPATH,
    INVALID_REFERENCE_PATH,
    INVALID_TYPE,
    NO_DOLLAR,
)
from workflows.engine.validation.engine_parsers import intrinsic_module
from workflows.engine.validation.json_values import is_jsonata, looks_like_expression
from workflows.engine.validation.placeholders import fill_placeholders, has_placeholder
from workflows.engine.validation.query_languages import JSONPATH
from workflows.engine.validation.wording import json_kind


class ExpressionChecks(Checker):
    def io(self, s: CheckedState) -> None:
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
            if not isinstance(value, dict) and not is_jsonata(value):
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
            elif looks_like_expression(item):
                self.warn(
                    NO_DOLLAR,
                    f"'{key}' holds {item!r}, which looks like a path or intrinsic function, "
                    f"but is passed as a literal string; name the field '{key}.$' to evaluate it",
                    (*at, key),
                )

    def placeholder_in_expression(self, value: Any, at: Parts, field: str) -> str | None:
        """A path or intrinsic holding a deployment placeholder: the text to check instead.

        A whole ``${Name}`` is noted and not checked (``None``); placeholders inside a
        path or intrinsic (``States.StringToJson('${Threshold}')``) are checked with a
        stand-in, as the surrounding syntax is known.
        """
        if not (self.placeholders and has_placeholder(value)):
            return value if isinstance(value, str) else None
        if self.placeholder(value, at, field):
            return None
        return fill_placeholders(value)

    def path(self, value: Any, at: Parts, field: str) -> bool:
        if isinstance(value, str):
            checked = self.placeholder_in_expression(value, at, field)
            if checked is None:
                return True
            value = checked
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
        if isinstance(value, str):
            checked = self.placeholder_in_expression(value, at, field)
            if checked is None:
                return
            value = checked
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
        checked = self.placeholder_in_expression(value, at, field)
        if checked is None:
            return
        value = checked
        intrinsics = intrinsic_module()
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
