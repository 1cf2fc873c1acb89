"""Choice rules (JSONPath query language) compiled once into small predicates.

A Choice state tests its ``Choices`` in order and takes the first rule that holds.
``compile_rule`` parses one rule (a ``Choices[]`` entry, or a rule nested in
And/Or/Not) once, checking it the way AWS does, into a ``Rule`` whose ``matches``
is a chain of closures: a simple rule costs a dict lookup, a type check and a
comparison.

How AWS evaluates a comparison, as recorded against the real service:

- A value of the wrong JSON type never matches and is never an error:
  ``NumericEquals`` on a string, ``BooleanEquals`` on ``1``, ``StringEquals`` on
  ``null`` are all false. Booleans are not numbers. ``0`` equals ``0.0``.
- A ``Variable`` path that selects nothing fails the state with States.Runtime
  ("Invalid path '$.x': The choice state's condition path references an invalid
  value."), except under ``IsPresent``, which is exactly the test for that. The
  same holds for the path of a ``...Path`` operator.
- Strings order as Java's ``String.compareTo`` does: by UTF-16 code unit.
- Timestamps are RFC 3339 with an uppercase ``T`` and either ``Z`` or a numeric
  offset, optionally with fractional seconds; they compare as instants, so
  ``2016-03-14T01:59:00Z`` equals ``2016-03-14T02:59:00+01:00``. A string that is
  not such a timestamp never matches a Timestamp operator.
- ``StringMatches``: ``*`` matches any run of characters, ``\\*`` a literal star,
  ``\\\\`` a literal backslash; nothing else is special.
"""

from __future__ import annotations

import datetime
import operator
import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any, Final

from workflows.engine.diagnostics import pointer
from workflows.engine.errors import RuntimeError_, StatesError
from workflows.engine.paths import (
    MISSING,
    ROOT_CONTEXT,
    ROOT_INPUT,
    JsonPath,
    PathNotFound,
    PathSyntaxError,
    compile_path,
    resolve,
)

__all__ = [
    "OPERATORS",
    "ChoiceRuleError",
    "Rule",
    "compile_choices",
    "compile_rule",
    "parse_timestamp",
]

Variables = dict[str, Any] | None
_Test = Callable[[Any, Any, Variables], bool]
_Get = Callable[[Any, Any, Variables], Any]


class ChoiceRuleError(ValueError):
    """A malformed Choice rule. ``location`` is the JSON pointer of the field inside the rule."""

    def __init__(self, message: str, location: str = "") -> None:
        super().__init__(f"{location}: {message}" if location else message)
        self.message = message
        self.location = location


class Rule:
    """A compiled Choice rule.

    ``matches(data, context, variables)`` tells whether the rule holds for the state
    input ``data``, the context object and the current variables; it raises a
    States.Runtime ``StatesError`` when a compared path selects nothing. It is a
    plain closure stored on the instance, so calling it costs no method dispatch.
    """

    __slots__ = ("_source", "matches", "next", "uses_context")

    matches: _Test
    next: str | None
    uses_context: bool

    def __init__(self, test: _Test, next_: str | None, uses_context: bool, source: Any) -> None:
        self.matches = test
        self.next = next_
        self.uses_context = uses_context
        self._source = source

    def __repr__(self) -> str:
        return f"Rule({self._source!r})"


# ------------------------------------------------------------------------ errors


def _missing_path(path: JsonPath) -> StatesError:
    return RuntimeError_.of(
        f"Invalid path '{path.text}': "
        "The choice state's condition path references an invalid value."
    )


# ------------------------------------------------------------------ value access


def _getter(path: JsonPath) -> _Get:
    """A function returning the value ``path`` selects, or ``MISSING``; it never raises."""
    keys = path.keys
    if path.root == ROOT_INPUT and keys is not None and all(isinstance(k, str) for k in keys):
        if not keys:
            return lambda data, context, variables: data
        if len(keys) == 1:
            key = keys[0]

            def get_one(data: Any, context: Any, variables: Variables) -> Any:
                return data.get(key, MISSING) if type(data) is dict else MISSING

            return get_one

        def get_many(data: Any, context: Any, variables: Variables) -> Any:
            for key in keys:
                if type(data) is not dict:
                    return MISSING
                data = data.get(key, MISSING)
            return data

        return get_many

    def get(data: Any, context: Any, variables: Variables) -> Any:
        try:
            return resolve(path, data, context, variables)
        except PathNotFound:
            return MISSING

    return get


# -------------------------------------------------------------------- timestamps

_TIMESTAMP: Final = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:Z|([+-])(\d{2}):(\d{2}))",
    re.ASCII,
)
_EPOCH_ORDINAL: Final = datetime.date(1970, 1, 1).toordinal()


@lru_cache(maxsize=4096)
def parse_timestamp(text: str) -> int | None:
    """Nanoseconds since the epoch of an AWS Choice timestamp, or None if ``text`` is not one.

    RFC 3339 as Step Functions accepts it: ``YYYY-MM-DDThh:mm:ss``, optional
    fractional seconds (up to nanoseconds), then ``Z`` or ``+hh:mm``/``-hh:mm``.
    The ``T`` and ``Z`` must be uppercase; dates and times must exist.
    """
    m = _TIMESTAMP.fullmatch(text)
    if m is None:
        return None
    year, month, day, hour, minute, second = (int(g) for g in m.group(1, 2, 3, 4, 5, 6))
    if hour > 23 or minute > 59 or second > 59:
        return None
    try:
        days = datetime.date(year, month, day).toordinal() - _EPOCH_ORDINAL
    except ValueError:
        return None
    seconds = days * 86400 + hour * 3600 + minute * 60 + second
    sign = m.group(8)
    if sign is not None:
        off_hours, off_minutes = int(m.group(9)), int(m.group(10))
        if off_hours > 18 or off_minutes > 59 or (off_hours == 18 and off_minutes):
            return None
        offset = off_hours * 3600 + off_minutes * 60
        seconds -= offset if sign == "+" else -offset
    fraction = m.group(7) or ""
    return seconds * 1_000_000_000 + int(fraction.ljust(9, "0") or 0)


# ------------------------------------------------------------------- comparisons

_NUMBER: Final = frozenset({int, float})

_ORDER: Final[dict[str, Callable[[Any, Any], bool]]] = {
    "Equals": operator.eq,
    "LessThan": operator.lt,
    "GreaterThan": operator.gt,
    "LessThanEquals": operator.le,
    "GreaterThanEquals": operator.ge,
}

# operator name -> (value kind, relation); the Path variant adds "Path" to the name.
_COMPARISONS: Final[dict[str, tuple[str, str]]] = {
    f"{kind}{relation}": (kind, relation)
    for kind in ("String", "Numeric", "Timestamp")
    for relation in _ORDER
}
_COMPARISONS["BooleanEquals"] = ("Boolean", "Equals")

_TYPE_TESTS: Final = frozenset(
    {"IsNull", "IsPresent", "IsNumeric", "IsString", "IsBoolean", "IsTimestamp"}
)

OPERATORS: Final = frozenset(
    {*_COMPARISONS, *(f"{name}Path" for name in _COMPARISONS), "StringMatches", *_TYPE_TESTS}
)


def _utf16(text: str) -> bytes:
    return text.encode("utf-16-be", "surrogatepass")


def _string_order(relation: Callable[[Any, Any], bool]) -> Callable[[str, str], bool]:
    """Java ``compareTo`` order. Code points and UTF-16 units disagree only when a
    character above U+FFFF meets one in U+E000..U+FFFF at the first difference, which
    needs both strings to be non-ASCII."""

    def compare(a: str, b: str) -> bool:
        if a.isascii() or b.isascii():
            return relation(a, b)
        return relation(_utf16(a), _utf16(b))

    return compare


def _glob(pattern: str) -> Callable[[str], bool]:
    """StringMatches: ``*`` is any run of characters; ``\\*`` and ``\\\\`` are literals."""
    parts: list[str] = []
    current: list[str] = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern) and pattern[i + 1] in "*\\":
            current.append(pattern[i + 1])
            i += 2
            continue
        if c == "*":
            parts.append("".join(current))
            current = []
        else:
            current.append(c)
        i += 1
    parts.append("".join(current))

    if len(parts) == 1:
        literal = parts[0]
        return lambda s: s == literal
    head, middle, tail = parts[0], [p for p in parts[1:-1] if p], parts[-1]
    fixed = len(head) + len(tail)
    if not middle:
        if not head:
            return lambda s: s.endswith(tail)
        if not tail:
            return lambda s: s.startswith(head)
        return lambda s: len(s) >= fixed and s.startswith(head) and s.endswith(tail)

    def match(s: str) -> bool:
        # Greedy leftmost placement of each middle piece is optimal for '*'-only globs.
        if len(s) < fixed or not s.startswith(head) or not s.endswith(tail):
            return False
        pos, end = len(head), len(s) - len(tail)
        for piece in middle:
            found = s.find(piece, pos, end)
            if found < 0:
                return False
            pos = found + len(piece)
        return True

    return match


def _literal_check(kind: str, relation: str, literal: Any) -> Callable[[Any], bool]:
    """A test of the Variable's value against a literal that is already validated."""
    op = _ORDER[relation]
    if kind == "Numeric":
        if relation == "Equals":
            return lambda x: type(x) in _NUMBER and x == literal
        return lambda x: type(x) in _NUMBER and op(x, literal)
    if kind == "Boolean":
        return lambda x: x is literal
    if kind == "String":
        if relation == "Equals":
            return lambda x: type(x) is str and x == literal
        if literal.isascii():
            return lambda x: type(x) is str and op(x, literal)
        encoded = _utf16(literal)
        return lambda x: (
            type(x) is str and (op(x, literal) if x.isascii() else op(_utf16(x), encoded))
        )
    instant = parse_timestamp(literal)
    assert instant is not None  # validated by _check_literal

    def timestamp(x: Any) -> bool:
        if type(x) is not str:
            return False
        t = parse_timestamp(x)
        return t is not None and op(t, instant)

    return timestamp


def _pair_check(kind: str, relation: str) -> Callable[[Any, Any], bool]:
    """A test of the Variable's value against the value of a ``...Path`` operator."""
    op = _ORDER[relation]
    if kind == "Numeric":
        return lambda x, y: type(x) in _NUMBER and type(y) in _NUMBER and op(x, y)
    if kind == "Boolean":
        return lambda x, y: type(x) is bool and x is y
    if kind == "String":
        if relation == "Equals":
            return lambda x, y: type(x) is str and type(y) is str and x == y
        order = _string_order(op)
        return lambda x, y: type(x) is str and type(y) is str and order(x, y)

    def timestamp(x: Any, y: Any) -> bool:
        if type(x) is not str or type(y) is not str:
            return False
        a, b = parse_timestamp(x), parse_timestamp(y)
        return a is not None and b is not None and op(a, b)

    return timestamp


def _type_check(name: str) -> Callable[[Any], bool]:
    if name == "IsNull":
        return lambda x: x is None
    if name == "IsNumeric":
        return lambda x: type(x) in _NUMBER
    if name == "IsString":
        return lambda x: type(x) is str
    if name == "IsBoolean":
        return lambda x: type(x) is bool
    return lambda x: type(x) is str and parse_timestamp(x) is not None  # IsTimestamp


# ----------------------------------------------------------------------- compiler

_BOOLEAN_OPERATORS: Final = ("And", "Or", "Not")
_TOP_LEVEL_ONLY: Final = ("Next", "Assign")


def compile_rule(rule: dict[str, Any]) -> Rule:
    """Parse one Choice rule once. Raises ``ChoiceRuleError`` saying what is malformed."""
    test, uses_context = _compile(rule, (), top_level=True)
    next_ = rule.get("Next")
    if "Next" in rule and (not isinstance(next_, str) or not next_):
        raise ChoiceRuleError("'Next' must be a non-empty string", pointer("Next"))
    return Rule(test, next_, uses_context, rule)


def _compile(rule: Any, at: tuple[str | int, ...], *, top_level: bool) -> tuple[_Test, bool]:
    if not isinstance(rule, dict):
        raise ChoiceRuleError("a Choice rule must be a JSON object", pointer(*at))
    boolean = [k for k in _BOOLEAN_OPERATORS if k in rule]
    comparison = [k for k in rule if k in OPERATORS]
    for key, value in rule.items():
        if key in OPERATORS or key in _BOOLEAN_OPERATORS or key == "Variable":
            continue
        if key == "Comment":
            if not isinstance(value, str):
                raise ChoiceRuleError("'Comment' must be a string", pointer(*at, key))
        elif key in _TOP_LEVEL_ONLY:
            if not top_level:
                raise ChoiceRuleError(
                    f"'{key}' is only allowed in a top-level Choice rule, "
                    "not inside And, Or or Not",
                    pointer(*at, key),
                )
        elif key in ("Condition", "Output"):
            raise ChoiceRuleError(
                f"'{key}' is only valid when the query language is JSONata", pointer(*at, key)
            )
        else:
            raise ChoiceRuleError(f"unknown field '{key}' in a Choice rule", pointer(*at, key))

    if boolean:
        if len(boolean) > 1 or comparison or "Variable" in rule:
            extra = [*boolean[1:], *comparison, *(["Variable"] if "Variable" in rule else [])]
            raise ChoiceRuleError(
                f"a Choice rule with '{boolean[0]}' must not also have "
                + ", ".join(f"'{k}'" for k in extra),
                pointer(*at, extra[0]),
            )
        return _compile_boolean(boolean[0], rule[boolean[0]], at)

    if not comparison:
        if "Variable" in rule:
            raise ChoiceRuleError(
                "a Choice rule with 'Variable' needs a comparison operator "
                "(StringEquals, NumericGreaterThan, IsPresent, ...)",
                pointer(*at),
            )
        raise ChoiceRuleError(
            "a Choice rule needs 'Variable' and a comparison operator, or 'And', 'Or' or 'Not'",
            pointer(*at),
        )
    if len(comparison) > 1:
        raise ChoiceRuleError(
            "a Choice rule must have exactly one comparison operator, found "
            + ", ".join(f"'{k}'" for k in comparison),
            pointer(*at, comparison[1]),
        )
    if "Variable" not in rule:
        raise ChoiceRuleError(
            f"a Choice rule with '{comparison[0]}' needs a 'Variable'", pointer(*at)
        )
    return _compile_comparison(rule["Variable"], comparison[0], rule[comparison[0]], at)


def _compile_boolean(name: str, value: Any, at: tuple[str | int, ...]) -> tuple[_Test, bool]:
    if name == "Not":
        inner, uses_context = _compile(value, (*at, "Not"), top_level=False)
        return (lambda data, context, variables: not inner(data, context, variables)), uses_context

    if not isinstance(value, list) or not value:
        raise ChoiceRuleError(
            f"'{name}' must be a non-empty array of Choice rules", pointer(*at, name)
        )
    compiled = [_compile(r, (*at, name, i), top_level=False) for i, r in enumerate(value)]
    tests = tuple(t for t, _ in compiled)
    uses_context = any(u for _, u in compiled)
    if len(tests) == 1:
        return tests[0], uses_context
    if name == "And":
        if len(tests) == 2:
            a, b = tests
            return (lambda d, c, v: a(d, c, v) and b(d, c, v)), uses_context

        def all_of(data: Any, context: Any, variables: Variables) -> bool:
            return all(test(data, context, variables) for test in tests)

        return all_of, uses_context
    if len(tests) == 2:
        a, b = tests
        return (lambda d, c, v: a(d, c, v) or b(d, c, v)), uses_context

    def any_of(data: Any, context: Any, variables: Variables) -> bool:
        return any(test(data, context, variables) for test in tests)

    return any_of, uses_context


def _path(value: Any, field: str, at: tuple[str | int, ...]) -> JsonPath:
    if not isinstance(value, str):
        raise ChoiceRuleError(f"'{field}' must be a JSONPath string", pointer(*at, field))
    try:
        return compile_path(value)
    except PathSyntaxError as exc:
        raise ChoiceRuleError(f"'{field}' is not a valid JSONPath: {exc}", pointer(*at, field))


def _is_number(value: Any) -> bool:
    return type(value) in _NUMBER


def _compile_comparison(
    variable: Any, name: str, operand: Any, at: tuple[str | int, ...]
) -> tuple[_Test, bool]:
    path = _path(variable, "Variable", at)
    get = _getter(path)
    uses_context = path.root == ROOT_CONTEXT

    if name == "IsPresent":
        expected = _boolean_operand(name, operand, at)
        if expected:
            return (lambda d, c, v: get(d, c, v) is not MISSING), uses_context
        return (lambda d, c, v: get(d, c, v) is MISSING), uses_context

    check: Callable[[Any], bool]
    if name in _TYPE_TESTS:
        expected = _boolean_operand(name, operand, at)
        is_type = _type_check(name)
        check = is_type if expected else (lambda x: not is_type(x))
    elif name == "StringMatches":
        if not isinstance(operand, str):
            raise ChoiceRuleError(f"'{name}' must be a string", pointer(*at, name))
        glob = _glob(operand)

        def check(x: Any) -> bool:
            return type(x) is str and glob(x)

    elif name.endswith("Path"):
        other = _path(operand, name, at)
        get_other = _getter(other)
        pair = _pair_check(*_COMPARISONS[name[: -len("Path")]])

        def test_pair(data: Any, context: Any, variables: Variables) -> bool:
            x = get(data, context, variables)
            if x is MISSING:
                raise _missing_path(path)
            y = get_other(data, context, variables)
            if y is MISSING:
                raise _missing_path(other)
            return pair(x, y)

        return test_pair, uses_context or other.root == ROOT_CONTEXT
    else:
        kind, relation = _COMPARISONS[name]
        _check_literal(kind, name, operand, at)
        check = _literal_check(kind, relation, operand)

    keys = path.keys
    if path.root == ROOT_INPUT and keys is not None and len(keys) == 1 and type(keys[0]) is str:
        key = keys[0]

        # the most common rule ("$.field"): the getter's lookup inline, one call less
        def test_key(data: Any, context: Any, variables: Variables) -> bool:
            x = data.get(key, MISSING) if type(data) is dict else MISSING
            if x is MISSING:
                raise _missing_path(path)
            return check(x)

        return test_key, uses_context

    def test(data: Any, context: Any, variables: Variables) -> bool:
        x = get(data, context, variables)
        if x is MISSING:
            raise _missing_path(path)
        return check(x)

    return test, uses_context


def _boolean_operand(name: str, operand: Any, at: tuple[str | int, ...]) -> bool:
    if type(operand) is not bool:
        raise ChoiceRuleError(f"'{name}' must be true or false", pointer(*at, name))
    return operand


def _check_literal(kind: str, name: str, operand: Any, at: tuple[str | int, ...]) -> None:
    if kind == "Numeric" and not _is_number(operand):
        raise ChoiceRuleError(f"'{name}' must be a number", pointer(*at, name))
    if kind == "Boolean":
        _boolean_operand(name, operand, at)
    if kind == "String" and not isinstance(operand, str):
        raise ChoiceRuleError(f"'{name}' must be a string", pointer(*at, name))
    if kind == "Timestamp" and (not isinstance(operand, str) or parse_timestamp(operand) is None):
        raise ChoiceRuleError(
            f"'{name}' must be an RFC 3339 timestamp such as '2016-03-14T01:59:00Z'",
            pointer(*at, name),
        )


# -------------------------------------------------------------- one generated function

Chooser = Callable[[Any, Any, Variables], int]

_SYMBOLS: Final = {
    "LessThan": "<",
    "GreaterThan": ">",
    "LessThanEquals": "<=",
    "GreaterThanEquals": ">=",
}


class _Unreached(Exception):
    """A generated chooser met a path that selects nothing: the rules' closures decide."""


def _unreached() -> bool:
    raise _Unreached


def compile_choices(rules: list[dict[str, Any]]) -> Chooser | None:
    """A Choice state's rules (already checked by ``compile_rule``) as one generated
    function of (input, context, variables): the index of the first rule that holds,
    or -1.

    Why: the rules' closures cost a Python call per comparison, per And/Or/Not and per
    path step (a Choice of seven comparisons was ~25k instructions of order_flow's
    ~460k). Here each rule is one expression: a ``$.a.b`` Variable is walked inline
    with the type test ``_getter`` makes at each step, and the comparisons that are a
    type test and an operator (Numeric, String and Boolean equality, Numeric order,
    String order against an ASCII literal, IsPresent) are written out with the same
    tests as ``_literal_check``; any other comparison calls its closure. What it skips
    is the error: where a compared path selects nothing it raises ``_Unreached``, and
    the caller runs the rules' closures instead, which raise AWS's error (the rules
    are pure, so running them again finds what the generated function found).
    """
    constants: dict[str, Any] = {"M": MISSING, "_N": _NUMBER, "_unreached": _unreached}
    body = []
    for index, rule in enumerate(rules):
        body.append(f"    if {_expression(rule, constants)}:\n        return {index}\n")
    source = "def choose(data, context, variables):\n" + "".join(body) + "    return -1\n"
    try:
        exec(compile(source, "<choice rules>", "exec"), constants)
    except (SyntaxError, RecursionError, MemoryError):  # nested beyond the parser's limits
        return None
    chooser: Chooser = constants["choose"]
    return chooser


def _expression(rule: dict[str, Any], constants: dict[str, Any]) -> str:
    for name in _BOOLEAN_OPERATORS:
        if name in rule:
            if name == "Not":
                return f"(not {_expression(rule['Not'], constants)})"
            joiner = " and " if name == "And" else " or "
            return "(" + joiner.join(_expression(r, constants) for r in rule[name]) + ")"
    operator_name = next(k for k in rule if k in OPERATORS)
    operand = rule[operator_name]
    path = compile_path(rule["Variable"])
    keys = path.keys
    if path.root != ROOT_INPUT or keys is None or not all(type(k) is str for k in keys):
        return _closure_call(rule, operator_name, operand, constants)
    walk = "data"
    for key in keys:  # _getter's walk: a name needs a dict, else nothing is selected
        walk = f"(v.get({key!r}, M) if type(v := {walk}) is dict else M)"
    if operator_name == "IsPresent":
        return f"({walk} is {'not ' if operand else ''}M)"
    check = _inline_check(operator_name, operand, constants)
    if check is None:
        return _closure_call(rule, operator_name, operand, constants)
    return f"(((x := {walk}) is not M or _unreached()) and {check})"


def _constant(value: Any, constants: dict[str, Any]) -> str:
    name = f"_c{len(constants)}"
    constants[name] = value
    return name


def _inline_check(name: str, operand: Any, constants: dict[str, Any]) -> str | None:
    """The test of the Variable's value ``x`` as ``_literal_check`` makes it, for the
    operators written out; None for those that call their closure."""
    if name == "BooleanEquals":
        return f"x is {operand!r}"
    kind, relation = _COMPARISONS.get(name, ("", ""))
    if kind == "Numeric":
        symbol = "==" if relation == "Equals" else _SYMBOLS[relation]
        return f"(type(x) in _N and x {symbol} {_constant(operand, constants)})"
    if kind == "String" and (relation == "Equals" or operand.isascii()):
        symbol = "==" if relation == "Equals" else _SYMBOLS[relation]
        return f"(type(x) is str and x {symbol} {_constant(operand, constants)})"
    if name == "StringMatches":
        return f"(type(x) is str and {_constant(_glob(operand), constants)}(x))"
    return None


def _closure_call(rule: dict[str, Any], name: str, operand: Any, constants: dict[str, Any]) -> str:
    """A comparison left to its closure (``_compile_comparison``'s test), whose missing
    path raises AWS's error: the caller then runs the rules' closures, which raise it."""
    test, _uses_context = _compile_comparison(rule["Variable"], name, operand, ())
    return f"{_constant(test, constants)}(data, context, variables)"
