"""What a field's value is: an integer, a number, a JSONata expression, a path-like string.

Small predicates on raw JSON values that the checks of several state types share.
"""

from __future__ import annotations

import re
from typing import Any, Final

_INTRINSIC_CALL: Final = re.compile(r"States\.[A-Za-z0-9]+\(")


def is_int(value: Any) -> bool:
    return type(value) is int


def is_number(value: Any) -> bool:
    return type(value) in (int, float)


def is_jsonata(value: Any) -> bool:
    """A JSONata expression string: ``{% ... %}``."""
    return isinstance(value, str) and value.startswith("{%") and value.endswith("%}")


def looks_like_expression(value: Any) -> bool:
    """A string that reads as a path or an intrinsic call (for NO_DOLLAR / NO_PATH)."""
    if not isinstance(value, str):
        return False
    return (
        value == "$"
        or value.startswith(("$.", "$[", "$$"))
        or _INTRINSIC_CALL.match(value) is not None
    )


def has_dollar_key(value: Any) -> bool:
    if isinstance(value, dict):
        return any(
            (isinstance(k, str) and k.endswith(".$")) or has_dollar_key(v) for k, v in value.items()
        )
    if isinstance(value, list):
        return any(has_dollar_key(v) for v in value)
    return False
