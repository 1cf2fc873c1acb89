"""The ``States.Array*`` functions: build, partition, search, range, index, count, dedupe."""

from __future__ import annotations

from typing import Any, Final

from workflows.engine.intrinsics.arguments import array_argument, truncated_int
from workflows.engine.intrinsics.errors import InvalidArguments
from workflows.engine.intrinsics.java_text import java_text

_MAX_RANGE_ITEMS: Final = 1000


def fn_array(*values: Any) -> list[Any]:
    return list(values)


def fn_array_partition(array: Any, size: Any) -> list[list[Any]]:
    items = array_argument(array, "States.ArrayPartition")
    chunk = truncated_int(size, "States.ArrayPartition")
    if chunk <= 0:
        raise InvalidArguments("States.ArrayPartition")
    return [items[i : i + chunk] for i in range(0, len(items), chunk)]


def fn_array_contains(array: Any, value: Any) -> bool:
    # AWS compares the printed forms (see java_text.py), so "1" matches 1.
    items = array_argument(array, "States.ArrayContains")
    wanted = java_text(value)
    return any(java_text(item) == wanted for item in items)


def fn_array_range(start: Any, end: Any, step: Any) -> list[int]:
    first = truncated_int(start, "States.ArrayRange")
    last = truncated_int(end, "States.ArrayRange")
    increment = truncated_int(step, "States.ArrayRange")
    if increment == 0:
        raise InvalidArguments("States.ArrayRange")
    span = last - first if increment > 0 else first - last
    count = span // abs(increment) + 1 if span >= 0 else 0
    if count > _MAX_RANGE_ITEMS:
        raise InvalidArguments("States.ArrayRange")
    return list(range(first, last + (1 if increment > 0 else -1), increment))


def fn_array_get_item(array: Any, index: Any) -> Any:
    items = array_argument(array, "States.ArrayGetItem")
    position = truncated_int(index, "States.ArrayGetItem")
    if not items:
        return None  # AWS answers null for any index into an empty array
    if not 0 <= position < len(items):
        raise InvalidArguments("States.ArrayGetItem")
    return items[position]


def fn_array_length(array: Any) -> int:
    return len(array_argument(array, "States.ArrayLength"))


def _identity_key(value: Any) -> Any:
    """A hashable key equal for equal JSON values (1 and 1.0 and true stay distinct)."""
    if isinstance(value, bool):
        return ("b", value)
    if isinstance(value, int):
        return ("i", value)
    if isinstance(value, float):
        return ("f", value)
    if isinstance(value, str):
        return ("s", value)
    if value is None:
        return ("n",)
    if isinstance(value, list):
        return ("l", tuple(map(_identity_key, value)))
    if isinstance(value, dict):
        return ("d", frozenset((k, _identity_key(v)) for k, v in value.items()))
    return ("o", repr(value))


def fn_array_unique(array: Any) -> list[Any]:
    items = array_argument(array, "States.ArrayUnique")
    seen: set[Any] = set()
    unique: list[Any] = []
    for item in items:
        key = _identity_key(item)
        if key not in seen:
            seen.add(key)
            unique.append(item)
    return unique
