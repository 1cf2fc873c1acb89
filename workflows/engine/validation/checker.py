"""The base every group of checks builds on: where diagnostics go, and the state at hand.

The validator is one class assembled from mixins, one per module (fields,
expressions, transitions, each state type, Retry and Catch); each mixin inherits
the ones whose checks it calls. ``Checker`` holds what they all share: the list of
diagnostics, the names and labels seen so far, reporting, and the field helpers
every state type uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from workflows.engine.diagnostics import Diagnostic, pointer
from workflows.engine.validation.codes import INVALID_TYPE, INVALID_VALUE, PLACEHOLDER_VALUE
from workflows.engine.validation.json_values import is_int, is_jsonata
from workflows.engine.validation.placeholders import is_whole_placeholder
from workflows.engine.validation.query_languages import JSONATA
from workflows.engine.validation.wording import json_kind

Parts = tuple[str | int, ...]


@dataclass(slots=True)
class CheckedState:
    """What the checks of one state need to know about it."""

    name: str
    body: dict[str, Any]
    at: Parts
    type: str
    language: str
    scope: dict[str, Any]  # the States object the state belongs to
    skip: set[str]  # fields already reported (wrong place or language): not checked further


class Checker:
    """Reporting, and the field helpers every group of checks uses."""

    def __init__(self, *, machine_type: str = "STANDARD", placeholders: bool = False) -> None:
        self.machine_type = machine_type  # STANDARD or EXPRESS: some resources are Standard-only
        self.placeholders = placeholders  # ${Name} values are deployment placeholders (notes)
        self.diagnostics: list[Diagnostic] = []
        self.scopes_of: dict[str, list[Parts]] = {}  # state name -> the States scopes using it
        self.labels: dict[str, Parts] = {}

    def error(self, code: str, message: str, at: Parts) -> None:
        self.diagnostics.append(Diagnostic(code, message, pointer(*at)))

    def warn(self, code: str, message: str, at: Parts) -> None:
        self.diagnostics.append(Diagnostic(code, message, pointer(*at), "WARNING"))

    def note(self, code: str, message: str, at: Parts) -> None:
        self.diagnostics.append(Diagnostic(code, message, pointer(*at), "NOTE"))

    def placeholder(self, value: Any, at: Parts, what: str) -> bool:
        """``value`` is a whole ``${Name}`` placeholder to accept as anything (with a note)."""
        if not (self.placeholders and is_whole_placeholder(value)):
            return False
        self.note(
            PLACEHOLDER_VALUE,
            f"{what} is the placeholder {value}, filled when the definition is deployed; "
            "accepted as any value (give it with --sub Name=value to check it)",
            at,
        )
        return True

    def has(self, s: CheckedState, key: str) -> bool:
        """``key`` is present and still worth checking."""
        return key in s.body and key not in s.skip

    def count(self, s: CheckedState, field: str, *, minimum: int) -> int | None:
        """An integer field with a lower bound (or, under JSONata, an expression)."""
        value = s.body[field]
        at = (*s.at, field)
        if s.language == JSONATA and is_jsonata(value):
            return None
        if self.placeholder(value, at, field):
            return None
        if not is_int(value):
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
