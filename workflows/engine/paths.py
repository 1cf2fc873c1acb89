"""JSONPath as Step Functions evaluates it, compiled once per definition.

AWS evaluates paths with Jayway JsonPath: definite paths (names and indexes only)
yield one value or fail; indefinite paths (wildcards, slices, unions, deep scan,
filters) yield a list of whatever matched. The Python JSONPath libraries differ
from Jayway in exactly those edges (they always return lists, reject names with
``-``, lack ``length()``) and re-parse on every call, so the engine carries its own
small compiler: a path is parsed once into a tuple of steps, and a definite path of
plain names becomes a tight loop of dict lookups.

Roots: ``$`` is the state input, ``$$`` the context object, ``$name`` a variable.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

__all__ = [
    "MISSING",
    "JsonPath",
    "PathNotFound",
    "PathSyntaxError",
    "ResultPathError",
    "compile_path",
    "compile_reference_path",
    "resolve",
    "set_path",
]


class PathSyntaxError(ValueError):
    """A path that cannot be parsed; the message says where."""


class PathNotFound(LookupError):
    """A definite path that selects nothing in the given document."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.path = path


_MISSING: Final = object()

ROOT_INPUT: Final = "$"
ROOT_CONTEXT: Final = "$$"


# ----------------------------------------------------------------------------- steps
# A step maps a list of current nodes to the list of next nodes. Definite steps are
# also kept as plain keys (str for a member, int for an index) for the fast path.


@dataclass(frozen=True, slots=True)
class _Name:
    name: str


@dataclass(frozen=True, slots=True)
class _Index:
    index: int


@dataclass(frozen=True, slots=True)
class _Wildcard:
    pass


@dataclass(frozen=True, slots=True)
class _Union:
    keys: tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class _Merge:
    """Several names in brackets ending a path: Jayway merges them into one object."""

    names: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Slice:
    start: int | None
    stop: int | None
    step: int | None


@dataclass(frozen=True, slots=True)
class _DeepScan:
    inner: _Name | _Wildcard | _Union | _Merge | _Index | _Slice | _Filter


@dataclass(frozen=True, slots=True)
class _Filter:
    predicate: Callable[[Any, Any], bool]
    text: str


@dataclass(frozen=True, slots=True)
class _Function:
    name: str


_Step = _Name | _Index | _Wildcard | _Union | _Merge | _Slice | _DeepScan | _Filter | _Function

_FUNCTIONS: Final = frozenset(
    {"length", "size", "min", "max", "avg", "sum", "stddev", "keys", "first", "last"}
)


# ---------------------------------------------------------------------------- parser

_NAME_STOP = set(".[( \t\n")


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def error(self, message: str) -> PathSyntaxError:
        return PathSyntaxError(f"Invalid JSONPath {self.text!r}: {message} at position {self.pos}")

    def peek(self, n: int = 0) -> str:
        i = self.pos + n
        return self.text[i] if i < len(self.text) else ""

    def parse_root(self) -> tuple[str, str | None]:
        if not self.text.startswith("$"):
            raise self.error("a path must start with '$'")
        if self.text.startswith("$$"):
            self.pos = 2
            return ROOT_CONTEXT, None
        self.pos = 1
        start = self.pos
        while self.peek() and (self.peek().isalnum() or self.peek() == "_"):
            self.pos += 1
        if self.pos > start:
            return "var", self.text[start : self.pos]
        return ROOT_INPUT, None

    def parse_steps(self) -> list[_Step]:
        steps: list[_Step] = []
        while self.pos < len(self.text):
            c = self.peek()
            if c == ".":
                if self.peek(1) == ".":
                    self.pos += 2
                    if self.peek() == "[":
                        inner = self.parse_bracket()
                    elif self.peek() == "*":
                        self.pos += 1
                        inner = _Wildcard()
                    else:
                        inner = _Name(self.parse_dot_name())
                    if isinstance(inner, _Function | _DeepScan):
                        raise self.error("unexpected function after '..'")
                    steps.append(_DeepScan(inner))
                    continue
                self.pos += 1
                if self.peek() == "*":
                    self.pos += 1
                    steps.append(_Wildcard())
                    continue
                if self.peek() == "[":
                    # Jayway reads the token after a single dot afresh, so `$.[0]`,
                    # `$.a.[0].b` and `$.['x']` mean `$[0]`, `$.a[0].b` and `$['x']`.
                    steps.append(self.parse_bracket())
                    continue
                name = self.parse_dot_name()
                if self.peek() == "(":
                    if self.peek(1) != ")" or name not in _FUNCTIONS:
                        raise self.error(f"unknown function {name!r}")
                    self.pos += 2
                    steps.append(_Function(name))
                    if self.pos != len(self.text):
                        raise self.error("a function must end the path")
                    continue
                steps.append(_Name(name))
            elif c == "[":
                steps.append(self.parse_bracket())
            else:
                raise self.error(f"unexpected {c!r}")
        return steps

    def parse_dot_name(self) -> str:
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] not in _NAME_STOP:
            self.pos += 1
        if self.pos == start:
            raise self.error("expected a name")
        return self.text[start : self.pos]

    def skip_ws(self) -> None:
        while self.peek() in (" ", "\t"):
            self.pos += 1

    def parse_bracket(self) -> _Step:
        self.pos += 1  # '['
        self.skip_ws()
        c = self.peek()
        if c == "?":
            return self.parse_filter()
        if c == "*":
            self.pos += 1
            self.expect("]")
            return _Wildcard()
        if c in ("'", '"'):
            keys: list[str | int] = []
            while True:
                self.skip_ws()
                keys.append(self.parse_quoted())
                self.skip_ws()
                if self.peek() == ",":
                    self.pos += 1
                    continue
                self.expect("]")
                break
            return _Name(str(keys[0])) if len(keys) == 1 else _Union(tuple(keys))
        # numbers: index, union of indexes or a slice
        end = self.text.find("]", self.pos)
        if end < 0:
            raise self.error("missing ']'")
        body = self.text[self.pos : end].replace(" ", "")
        self.pos = end + 1
        if ":" in body:
            parts = body.split(":")
            if len(parts) > 3:
                raise self.error(f"bad slice [{body}]")
            try:
                nums = [int(p) if p else None for p in parts] + [None] * (3 - len(parts))
            except ValueError:
                raise self.error(f"bad slice [{body}]") from None
            return _Slice(nums[0], nums[1], nums[2])
        try:
            indexes = [int(p) for p in body.split(",")]
        except ValueError:
            raise self.error(f"bad index [{body}]") from None
        if len(indexes) == 1:
            return _Index(indexes[0])
        return _Union(tuple(indexes))

    def expect(self, char: str) -> None:
        self.skip_ws()
        if self.peek() != char:
            raise self.error(f"expected {char!r}")
        self.pos += 1

    def parse_quoted(self) -> str:
        quote = self.peek()
        self.pos += 1
        out = []
        while True:
            c = self.peek()
            if not c:
                raise self.error("unterminated string")
            self.pos += 1
            if c == "\\":
                out.append(self.peek())
                self.pos += 1
            elif c == quote:
                return "".join(out)
            else:
                out.append(c)

    def parse_filter(self) -> _Filter:
        start = self.pos
        self.pos += 1  # '?'
        self.skip_ws()
        self.expect("(")
        depth, i, quote = 1, self.pos, ""
        while i < len(self.text):
            c = self.text[i]
            if quote:
                if c == "\\":
                    i += 1
                elif c == quote:
                    quote = ""
            elif c in ("'", '"'):
                quote = c
            elif c == "(":
                depth += 1
            elif c == ")":
                depth -= 1
                if depth == 0:
                    break
            i += 1
        if depth:
            raise self.error("unterminated filter")
        expr = self.text[self.pos : i]
        self.pos = i + 1
        self.expect("]")
        predicate = _FilterParser(expr, self.text).parse()
        return _Filter(predicate, self.text[start : self.pos])


# ----------------------------------------------------------------- filter expressions

_FILTER_TOKEN = re.compile(
    r"""\s*(?:
        (?P<num>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
      | (?P<str>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
      | (?P<regex>/(?:[^/\\]|\\.)*/[a-z]*)
      | (?P<list>\[(?:[^\[\]'"]|'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")*\])
      | (?P<path>[@$][^\s=!<>&|)]*)
      | (?P<op>==|!=|<=|>=|=~|<|>|&&|\|\||!|\(|\))
      | (?P<word>true|false|null|in|nin|subsetof|anyof|noneof|size|empty)
    )""",
    re.VERBOSE,
)

_Operand = Callable[[Any, Any], Any]


class _FilterParser:
    """Jayway filter predicates: comparisons, =~ regex, in/nin, &&, ||, !, existence."""

    def __init__(self, expr: str, whole: str) -> None:
        self.whole = whole
        self.tokens: list[tuple[str, str]] = []
        pos = 0
        while pos < len(expr):
            if expr[pos:].strip() == "":
                break
            m = _FILTER_TOKEN.match(expr, pos)
            if not m or m.end() == pos:
                raise PathSyntaxError(f"Invalid JSONPath {whole!r}: bad filter near {expr[pos:]!r}")
            kind = m.lastgroup or ""
            self.tokens.append((kind, m.group(kind)))
            pos = m.end()
        self.i = 0

    def error(self) -> PathSyntaxError:
        return PathSyntaxError(f"Invalid JSONPath {self.whole!r}: bad filter expression")

    def peek(self) -> tuple[str, str]:
        return self.tokens[self.i] if self.i < len(self.tokens) else ("", "")

    def take(self) -> tuple[str, str]:
        tok = self.peek()
        self.i += 1
        return tok

    def parse(self) -> Callable[[Any, Any], bool]:
        pred = self.parse_or()
        if self.i != len(self.tokens):
            raise self.error()
        return pred

    def parse_or(self) -> Callable[[Any, Any], bool]:
        left = self.parse_and()
        while self.peek() == ("op", "||"):
            self.take()
            right = self.parse_and()
            left = (lambda a, b: lambda n, r: a(n, r) or b(n, r))(left, right)
        return left

    def parse_and(self) -> Callable[[Any, Any], bool]:
        left = self.parse_unary()
        while self.peek() == ("op", "&&"):
            self.take()
            right = self.parse_unary()
            left = (lambda a, b: lambda n, r: a(n, r) and b(n, r))(left, right)
        return left

    def parse_unary(self) -> Callable[[Any, Any], bool]:
        if self.peek() == ("op", "!"):
            self.take()
            inner = self.parse_unary()
            return lambda n, r: not inner(n, r)
        if self.peek() == ("op", "("):
            self.take()
            inner = self.parse_or()
            if self.take() != ("op", ")"):
                raise self.error()
            return inner
        left = self.parse_operand()
        kind, value = self.peek()
        if kind == "op" and value in ("==", "!=", "<", "<=", ">", ">=", "=~"):
            self.take()
            right = self.parse_operand()
            return _comparison(value, left, right)
        if kind == "word" and value in ("in", "nin"):
            self.take()
            right = self.parse_operand()
            negate = value == "nin"

            def member(n: Any, r: Any) -> bool:
                a, b = left(n, r), right(n, r)
                found = isinstance(b, list) and a is not _MISSING and a in b
                return found != negate

            return member
        return lambda n, r: left(n, r) is not _MISSING

    def parse_operand(self) -> _Operand:
        kind, value = self.take()
        if kind == "list":
            items: list[Any] = []
            for match in _FILTER_TOKEN.finditer(value[1:-1]):
                item_kind = match.lastgroup
                text = match.group(item_kind or "")
                if item_kind == "num":
                    items.append(float(text) if any(c in text for c in ".eE") else int(text))
                elif item_kind == "str":
                    items.append(re.sub(r"\\(.)", r"\1", text[1:-1]))
                elif item_kind == "word" and text in ("true", "false", "null"):
                    items.append({"true": True, "false": False, "null": None}[text])
            return lambda n, r: items
        if kind == "num":
            num: Any = float(value) if any(c in value for c in ".eE") else int(value)
            return lambda n, r: num
        if kind == "str":
            text = re.sub(r"\\(.)", r"\1", value[1:-1])
            return lambda n, r: text
        if kind == "regex":
            body, _, flags = value[1:].rpartition("/")
            pattern = re.compile(body, re.IGNORECASE if "i" in flags else 0)
            return lambda n, r: pattern
        if kind == "word" and value in ("true", "false", "null"):
            const = {"true": True, "false": False, "null": None}[value]
            return lambda n, r: const
        if kind == "path":
            current = value.startswith("@")
            sub = compile_path("$" + value[1:]) if current else compile_path(value)

            def resolve(n: Any, r: Any) -> Any:
                return sub.find(n if current else r)

            return resolve
        if kind == "op" and value == "[":
            raise self.error()
        raise self.error()


def _comparison(op: str, left: _Operand, right: _Operand) -> Callable[[Any, Any], bool]:
    def compare(n: Any, r: Any) -> bool:
        a, b = left(n, r), right(n, r)
        if a is _MISSING or b is _MISSING:
            return False
        if op == "=~":
            return isinstance(a, str) and isinstance(b, re.Pattern) and b.fullmatch(a) is not None
        if op == "==":
            return _json_equal(a, b)
        if op == "!=":
            return not _json_equal(a, b)
        if (_is_number(a) and _is_number(b)) or (isinstance(a, str) and isinstance(b, str)):
            if op == "<":
                return bool(a < b)
            if op == "<=":
                return bool(a <= b)
            if op == ">":
                return bool(a > b)
            return bool(a >= b)
        return False

    return compare


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _json_equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return bool(a == b)


# ------------------------------------------------------------------------- evaluation


def _apply(step: _Step, nodes: list[Any]) -> list[Any]:
    out: list[Any] = []
    if isinstance(step, _Name):
        for node in nodes:
            if isinstance(node, dict) and step.name in node:
                out.append(node[step.name])
    elif isinstance(step, _Index):
        for node in nodes:
            if isinstance(node, list) and -len(node) <= step.index < len(node):
                out.append(node[step.index])
    elif isinstance(step, _Wildcard):
        for node in nodes:
            if isinstance(node, dict):
                out.extend(node.values())
            elif isinstance(node, list):
                out.extend(node)
    elif isinstance(step, _Union):
        for node in nodes:
            for key in step.keys:
                out.extend(_apply(_Name(key) if isinstance(key, str) else _Index(key), [node]))
    elif isinstance(step, _Merge):
        for node in nodes:
            if isinstance(node, dict):
                out.append({name: node[name] for name in step.names if name in node})
    elif isinstance(step, _Slice):
        for node in nodes:
            if isinstance(node, list):
                out.extend(node[step.start : step.stop : step.step])
    elif isinstance(step, _Filter):
        raise AssertionError("filters are applied with the root document")
    elif isinstance(step, _DeepScan):
        for node in nodes:
            for descendant in _walk(node):
                out.extend(_apply(step.inner, [descendant]))
    return out


def _walk(node: Any) -> list[Any]:
    """Every container under ``node`` (itself first), depth-first in document order."""
    found = []
    stack = [node]
    while stack:
        current = stack.pop()
        found.append(current)
        children = (
            current.values()
            if isinstance(current, dict)
            else current
            if isinstance(current, list)
            else ()
        )
        stack.extend(reversed([c for c in children if isinstance(c, dict | list)]))
    return found


def _apply_function(name: str, value: Any, path: str) -> Any:
    if name in ("length", "size"):
        if isinstance(value, list | dict | str):
            return len(value)
        raise PathNotFound(path)
    if name == "keys" and isinstance(value, dict):
        return list(value)
    if isinstance(value, list):
        if name == "first" and value:
            return value[0]
        if name == "last" and value:
            return value[-1]
        numbers = [v for v in value if _is_number(v)]
        if numbers:
            if name == "min":
                return min(numbers)
            if name == "max":
                return max(numbers)
            if name == "sum":
                return float(sum(numbers))
            if name == "avg":
                return sum(numbers) / len(numbers)
            if name == "stddev":
                mean = sum(numbers) / len(numbers)
                return (sum((v - mean) ** 2 for v in numbers) / len(numbers)) ** 0.5
    raise PathNotFound(path)


@dataclass(frozen=True, slots=True)
class JsonPath:
    """A compiled path. ``get`` returns the selected value or raises PathNotFound."""

    text: str
    root: str  # "$" (state input), "$$" (context object) or "var"
    variable: str | None
    steps: tuple[_Step, ...]
    definite: bool
    keys: tuple[str | int, ...] | None  # the plain-key form of a definite path

    @property
    def is_reference(self) -> bool:
        """A Reference Path: names and indexes only, as ResultPath requires."""
        return self.keys is not None and self.root == ROOT_INPUT

    def get(self, document: Any) -> Any:
        keys = self.keys
        if keys is not None:
            value = document
            try:
                for key in keys:
                    if isinstance(key, str):
                        if type(value) is not dict:
                            raise PathNotFound(self.text)
                        value = value[key]
                    else:
                        if type(value) is not list:
                            raise PathNotFound(self.text)
                        value = value[key]
            except (KeyError, IndexError):
                raise PathNotFound(self.text) from None
            return value
        return self._evaluate(document)

    def find(self, document: Any) -> Any:
        """Like ``get`` but returns a sentinel-free ``_MISSING`` instead of raising."""
        try:
            return self.get(document)
        except PathNotFound:
            return _MISSING

    def _evaluate(self, document: Any) -> Any:
        nodes = [document]
        for step in self.steps:
            if isinstance(step, _Function):
                value = nodes if not self.definite else _single(nodes, self.text)
                return _apply_function(step.name, value, self.text)
            if isinstance(step, _Filter):
                selected: list[Any] = []
                for node in nodes:
                    children = (
                        node
                        if isinstance(node, list)
                        else list(node.values())
                        if isinstance(node, dict)
                        else []
                    )
                    selected.extend(c for c in children if step.predicate(c, document))
                nodes = selected
            else:
                nodes = _apply(step, nodes)
        if self.definite:
            return _single(nodes, self.text)
        return nodes


def _single(nodes: Sequence[Any], text: str) -> Any:
    if not nodes:
        raise PathNotFound(text)
    return nodes[0]


def _is_definite(step: _Step) -> bool:
    return isinstance(step, _Name | _Index | _Merge | _Function)


def _merge_last_names(steps: list[_Step]) -> list[_Step]:
    """Jayway's ``['a','b']`` as the last step selects one object holding those members
    (``{"a": .., "b": ..}``, absent ones left out); anywhere else it continues the
    path from each member in turn."""
    last = steps[-1] if steps else None
    if isinstance(last, _Union) and all(isinstance(k, str) for k in last.keys):
        steps[-1] = _Merge(tuple(str(k) for k in last.keys))
    return steps


_CACHE: dict[str, JsonPath] = {}


def compile_path(text: str) -> JsonPath:
    """Parse a JSONPath once; identical texts share one compiled path."""
    cached = _CACHE.get(text)
    if cached is not None:
        return cached
    if not isinstance(text, str):
        raise PathSyntaxError(f"Invalid JSONPath {text!r}: a path must be a string")
    parser = _Parser(text)
    root, variable = parser.parse_root()
    steps = tuple(_merge_last_names(parser.parse_steps()))
    definite = all(_is_definite(s) for s in steps)
    keys: tuple[str | int, ...] | None = None
    if all(isinstance(s, _Name | _Index) for s in steps):
        keys = tuple(s.name if isinstance(s, _Name) else s.index for s in steps)  # type: ignore[union-attr]
    path = JsonPath(text, root, variable, steps, definite, keys)
    if len(_CACHE) < 10_000:
        _CACHE[text] = path
    return path


def compile_reference_path(text: str) -> JsonPath:
    """A path that must name one location in the state input (ResultPath)."""
    path = compile_path(text)
    if not path.is_reference:
        raise PathSyntaxError(
            f"Invalid reference path {text!r}: only names and array indexes are allowed"
        )
    return path


class ResultPathError(Exception):
    """ResultPath cannot place the result into the input (e.g. the input is a string)."""


def set_path(document: Any, keys: tuple[str | int, ...], value: Any) -> Any:
    """Return a copy of ``document`` with ``value`` at ``keys``, copying only the spine.

    Values are never mutated in place anywhere in the engine, so sharing every
    untouched branch between the input and the output is safe and cheap.
    """
    if not keys:
        return value
    key, rest = keys[0], keys[1:]
    if isinstance(key, str):
        if document is None or document is _MISSING:
            document = {}
        if type(document) is not dict:
            raise ResultPathError(key)
        copy = dict(document)
        copy[key] = set_path(document.get(key, _MISSING), rest, value) if rest else value
        return copy
    if type(document) is not list or not -len(document) <= key < len(document):
        raise ResultPathError(key)
    items = list(document)
    items[key] = set_path(document[key], rest, value) if rest else value
    return items


MISSING: Final = _MISSING


def resolve(
    path: JsonPath, data: Any, context: Any, variables: dict[str, Any] | None = None
) -> Any:
    """Evaluate ``path`` against the root it names: the input, the context or a variable."""
    if path.root == ROOT_INPUT:
        return path.get(data)
    if path.root == ROOT_CONTEXT:
        return path.get(context)
    if variables is None or path.variable not in variables:
        raise PathNotFound(path.text)
    return path.get(variables[path.variable])
