"""How diagnostics name what they found: JSON values, close matches, lists of names.

Every message of the validator is built from these, so that they read alike.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any, Final

_NAME_LIST_LIMIT: Final = 20


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


def did_you_mean(word: str, options: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` naming the option closest to ``word``, or ``""``."""
    close = difflib.get_close_matches(word, list(options), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def quoted(names: Iterable[str]) -> str:
    names = list(names)
    shown = ", ".join(names[:_NAME_LIST_LIMIT])
    if len(names) > _NAME_LIST_LIMIT:
        shown += f", ... ({len(names) - _NAME_LIST_LIMIT} more)"
    return shown or "(none)"


def join_types(types: list[str]) -> list[str]:
    if len(types) <= 2:
        return types
    return [", ".join(types[:-1]), types[-1]]
