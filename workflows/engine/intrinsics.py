"""Intrinsic functions (``States.*``) for the JSONPath query language, compiled once.

Why this is hand-written: no Python library implements the Amazon States Language
intrinsics, and the few interpreters that carry them (in other languages) differ from
AWS exactly where users notice: how numbers are rounded, how ``States.Format`` prints an
object, which escapes a string literal accepts, and the error each misuse produces.
So the engine carries its own small compiler. A ``"field.$": "States.X(...)"`` value is
parsed once, when the definition is loaded, into a tree of closures; evaluating it
resolves the paths and calls the functions with no reparsing.

AWS behaviour this module reproduces (from executions recorded against AWS):

- Runtime failures are ``States.Runtime`` with the cause
  ``The function '<whole expression>' had the following error: <detail>``, where the
  detail is ``Invalid arguments in States.X`` for a value of the wrong type or range, or
  ``The JsonPath argument for the field '<path>' could not be found in the input
  '<state input>'`` for a path argument that selects nothing. The caller prefixes
  ``An error occurred while executing the state ...``.
- AWS runs on Java: arguments are integers by truncation (``ArrayRange``,
  ``ArrayPartition``, ``ArrayGetItem``, ``MathRandom``) except ``MathAdd``, which rounds
  half up (``Math.round``); both are 32-bit.
- ``States.Format`` prints values as Java does (``{Arg1=1, Arg2=[]}``, ``1.0E20``), and
  ``States.ArrayContains`` compares values through that same printed form, which is why
  AWS finds ``"1"`` in ``[1]`` and does not find ``{"b":2,"a":1}`` in ``[{"a":1,"b":2}]``.
- ``States.JsonToString`` writes compact JSON as Jackson does: no spaces, non-ASCII text
  unescaped, doubles in Java notation.
- String literals accept the escapes ``\\'``, ``\\{``, ``\\}`` and ``\\\\`` only; any other
  backslash (``\\n`` written as two characters) makes the definition invalid. A real
  newline character inside a literal is just a character.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import random
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from json.encoder import encode_basestring
from typing import Any, Final

from workflows.engine.errors import RuntimeError_
from workflows.engine.paths import (
    ROOT_CONTEXT,
    ROOT_INPUT,
    JsonPath,
    PathNotFound,
    PathSyntaxError,
    compile_path,
    resolve,
)

__all__ = [
    "Intrinsic",
    "IntrinsicSyntaxError",
    "compile_intrinsic",
    "is_intrinsic",
]


class IntrinsicSyntaxError(ValueError):
    """An intrinsic call that cannot be compiled; the message names the problem and where."""

    def __init__(self, text: str, message: str, position: int) -> None:
        super().__init__(f"Invalid intrinsic function {text!r}: {message} at position {position}")
        self.text = text
        self.reason = message
        self.position = position


class _InvalidArguments(Exception):
    """Raised by a function body; becomes AWS's ``Invalid arguments in States.X``."""

    def __init__(self, function: str) -> None:
        super().__init__(function)
        self.function = function


_Eval = Callable[[Any, Any, dict[str, Any] | None], Any]

_INT32_MIN: Final = -(2**31)
_INT32_MAX: Final = 2**31 - 1
_MAX_RANGE_ITEMS: Final = 1000
_MAX_TEXT_CHARS: Final = 10_000


# --------------------------------------------------------------------- value printing


def _java_double(value: float) -> str:
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


def _java_text(value: Any) -> str:
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
        return _java_double(value)
    if isinstance(value, list):
        return "[" + ", ".join(map(_java_text, value)) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={_java_text(v)}" for k, v in value.items()) + "}"
    return str(value)


def _json_text(value: Any) -> str:
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
        return _java_double(value)
    if isinstance(value, list):
        return "[" + ",".join(map(_json_text, value)) + "]"
    if isinstance(value, dict):
        return (
            "{"
            + ",".join(f"{encode_basestring(str(k))}:{_json_text(v)}" for k, v in value.items())
            + "}"
        )
    return encode_basestring(str(value))


def _utf16_length(text: str) -> int:
    """Length as Java counts it (UTF-16 code units), which is what AWS's limits count."""
    if text.isascii():
        return len(text)
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


# ------------------------------------------------------------------ argument checking


def _truncated_int(value: Any, function: str) -> int:
    """A number as Java's ``intValue()`` sees it: truncated toward zero, 32-bit."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _InvalidArguments(function)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _InvalidArguments(function)
        number = int(value)
    else:
        number = value
    if not _INT32_MIN <= number <= _INT32_MAX:
        raise _InvalidArguments(function)
    return number


def _rounded_int(value: Any, function: str) -> int:
    """A number as Java's ``Math.round`` sees it: half up (toward positive infinity)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _InvalidArguments(function)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _InvalidArguments(function)
        number = math.floor(value + 0.5)
    else:
        number = value
    if not _INT32_MIN <= number <= _INT32_MAX:
        raise _InvalidArguments(function)
    return number


def _array(value: Any, function: str) -> list[Any]:
    if type(value) is not list:
        raise _InvalidArguments(function)
    return value


def _string(value: Any, function: str) -> str:
    if type(value) is not str:
        raise _InvalidArguments(function)
    return value


# ------------------------------------------------------------------------- functions
# Each body takes the evaluated arguments positionally and raises _InvalidArguments.


def _format_parts(template: str) -> tuple[str, ...]:
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
                raise _InvalidArguments("States.Format")
        elif ch == "}":
            raise _InvalidArguments("States.Format")
        else:
            buf.append(ch)
            i += 1
    parts.append("".join(buf))
    return tuple(parts)


def _fill(parts: tuple[str, ...], values: tuple[Any, ...]) -> str:
    if len(values) != len(parts) - 1:
        raise _InvalidArguments("States.Format")
    if not values:
        return parts[0]
    out = [parts[0]]
    for value, part in zip(values, parts[1:], strict=True):
        out.append(_java_text(value))
        out.append(part)
    return "".join(out)


_TEMPLATES: dict[str, tuple[str, ...]] = {}


def _fn_format(template: Any, *values: Any) -> str:
    text = _string(template, "States.Format")
    parts = _TEMPLATES.get(text)
    if parts is None:
        parts = _format_parts(text)
        if len(_TEMPLATES) < 1024:
            _TEMPLATES[text] = parts
    return _fill(parts, values)


def _reject_constant(name: str) -> Any:
    raise ValueError(name)  # NaN / Infinity are not JSON


def _fn_string_to_json(text: Any) -> Any:
    raw = _string(text, "States.StringToJson")
    if not raw.strip():
        return None
    try:
        return json.loads(raw, parse_constant=_reject_constant)
    except ValueError:
        raise _InvalidArguments("States.StringToJson") from None


def _fn_json_to_string(value: Any) -> str:
    return _json_text(value)


def _fn_array(*values: Any) -> list[Any]:
    return list(values)


def _fn_array_partition(array: Any, size: Any) -> list[list[Any]]:
    items = _array(array, "States.ArrayPartition")
    chunk = _truncated_int(size, "States.ArrayPartition")
    if chunk <= 0:
        raise _InvalidArguments("States.ArrayPartition")
    return [items[i : i + chunk] for i in range(0, len(items), chunk)]


def _fn_array_contains(array: Any, value: Any) -> bool:
    # AWS compares the printed forms (see the module docstring), so "1" matches 1.
    items = _array(array, "States.ArrayContains")
    wanted = _java_text(value)
    return any(_java_text(item) == wanted for item in items)


def _fn_array_range(start: Any, end: Any, step: Any) -> list[int]:
    first = _truncated_int(start, "States.ArrayRange")
    last = _truncated_int(end, "States.ArrayRange")
    increment = _truncated_int(step, "States.ArrayRange")
    if increment == 0:
        raise _InvalidArguments("States.ArrayRange")
    span = last - first if increment > 0 else first - last
    count = span // abs(increment) + 1 if span >= 0 else 0
    if count > _MAX_RANGE_ITEMS:
        raise _InvalidArguments("States.ArrayRange")
    return list(range(first, last + (1 if increment > 0 else -1), increment))


def _fn_array_get_item(array: Any, index: Any) -> Any:
    items = _array(array, "States.ArrayGetItem")
    position = _truncated_int(index, "States.ArrayGetItem")
    if not items:
        return None  # AWS answers null for any index into an empty array
    if not 0 <= position < len(items):
        raise _InvalidArguments("States.ArrayGetItem")
    return items[position]


def _fn_array_length(array: Any) -> int:
    return len(_array(array, "States.ArrayLength"))


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


def _fn_array_unique(array: Any) -> list[Any]:
    items = _array(array, "States.ArrayUnique")
    seen: set[Any] = set()
    unique: list[Any] = []
    for item in items:
        key = _identity_key(item)
        if key not in seen:
            seen.add(key)
            unique.append(item)
    return unique


def _fn_base64_encode(value: Any) -> str:
    text = _string(value, "States.Base64Encode")
    if _utf16_length(text) > _MAX_TEXT_CHARS:
        raise _InvalidArguments("States.Base64Encode")
    return base64.b64encode(text.encode("utf-8", "replace")).decode("ascii")


_NOT_BASE64: Final = re.compile(r"[^A-Za-z0-9+/]")
_URL_SAFE: Final = str.maketrans("-_", "+/")


def _fn_base64_decode(value: Any) -> str:
    # AWS decodes leniently: characters outside the alphabet are skipped, padding ends
    # the data, missing padding is fine, and the URL-safe alphabet is accepted too.
    text = _string(value, "States.Base64Decode")
    if _utf16_length(text) > _MAX_TEXT_CHARS:
        raise _InvalidArguments("States.Base64Decode")
    data = _NOT_BASE64.sub("", text.split("=", 1)[0].translate(_URL_SAFE))
    if len(data) % 4 == 1:
        data = data[:-1]
    try:
        raw = base64.b64decode(data + "=" * (-len(data) % 4))
    except binascii.Error:
        raise _InvalidArguments("States.Base64Decode") from None
    return raw.decode("utf-8", "replace")


_HASHES: Final[dict[str, Callable[[bytes], Any]]] = {
    "MD5": hashlib.md5,
    "SHA-1": hashlib.sha1,
    "SHA-256": hashlib.sha256,
    "SHA-384": hashlib.sha384,
    "SHA-512": hashlib.sha512,
}


def _fn_hash(data: Any, algorithm: Any) -> str:
    digest = _HASHES.get(algorithm) if type(algorithm) is str else None
    if digest is None:
        raise _InvalidArguments("States.Hash")
    text = data if type(data) is str else _java_text(data)  # AWS hashes 1 as "1"
    if _utf16_length(text) > _MAX_TEXT_CHARS:
        raise _InvalidArguments("States.Hash")
    return str(digest(text.encode("utf-8", "replace")).hexdigest())


def _fn_json_merge(first: Any, second: Any, deep: Any) -> dict[str, Any]:
    # Only the shallow merge exists: the third argument must be false.
    if type(first) is not dict or type(second) is not dict or deep is not False:
        raise _InvalidArguments("States.JsonMerge")
    return {**first, **second}


_RANDOM: Final = random.Random()


def _fn_math_random(start: Any, end: Any, *seed: Any) -> int:
    low = _truncated_int(start, "States.MathRandom")
    high = _truncated_int(end, "States.MathRandom")
    if low >= high:
        raise _InvalidArguments("States.MathRandom")
    if seed:
        return random.Random(_truncated_int(seed[0], "States.MathRandom")).randrange(low, high)
    return _RANDOM.randrange(low, high)


def _fn_math_add(left: Any, right: Any) -> int:
    total = _rounded_int(left, "States.MathAdd") + _rounded_int(right, "States.MathAdd")
    if not _INT32_MIN <= total <= _INT32_MAX:
        raise _InvalidArguments("States.MathAdd")
    return total


def _fn_string_split(value: Any, delimiters: Any) -> list[str]:
    # Java's StringTokenizer: every character of the second argument is a delimiter
    # and empty pieces are dropped.
    text = _string(value, "States.StringSplit")
    chars = _string(delimiters, "States.StringSplit")
    if not chars:
        return [text] if text else []
    if len(chars) > 1:
        text = text.translate({ord(c): chars[0] for c in chars[1:]})
    return [piece for piece in text.split(chars[0]) if piece]


def _fn_uuid() -> str:
    return str(uuid.uuid4())


@dataclass(frozen=True, slots=True)
class _Function:
    name: str
    body: Callable[..., Any]
    min_args: int
    max_args: int | None  # None: any number
    pure: bool = True  # same arguments, same result: a call on literals is folded


_FUNCTIONS: Final[dict[str, _Function]] = {
    f.name: f
    for f in (
        _Function("States.Format", _fn_format, 1, None),
        _Function("States.StringToJson", _fn_string_to_json, 1, 1),
        _Function("States.JsonToString", _fn_json_to_string, 1, 1),
        _Function("States.Array", _fn_array, 0, None),
        _Function("States.ArrayPartition", _fn_array_partition, 2, 2),
        _Function("States.ArrayContains", _fn_array_contains, 2, 2),
        _Function("States.ArrayRange", _fn_array_range, 3, 3),
        _Function("States.ArrayGetItem", _fn_array_get_item, 2, 2),
        _Function("States.ArrayLength", _fn_array_length, 1, 1),
        _Function("States.ArrayUnique", _fn_array_unique, 1, 1),
        _Function("States.Base64Encode", _fn_base64_encode, 1, 1),
        _Function("States.Base64Decode", _fn_base64_decode, 1, 1),
        _Function("States.Hash", _fn_hash, 2, 2),
        _Function("States.JsonMerge", _fn_json_merge, 3, 3),
        _Function("States.MathRandom", _fn_math_random, 2, 3, pure=False),
        _Function("States.MathAdd", _fn_math_add, 2, 2),
        _Function("States.StringSplit", _fn_string_split, 2, 2),
        _Function("States.UUID", _fn_uuid, 0, 0, pure=False),
    )
}


# ----------------------------------------------------------------------------- syntax


@dataclass(frozen=True, slots=True)
class _Literal:
    value: Any
    raw: str | None = None  # a string literal as written, escapes included


@dataclass(frozen=True, slots=True)
class _PathArg:
    path: JsonPath


@dataclass(frozen=True, slots=True)
class _Call:
    function: _Function
    args: tuple[_Literal | _PathArg | _Call, ...]
    position: int


_Node = _Literal | _PathArg | _Call

_CALL_NAME: Final = re.compile(r"States\.[A-Za-z0-9]+")
_NUMBER: Final = re.compile(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")
_WORD: Final = re.compile(r"[A-Za-z_]+")
_WHITESPACE: Final = frozenset(" \t\r\n")
_ARG_END: Final = frozenset(",)") | _WHITESPACE
_ESCAPABLE: Final = frozenset("'{}\\")


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def error(self, message: str, position: int | None = None) -> IntrinsicSyntaxError:
        return IntrinsicSyntaxError(self.text, message, self.pos if position is None else position)

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def skip_ws(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in _WHITESPACE:
            self.pos += 1

    def parse(self) -> _Call:
        call = self.parse_call()
        self.skip_ws()
        if self.pos != len(self.text):
            raise self.error("unexpected text after the function call")
        return call

    def parse_call(self) -> _Call:
        start = self.pos
        match = _CALL_NAME.match(self.text, self.pos)
        if not match:
            raise self.error("expected a function name such as 'States.Format'")
        name = match.group()
        function = _FUNCTIONS.get(name)
        if function is None:
            raise self.error(f"unknown function '{name}'")
        self.pos = match.end()
        if self.peek() != "(":
            raise self.error(f"expected '(' after '{name}'")
        self.pos += 1
        args: list[_Node] = []
        self.skip_ws()
        if self.peek() == ")":
            self.pos += 1
        else:
            while True:
                args.append(self.parse_arg())
                self.skip_ws()
                c = self.peek()
                if c == ",":
                    self.pos += 1
                    continue
                if c == ")":
                    self.pos += 1
                    break
                raise self.error(
                    f"expected ',' or ')' in the arguments of '{name}'"
                    if c
                    else f"missing ')' to close '{name}('"
                )
        count = len(args)
        low, high = function.min_args, function.max_args
        if count < low or (high is not None and count > high):
            expected = (
                f"at least {low}"
                if high is None
                else str(low)
                if low == high
                else f"{low} to {high}"
            )
            plural = "" if expected in ("1", "at least 1") else "s"
            raise self.error(
                f"'{name}' takes {expected} argument{plural} but was given {count}", start
            )
        return _Call(function, tuple(args), start)

    def parse_arg(self) -> _Node:
        self.skip_ws()
        c = self.peek()
        if not c:
            raise self.error("missing an argument")
        if c == "'":
            return self.parse_string()
        if c == "$":
            return self.parse_path()
        if self.text.startswith("States.", self.pos):
            return self.parse_call()
        if c == "-" or c.isdigit():
            return self.parse_number()
        match = _WORD.match(self.text, self.pos)
        if match:
            word = match.group()
            constants = {"true": True, "false": False, "null": None}
            if word in constants:
                self.pos = match.end()
                self.expect_arg_end()
                return _Literal(constants[word])
            raise self.error(f"unexpected '{word}' (string literals take single quotes)")
        raise self.error(f"unexpected {c!r}")

    def expect_arg_end(self) -> None:
        c = self.peek()
        if c and c not in _ARG_END:
            raise self.error(f"unexpected {c!r}")

    def parse_string(self) -> _Literal:
        start = self.pos
        self.pos += 1  # opening quote
        out: list[str] = []
        text = self.text
        while True:
            if self.pos >= len(text):
                raise self.error("unterminated string literal", start)
            c = text[self.pos]
            if c == "\\":
                nxt = text[self.pos + 1] if self.pos + 1 < len(text) else ""
                if nxt not in _ESCAPABLE:
                    raise self.error(
                        "invalid escape in a string literal (only \\', \\{, \\} and \\\\ exist)"
                    )
                out.append(nxt)
                self.pos += 2
            elif c == "'":
                raw = text[start + 1 : self.pos]
                self.pos += 1
                self.expect_arg_end()
                return _Literal("".join(out), raw)
            else:
                out.append(c)
                self.pos += 1

    def parse_number(self) -> _Literal:
        match = _NUMBER.match(self.text, self.pos)
        if not match:
            raise self.error("invalid number")
        self.pos = match.end()
        self.expect_arg_end()
        literal = match.group()
        if match.group(1) or match.group(2):
            return _Literal(float(literal))
        return _Literal(int(literal))

    def parse_path(self) -> _PathArg:
        # A path runs to the first ',', ')' or blank outside brackets, parentheses
        # (filters, length()) and quotes.
        start = self.pos
        text = self.text
        depth = 0
        quote = ""
        i = start
        while i < len(text):
            c = text[i]
            if quote:
                if c == "\\":
                    i += 1
                elif c == quote:
                    quote = ""
            elif c in "'\"" and depth:
                quote = c
            elif c in "[(":
                depth += 1
            elif c in "])":
                if depth == 0:
                    break
                depth -= 1
            elif depth == 0 and c in _ARG_END:
                break
            i += 1
        self.pos = i
        source = text[start:i]
        try:
            return _PathArg(compile_path(source))
        except PathSyntaxError as exc:
            raise self.error(str(exc), start) from None


# --------------------------------------------------------------------------- compiler


def _const(value: Any) -> _Eval:
    return lambda data, context, variables: value


def _path_eval(path: JsonPath) -> _Eval:
    get = path.get
    if path.root == ROOT_INPUT:
        return lambda data, context, variables: get(data)
    if path.root == ROOT_CONTEXT:
        return lambda data, context, variables: get(context)
    return lambda data, context, variables: resolve(path, data, context, variables)


def _fold(node: _Node) -> _Node:
    """Replace a pure call on literals by its value, when that value is a plain scalar.

    Containers are not folded so that no two evaluations ever share a mutable result;
    a call that fails keeps failing at run time, where AWS reports it.
    """
    if not isinstance(node, _Call):
        return node
    args = tuple(_fold(a) for a in node.args)
    node = _Call(node.function, args, node.position)
    values = [a.value for a in args if isinstance(a, _Literal)]
    if node.function.pure and len(values) == len(args):
        try:
            value = _call_body(node)(*values)
        except _InvalidArguments:
            return node
        if value is None or isinstance(value, str | int | float):
            return _Literal(value)
    return node


def _call_body(call: _Call) -> Callable[..., Any]:
    """The body of a call; a Format with a literal template has its template pre-split."""
    if call.function.name == "States.Format":
        template = call.args[0]
        if isinstance(template, _Literal) and template.raw is not None:
            parts = _format_parts(template.raw)
            return lambda _template, *values: _fill(parts, values)
    return call.function.body


def _check_format(call: _Call, parser: _Parser) -> None:
    """A literal Format template must be well formed and match its argument count."""
    template = call.args[0]
    if isinstance(template, _Literal) and template.raw is not None:
        try:
            parts = _format_parts(template.raw)
        except _InvalidArguments:
            raise parser.error(
                "the States.Format template has a '{' or '}' that is neither '{}' nor escaped",
                call.position,
            ) from None
        if len(parts) - 1 != len(call.args) - 1:
            raise parser.error(
                f"the States.Format template has {len(parts) - 1} '{{}}' placeholder(s) "
                f"but {len(call.args) - 1} value(s) follow it",
                call.position,
            )
    elif isinstance(template, _Literal):
        raise parser.error("the first argument of States.Format must be a string", call.position)


def _walk_checks(node: _Node, parser: _Parser) -> bool:
    """Static checks over the tree; returns whether any path reads the context object."""
    if isinstance(node, _PathArg):
        return node.path.root == ROOT_CONTEXT
    if isinstance(node, _Literal):
        return False
    if node.function.name == "States.Format":
        _check_format(node, parser)
    uses_context = False
    for arg in node.args:
        uses_context = _walk_checks(arg, parser) or uses_context
    return uses_context


def _build(node: _Node) -> _Eval:
    if isinstance(node, _Literal):
        return _const(node.value)
    if isinstance(node, _PathArg):
        return _path_eval(node.path)
    body = _call_body(node)
    evals = [_build(a) for a in node.args]
    if not evals:
        return lambda data, context, variables: body()
    if len(evals) == 1:
        (a,) = evals
        return lambda data, context, variables: body(a(data, context, variables))
    if len(evals) == 2:
        a, b = evals
        return lambda data, context, variables: body(
            a(data, context, variables), b(data, context, variables)
        )
    if len(evals) == 3:
        a, b, c = evals
        return lambda data, context, variables: body(
            a(data, context, variables),
            b(data, context, variables),
            c(data, context, variables),
        )
    return lambda data, context, variables: body(*[e(data, context, variables) for e in evals])


class Intrinsic:
    """A compiled intrinsic call. ``evaluate`` raises ``StatesError`` as AWS reports it."""

    __slots__ = ("_run", "text", "uses_context")

    def __init__(self, text: str, run: _Eval, uses_context: bool) -> None:
        self.text = text
        self.uses_context = uses_context  # some path reads $$: the caller builds the context
        self._run = run

    def __repr__(self) -> str:
        return f"Intrinsic({self.text!r})"

    def evaluate(self, data: Any, context: Any, variables: dict[str, Any] | None) -> Any:
        try:
            return self._run(data, context, variables)
        except _InvalidArguments as exc:
            raise RuntimeError_.of(
                f"The function '{self.text}' had the following error: "
                f"Invalid arguments in {exc.function}"
            ) from None
        except PathNotFound as exc:
            path = exc.path
            if path.startswith(ROOT_CONTEXT):
                path = path[1:]  # AWS names a $$ path as if it were read from the input
            raise RuntimeError_.of(
                f"The function '{self.text}' had the following error: "
                f"The JsonPath argument for the field '{path}' could not be found "
                f"in the input '{_json_text(data)}'"
            ) from None


def is_intrinsic(text: str) -> bool:
    """Whether a ``.$`` value is an intrinsic call (``States.X(...)``) rather than a path."""
    return isinstance(text, str) and text.startswith("States.")


_CACHE: dict[str, Intrinsic] = {}


def compile_intrinsic(text: str) -> Intrinsic:
    """Parse an intrinsic call once; identical texts share one compiled call.

    Raises ``IntrinsicSyntaxError`` for bad syntax, an unknown function, a wrong number
    of arguments, or a literal ``States.Format`` template that cannot match its values.
    """
    if not isinstance(text, str):
        raise IntrinsicSyntaxError(repr(text), "an intrinsic function must be a string", 0)
    cached = _CACHE.get(text)
    if cached is not None:
        return cached
    parser = _Parser(text)
    tree = parser.parse()
    uses_context = _walk_checks(tree, parser)
    compiled = Intrinsic(text, _build(_fold(tree)), uses_context)
    if len(_CACHE) < 10_000:
        _CACHE[text] = compiled
    return compiled
