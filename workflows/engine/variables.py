"""Workflow variables: ``Assign`` in both query languages, and their scopes.

A frame's ``variables`` is a plain dict that is never mutated once published:
assigning builds a new dict. A Parallel branch or Map iteration starts with its
parent's dict (so it reads outer variables) and its own assignments replace only
its own reference, so nothing it assigns leaks out, and concurrent branches never
see each other's values.

Every expression of one ``Assign`` reads the variables as they were when the state
was entered; the new values are committed together after the state's output is
computed, so the next state is the first to see them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from workflows.engine.errors import StatesError
from workflows.engine.jsonata_expr import JsonataTemplate, compile_template
from workflows.engine.lambdas import to_json_bytes
from workflows.engine.payload import Template
from workflows.engine.payload import compile_template as compile_payload

if TYPE_CHECKING:
    from workflows.engine.frame import Frame

__all__ = [
    "MAX_ASSIGN_BYTES",
    "MAX_TOTAL_BYTES",
    "MAX_VARIABLE_BYTES",
    "JsonPathAssign",
    "JsonataAssign",
    "commit",
]

MAX_VARIABLE_BYTES: Final = 256 * 1024  # one variable
MAX_ASSIGN_BYTES: Final = 256 * 1024  # all values of one Assign field
MAX_TOTAL_BYTES: Final = 10 * 1024 * 1024  # all variables visible in one scope


class JsonPathAssign:
    """``Assign`` of a JSONPath state: a payload template (``name.$`` keys) over ``$``."""

    __slots__ = ("template",)

    def __init__(self, spec: dict[str, Any]) -> None:
        self.template: Template = compile_payload(spec)

    def evaluate(self, data: Any, frame: Frame) -> dict[str, Any]:
        template = self.template
        context = frame.context() if template.uses_context else None
        try:
            values: dict[str, Any] = template.evaluate(data, context, frame.variables)
        except StatesError as error:
            raise frame.in_state(error) from None
        return values


class JsonataAssign:
    """``Assign`` of a JSONata state: each value a JSON value with ``{% %}`` inside."""

    __slots__ = ("template",)

    def __init__(self, spec: dict[str, Any]) -> None:
        self.template: JsonataTemplate = compile_template(spec, "Assign")

    @property
    def uses_context(self) -> bool:
        return self.template.uses_context

    def evaluate(self, states: dict[str, Any], variables: Any) -> dict[str, Any]:
        values: dict[str, Any] = self.template.evaluate(states, variables)
        return values


def _size(value: Any) -> int:
    kind = type(value)
    if kind is str:
        if len(value) * 4 < MAX_VARIABLE_BYTES:
            return len(value) + 2  # a bound that is enough for the limit checks
        return len(to_json_bytes(value))
    if kind is dict or kind is list:
        return len(to_json_bytes(value)) if value else 2
    return 8


def commit(frame: Frame, values: dict[str, Any]) -> None:
    """Publish the values of one Assign in ``frame``'s scope, checking AWS's limits."""
    if not values:
        return
    total = 0
    for name, value in values.items():
        size = _size(value)
        if size > MAX_VARIABLE_BYTES:
            raise frame.runtime_error(
                f"The variable '{name}' has a size of {size} bytes, which exceeds the "
                f"maximum of {MAX_VARIABLE_BYTES} bytes for a single variable."
            )
        total += size
    if total > MAX_ASSIGN_BYTES:
        raise frame.runtime_error(
            f"The Assign field has a combined size of {total} bytes, which exceeds the "
            f"maximum of {MAX_ASSIGN_BYTES} bytes for the variables of one state."
        )
    current = frame.variables
    merged = dict(current) if current else {}
    merged.update(values)
    if current and total + frame.variables_bytes > MAX_TOTAL_BYTES:
        stored = sum(_size(v) for v in merged.values())
        if stored > MAX_TOTAL_BYTES:
            raise frame.runtime_error(
                f"The variables of this execution have a combined size of {stored} bytes, "
                f"which exceeds the maximum of {MAX_TOTAL_BYTES} bytes."
            )
        frame.variables_bytes = stored
    else:
        frame.variables_bytes += total
    frame.variables = merged
    frame.assigned = values if frame.assigned is None else {**frame.assigned, **values}
