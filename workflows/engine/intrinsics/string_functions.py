"""The functions that build text: ``States.Format``, ``States.StringSplit``, ``States.UUID``.

``format_parts`` and ``fill`` are shared with the compiler, which splits a literal
``States.Format`` template once, when the definition is loaded.
"""

from __future__ import annotations

import uuid
from typing import Any

from workflows.engine.intrinsics.arguments import string_argument
from workflows.engine.intrinsics.errors import InvalidArguments
from workflows.engine.intrinsics.java_text import java_text


def format_parts(template: str) -> tuple[str, ...]:
    """Split a template at its ``{}`` placeholders, honouring ``\\{ \\} \\' \\\\`` escapes."""
    parts: list[str] = []
    buf: list[str] = []
    i, n = 0, len(template)
    while i < n:
        ch = template[i]
        if ch == "\\" and i + 1 < n and template[i + 1] in "{}'\\":
            buf.append(template[i + 1])
            i += 2
        elif ch == "{":
            if i + 1 < n and template[i + 1] == "}":
                parts.append("".join(buf))
                buf = []
                i += 2
            else:
                raise InvalidArguments("States.Format")
        elif ch == "}":
            raise InvalidArguments("States.Format")
        else:
            buf.append(ch)
            i += 1
    parts.append("".join(buf))
    return tuple(parts)


def fill(parts: tuple[str, ...], values: tuple[Any, ...]) -> str:
    if len(values) != len(parts) - 1:
        raise InvalidArguments("States.Format")
    if not values:
        return parts[0]
    out = [parts[0]]
    for value, part in zip(values, parts[1:], strict=True):
        out.append(java_text(value))
        out.append(part)
    return "".join(out)


_TEMPLATES: dict[str, tuple[str, ...]] = {}


def fn_format(template: Any, *values: Any) -> str:
    text = string_argument(template, "States.Format")
    parts = _TEMPLATES.get(text)
    if parts is None:
        parts = format_parts(text)
        if len(_TEMPLATES) < 1024:
            _TEMPLATES[text] = parts
    return fill(parts, values)


def fn_string_split(value: Any, delimiters: Any) -> list[str]:
    # Java's StringTokenizer: every character of the second argument is a delimiter
    # and empty pieces are dropped.
    text = string_argument(value, "States.StringSplit")
    chars = string_argument(delimiters, "States.StringSplit")
    if not chars:
        return [text] if text else []
    if len(chars) > 1:
        text = text.translate({ord(c): chars[0] for c in chars[1:]})
    return [piece for piece in text.split(chars[0]) if piece]


def fn_uuid() -> str:
    return str(uuid.uuid4())
