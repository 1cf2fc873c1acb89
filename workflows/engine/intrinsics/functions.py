"""The registry of the 18 ``States.*`` functions, each with its declared signature.

The parser looks a name up here and checks the number of arguments; the compiler
calls the body and folds calls of pure functions on literals. Each body takes the
evaluated arguments positionally and raises ``InvalidArguments``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from workflows.engine.intrinsics.array_functions import (
    fn_array,
    fn_array_contains,
    fn_array_get_item,
    fn_array_length,
    fn_array_partition,
    fn_array_range,
    fn_array_unique,
)
from workflows.engine.intrinsics.encoding_functions import (
    fn_base64_decode,
    fn_base64_encode,
    fn_hash,
)
from workflows.engine.intrinsics.json_functions import (
    fn_json_merge,
    fn_json_to_string,
    fn_string_to_json,
)
from workflows.engine.intrinsics.math_functions import fn_math_add, fn_math_random
from workflows.engine.intrinsics.string_functions import fn_format, fn_string_split, fn_uuid


@dataclass(frozen=True, slots=True)
class Function:
    name: str
    body: Callable[..., Any]
    min_args: int
    max_args: int | None  # None: any number
    pure: bool = True  # same arguments, same result: a call on literals is folded


FUNCTIONS: Final[dict[str, Function]] = {
    f.name: f
    for f in (
        Function("States.Format", fn_format, 1, None),
        Function("States.StringToJson", fn_string_to_json, 1, 1),
        Function("States.JsonToString", fn_json_to_string, 1, 1),
        Function("States.Array", fn_array, 0, None),
        Function("States.ArrayPartition", fn_array_partition, 2, 2),
        Function("States.ArrayContains", fn_array_contains, 2, 2),
        Function("States.ArrayRange", fn_array_range, 3, 3),
        Function("States.ArrayGetItem", fn_array_get_item, 2, 2),
        Function("States.ArrayLength", fn_array_length, 1, 1),
        Function("States.ArrayUnique", fn_array_unique, 1, 1),
        Function("States.Base64Encode", fn_base64_encode, 1, 1),
        Function("States.Base64Decode", fn_base64_decode, 1, 1),
        Function("States.Hash", fn_hash, 2, 2),
        Function("States.JsonMerge", fn_json_merge, 3, 3),
        Function("States.MathRandom", fn_math_random, 2, 3, pure=False),
        Function("States.MathAdd", fn_math_add, 2, 2),
        Function("States.StringSplit", fn_string_split, 2, 2),
        Function("States.UUID", fn_uuid, 0, 0, pure=False),
    )
}
