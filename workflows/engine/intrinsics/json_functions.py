"""The JSON functions: ``States.StringToJson``, ``States.JsonToString``, ``States.JsonMerge``."""

from __future__ import annotations

import json
from typing import Any

from workflows.engine.intrinsics.arguments import string_argument
from workflows.engine.intrinsics.errors import InvalidArguments
from workflows.engine.intrinsics.java_text import json_text


def _reject_constant(name: str) -> Any:
    raise ValueError(name)  # NaN / Infinity are not JSON


def fn_string_to_json(text: Any) -> Any:
    raw = string_argument(text, "States.StringToJson")
    if not raw.strip():
        return None
    try:
        return json.loads(raw, parse_constant=_reject_constant)
    except ValueError:
        raise InvalidArguments("States.StringToJson") from None


def fn_json_to_string(value: Any) -> str:
    return json_text(value)


def fn_json_merge(first: Any, second: Any, deep: Any) -> dict[str, Any]:
    # Only the shallow merge exists: the third argument must be false.
    if type(first) is not dict or type(second) is not dict or deep is not False:
        raise InvalidArguments("States.JsonMerge")
    return {**first, **second}
