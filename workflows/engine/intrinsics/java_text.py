"""Values printed as AWS prints them: AWS runs on Java, and users see the difference.

- ``States.Format`` prints values as Java does (``{Arg1=1, Arg2=[]}``, ``1.0E20``), and
  ``States.ArrayContains`` compares values through that same printed form, which is why
  AWS finds ``"1"`` in ``[1]`` and does not find ``{"b":2,"a":1}`` in ``[{"a":1,"b":2}]``.
- ``States.JsonToString`` writes compact JSON as Jackson does: no spaces, non-ASCII text
  unescaped, doubles in Java notation.
- Text limits count UTF-16 code units, as Java strings do.
"""

from __future__ import annotations

import math
from decimal import Decimal
from json.encoder import encode_basestring
from typing import Any


def java_double(value: float) -> str:
    """``Double.toString``: ``1.5``, ``100.0``, ``1.0E20``, ``1.0E-5``."""
    if value != value:
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "-0.0" if math.copysign(1.0, value) < 0 else "0.0"
    magnitude = abs(value)
    if 1e-3 <= magnitude < 1e7:
        text = repr(value)  # Python uses plain notation in this range, with shortest digits
        return text if "." in text else text + ".0"
    sign, digits, exponent = Decimal(repr(value)).normalize().as_tuple()
    assert isinstance(exponent, int)
    shown = "".join(map(str, digits))
    power = len(shown) + exponent - 1
    return f"{'-' if sign else ''}{shown[0]}.{shown[1:] or '0'}E{power}"


def java_text(value: Any) -> str:
    """A value as Java's ``String.valueOf`` prints it: what ``States.Format`` inserts."""
    if isinstance(value, str):
        return value
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return java_double(value)
    if isinstance(value, list):
        return "[" + ", ".join(map(java_text, value)) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={java_text(v)}" for k, v in value.items()) + "}"
    return str(value)


def json_text(value: Any) -> str:
    """Compact JSON as AWS (Jackson) writes it: no spaces, no ASCII escaping, Java doubles."""
    if isinstance(value, str):
        return encode_basestring(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return java_double(value)
    if isinstance(value, list):
        return "[" + ",".join(map(json_text, value)) + "]"
    if isinstance(value, dict):
        return (
            "{"
            + ",".join(f"{encode_basestring(str(k))}:{json_text(v)}" for k, v in value.items())
            + "}"
        )
    return encode_basestring(str(value))


def utf16_length(text: str) -> int:
    """Length as Java counts it (UTF-16 code units), which is what AWS's limits count."""
    if text.isascii():
        return len(text)
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)
