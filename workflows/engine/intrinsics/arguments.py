"""Argument checks shared by the function bodies, with Java's number semantics.

AWS runs on Java: arguments are integers by truncation (``ArrayRange``,
``ArrayPartition``, ``ArrayGetItem``, ``MathRandom``) except ``MathAdd``, which rounds
half up (``Math.round``); both are 32-bit. A value of the wrong type or range raises
``InvalidArguments`` naming the function.
"""

from __future__ import annotations

import math
from typing import Any, Final

from workflows.engine.intrinsics.errors import InvalidArguments

INT32_MIN: Final = -(2**31)
INT32_MAX: Final = 2**31 - 1


def truncated_int(value: Any, function: str) -> int:
    """A number as Java's ``intValue()`` sees it: truncated toward zero, 32-bit."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidArguments(function)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidArguments(function)
        number = int(value)
    else:
        number = value
    if not INT32_MIN <= number <= INT32_MAX:
        raise InvalidArguments(function)
    return number


def rounded_int(value: Any, function: str) -> int:
    """A number as Java's ``Math.round`` sees it: half up (toward positive infinity)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidArguments(function)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidArguments(function)
        number = math.floor(value + 0.5)
    else:
        number = value
    if not INT32_MIN <= number <= INT32_MAX:
        raise InvalidArguments(function)
    return number


def array_argument(value: Any, function: str) -> list[Any]:
    if type(value) is not list:
        raise InvalidArguments(function)
    return value


def string_argument(value: Any, function: str) -> str:
    if type(value) is not str:
        raise InvalidArguments(function)
    return value
