"""``States.MathRandom`` and ``States.MathAdd``, with Java's 32-bit integer arithmetic."""

from __future__ import annotations

import random
from typing import Any, Final

from workflows.engine.intrinsics.arguments import INT32_MAX, INT32_MIN, rounded_int, truncated_int
from workflows.engine.intrinsics.errors import InvalidArguments

_RANDOM: Final = random.Random()


def fn_math_random(start: Any, end: Any, *seed: Any) -> int:
    low = truncated_int(start, "States.MathRandom")
    high = truncated_int(end, "States.MathRandom")
    if low >= high:
        raise InvalidArguments("States.MathRandom")
    if seed:
        return random.Random(truncated_int(seed[0], "States.MathRandom")).randrange(low, high)
    return _RANDOM.randrange(low, high)


def fn_math_add(left: Any, right: Any) -> int:
    total = rounded_int(left, "States.MathAdd") + rounded_int(right, "States.MathAdd")
    if not INT32_MIN <= total <= INT32_MAX:
        raise InvalidArguments("States.MathAdd")
    return total
