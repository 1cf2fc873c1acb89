"""EventBridge event patterns: does an event match a rule?

Written here because no maintained Python library implements EventBridge's
pattern language (AWS's own matcher, event-ruler, is Java; moto's is internal to
its EventBridge mock). Covers what AWS documents for content filtering: exact
values, ``prefix``, ``suffix``, ``equals-ignore-case``, ``wildcard``,
``anything-but`` (values, ``prefix``, ``suffix``), ``numeric`` ranges, ``exists``,
``cidr`` is not supported; nested objects; ``$or``. An event field holding an
array matches when any of its elements matches.
"""

from __future__ import annotations

import fnmatch
from typing import Any

__all__ = ["PatternError", "matches"]

_MISSING = object()


class PatternError(ValueError):
    """A pattern EventBridge would reject; the message says where."""


def matches(pattern: dict[str, Any], event: Any) -> bool:
    if not isinstance(pattern, dict):
        raise PatternError("an event pattern must be a JSON object")
    for key, condition in pattern.items():
        if key == "$or":
            if not any(matches(alternative, event) for alternative in condition):
                return False
            continue
        value = event.get(key, _MISSING) if isinstance(event, dict) else _MISSING
        if isinstance(condition, dict):
            if value is _MISSING or not isinstance(value, dict):
                return False
            if not matches(condition, value):
                return False
        elif isinstance(condition, list):
            if not _field_matches(condition, value, key):
                return False
        else:
            raise PatternError(f"pattern field {key!r} must be an array or an object")
    return True


def _field_matches(conditions: list[Any], value: Any, key: str) -> bool:
    values = value if isinstance(value, list) else [value]
    for condition in conditions:
        if isinstance(condition, dict) and "exists" in condition:
            if (value is not _MISSING) == bool(condition["exists"]):
                return True
            continue
        if value is _MISSING:
            continue
        if any(_one(condition, v, key) for v in values):
            return True
    return False


def _one(condition: Any, value: Any, key: str) -> bool:
    if not isinstance(condition, dict):
        return (bool(condition == value) and type(condition) is type(value)) or (
            condition is None and value is None
        )
    if len(condition) != 1:
        raise PatternError(f"pattern field {key!r}: one operator per object")
    ((operator, operand),) = condition.items()
    if operator == "prefix":
        if isinstance(operand, dict):  # {"prefix": {"equals-ignore-case": "x"}}
            text = str(operand.get("equals-ignore-case", ""))
            return isinstance(value, str) and value.lower().startswith(text.lower())
        return isinstance(value, str) and value.startswith(operand)
    if operator == "suffix":
        if isinstance(operand, dict):
            text = str(operand.get("equals-ignore-case", ""))
            return isinstance(value, str) and value.lower().endswith(text.lower())
        return isinstance(value, str) and value.endswith(operand)
    if operator == "equals-ignore-case":
        return isinstance(value, str) and value.lower() == str(operand).lower()
    if operator == "wildcard":
        return isinstance(value, str) and fnmatch.fnmatchcase(value, str(operand))
    if operator == "anything-but":
        if isinstance(operand, list):
            return value not in operand
        if isinstance(operand, dict):
            return not _one(operand, value, key)
        return bool(value != operand)
    if operator == "numeric":
        return _numeric(operand, value, key)
    raise PatternError(f"pattern field {key!r}: unsupported operator {operator!r}")


def _numeric(operand: list[Any], value: Any, key: str) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    if len(operand) % 2:
        raise PatternError(f"pattern field {key!r}: numeric needs operator/value pairs")
    for op, bound in zip(operand[::2], operand[1::2], strict=True):
        ok = {
            "=": value == bound,
            "<": value < bound,
            "<=": value <= bound,
            ">": value > bound,
            ">=": value >= bound,
        }.get(op)
        if ok is None:
            raise PatternError(f"pattern field {key!r}: unknown numeric operator {op!r}")
        if not ok:
            return False
    return True
