"""JSONata expressions and ``{% %}`` templates, compiled once per definition.

A JSONata state writes expressions as strings of the form ``"{% expr %}"``. Such a
string anywhere inside a field's JSON value is replaced by the expression's value;
every other value is kept as written. ``compile_template`` turns a field's value
into a ``JsonataTemplate`` once, when the definition is loaded; evaluation then
only binds ``$states`` and the variables the expressions actually reference.

Evaluation goes through jsonata-python, except for the shapes that dominate real
workflows (``$states.input.a.b``, ``$var.x``, literals, comparisons of those, and
``and``/``or`` of comparisons): they are compiled into small closures that follow
JSONata's rules for plain JSON objects and hand anything unusual (arrays on the
path, mixed types, ...) back to the full evaluator, so results are the same.

Failures are raised as ``QueryError`` carrying the message AWS puts after the
state prefix ("The JSONata expression '...' specified for the field '...' ...");
the state turns it into States.QueryEvaluationError.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
import sys
import uuid
from collections.abc import Callable, Mapping
from typing import Any, Final

from workflows.engine.history import dumps

__all__ = [
    "UNDEFINED",
    "Expression",
    "JsonataSyntaxError",
    "JsonataTemplate",
    "QueryError",
    "compile_expression",
    "compile_template",
    "expression_text",
    "is_expression",
    "json_type",
    "load_jsonata",
    "referenced_variables",
]


class _Undefined:
    __slots__ = ()

    def __repr__(self) -> str:
        return "UNDEFINED"


UNDEFINED: Final = _Undefined()
_FALLBACK: Final = object()  # a fast evaluator's "ask the full evaluator"


class _NotLoaded(Exception):
    """Stands for jsonata-python's exception class until the library is imported."""


# jsonata-python, its exception class and its null marker, set by ``load_jsonata``.
# Importing it takes ~17 ms of a process's start, which a process whose workflows use
# JSONPath only (the demo's, most tests') never needs; every use below comes after an
# Expression was built, and building one loads the library first.
_jsonata: Any = None
_JException: Any = _NotLoaded
_NULL: Any = object()


def load_jsonata() -> Any:
    """jsonata-python's module, imported on first use (then a global read)."""
    global _jsonata, _JException, _NULL
    if _jsonata is None:
        # The library raises the interpreter's recursion limit to 10,000 when it is
        # first imported; the engine must not change process-wide settings.
        limit = sys.getrecursionlimit()
        try:
            import jsonata
            from jsonata.jexception import JException
            from jsonata.utils import Utils
        finally:
            sys.setrecursionlimit(limit)
        _JException = JException
        _NULL = Utils.NULL_VALUE
        _jsonata = jsonata
    return _jsonata


Variables = Mapping[str, Any] | None
_Fast = Callable[[dict[str, Any], Variables], Any]


class JsonataSyntaxError(ValueError):
    """An expression that does not parse; ``code`` is JSONata's (S0203, ...)."""

    def __init__(self, text: str, code: str, message: str, position: int) -> None:
        super().__init__(f"{code}: {message}")
        self.text = text
        self.code = code
        self.message = message
        self.position = position


class QueryError(Exception):
    """A failed evaluation; ``message`` is AWS's cause text without the state prefix."""

    def __init__(self, message: str, location: str) -> None:
        super().__init__(message)
        self.message = message
        self.location = location


def is_expression(value: Any) -> bool:
    """A string AWS evaluates as JSONata: it starts with ``{%`` and ends with ``%}``."""
    return type(value) is str and value.startswith("{%") and value.endswith("%}")


def expression_text(value: str) -> str:
    """The expression inside ``{% ... %}``, as AWS quotes it in error messages."""
    return value[2:-2].strip()


def json_type(value: Any) -> str:
    """JSONata's ``$type`` name of a JSON value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


# ----------------------------------------------------------- AWS-added functions


class _FunctionError(Exception):
    """Raised by an AWS-added function; surfaces as '<code>: <message>'."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")


def _plain(value: Any) -> Any:
    """jsonata-python's internal values (sequences, null markers) as plain JSON."""
    if value is _NULL:
        return None
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _is_integer(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, float) and value.is_integer()


def _fn_partition(array: Any = None, size: Any = None) -> Any:
    if not isinstance(array, list):
        raise _FunctionError("D3001", "The first argument of $partition must be an array")
    if not _is_integer(size) or size <= 0:
        raise _FunctionError(
            "D3002", "The second argument of $partition must be a positive integer"
        )
    items = _plain(array)
    step = int(size)
    return [items[i : i + step] for i in range(0, len(items), step)]


_RANGE_LIMIT: Final = 1000


def _fn_range(start: Any = None, end: Any = None, step: Any = None) -> Any:
    for value, name in ((start, "start"), (end, "end"), (step, "step")):
        if not _is_integer(value):
            raise _FunctionError("D3003", f"The {name} argument of $range must be an integer")
    first, last, by = int(start), int(end), int(step)
    if by == 0:
        raise _FunctionError("D3004", "The step argument of $range must not be zero")
    values = list(range(first, last + (1 if by > 0 else -1), by))
    if len(values) > _RANGE_LIMIT:
        raise _FunctionError(
            "D3005", f"The $range function cannot return more than {_RANGE_LIMIT} items"
        )
    # AWS returns a JSONata sequence: a single item is the item itself, none is nothing.
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return values


_HASHES: Final = {
    "MD5": "md5",
    "SHA-1": "sha1",
    "SHA-256": "sha256",
    "SHA-384": "sha384",
    "SHA-512": "sha512",
}


def _fn_hash(data: Any = None, algorithm: Any = None) -> Any:
    if not isinstance(data, str):
        raise _FunctionError("D3006", "The first argument of $hash must be a string")
    name = _HASHES.get(algorithm) if isinstance(algorithm, str) else None
    if name is None:
        raise _FunctionError(
            "D3007",
            "The hashing algorithm of $hash must be one of MD5, SHA-1, SHA-256, SHA-384, SHA-512",
        )
    return hashlib.new(name, data.encode("utf-8")).hexdigest()


def _fn_random(*seed: Any) -> Any:
    if len(seed) > 1:
        raise _FunctionError("T0410", "$random takes at most one argument (a seed)")
    if not seed or seed[0] is None:
        return random.random()
    value = seed[0]
    if not isinstance(value, int | float | str) or isinstance(value, bool):
        raise _FunctionError("D3008", "The seed of $random must be a number or a string")
    return random.Random(str(value)).random()


def _fn_uuid() -> Any:
    return str(uuid.uuid4())


def _fn_parse(text: Any = None) -> Any:
    if not isinstance(text, str):
        raise _FunctionError("D3009", "The argument of $parse must be a string")
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise _FunctionError("D3010", f"The argument of $parse is not valid JSON: {exc}") from None
    return _to_jsonata(value)


def _to_jsonata(value: Any) -> Any:
    """A parsed JSON value as jsonata-python represents it (null as its marker)."""
    if value is None:
        return _NULL
    if isinstance(value, list):
        return [_to_jsonata(v) for v in value]
    if isinstance(value, dict):
        return {k: _to_jsonata(v) for k, v in value.items()}
    return value


_AWS_FUNCTIONS: Final[dict[str, Callable[..., Any]]] = {
    "partition": _fn_partition,
    "range": _fn_range,
    "hash": _fn_hash,
    "random": _fn_random,
    "uuid": _fn_uuid,
    "parse": _fn_parse,
}
# Names AWS removes from JSONata: calling them is calling an undefined function.
_REMOVED_FUNCTIONS: Final = ("eval",)
FUNCTION_NAMES: Final = frozenset(_AWS_FUNCTIONS)


# ----------------------------------------------------------------- result values


def _to_json(value: Any, text: str, location: str) -> Any:
    """jsonata-python's result as a plain JSON value, or UNDEFINED."""
    if value is None:
        return UNDEFINED
    if value is _NULL:
        return None
    kind = type(value)
    if kind is str or kind is bool or kind is int:
        return value
    if kind is float:
        if not math.isfinite(value):
            raise QueryError(
                f"The JSONata expression '{text}' specified for the field '{location}' "
                "returned an unsupported result type.",
                location,
            )
        return value
    return _convert(value, text, location)


def _convert(value: Any, text: str, location: str) -> Any:
    if value is _NULL:
        return None
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if item is None:  # undefined members are dropped, as JSON.stringify does
                continue
            out[key] = _convert(item, text, location)
        return out
    if isinstance(value, list):
        return [_convert(item, text, location) for item in value if item is not None]
    if isinstance(value, bool | int | str) or value is None:
        return value
    if isinstance(value, float) and math.isfinite(value):
        return value
    raise QueryError(
        f"The JSONata expression '{text}' specified for the field '{location}' "
        "returned an unsupported result type.",
        location,
    )


# ------------------------------------------------------------------ fast paths

_PLAIN_STEP: Final = (
    "stages",
    "predicate",
    "group",
    "focus",
    "index",
    "tuple",
    "keep_array",
    "ancestor",
)


def _plain_node(node: Any) -> bool:
    return all(not getattr(node, attr, None) for attr in _PLAIN_STEP)


def _compile_fast(node: Any) -> _Fast | None:
    """A closure for the common shapes, or None to always use jsonata-python."""
    if node is None or not _plain_node(node):
        return None
    kind = node.type
    if kind == "string" or (kind == "number" and isinstance(node.value, int | float)):
        constant = node.value
        return lambda states, variables: constant
    if kind == "value" and isinstance(node.value, bool):
        flag = node.value
        return lambda states, variables: flag
    if kind == "variable" and isinstance(node.value, str) and node.value:
        if getattr(node, "stages", None):
            return None
        return _path_getter(node.value, ())
    if kind == "path":
        steps = node.steps or []
        if getattr(node, "keep_singleton_array", False) or not steps:
            return None
        head = steps[0]
        if head.type != "variable" or not head.value or not _plain_node(head):
            return None
        keys: list[tuple[str, int | None]] = []
        for step in steps[1:]:
            if step.type != "name" or not isinstance(step.value, str):
                return None
            index = _index_stage(step)
            if index is _NO_INDEX:
                return None
            keys.append((step.value, index))  # type: ignore[arg-type]
        return _path_getter(head.value, tuple(keys))
    if kind == "function":
        return _compile_call(node)
    if kind == "binary":
        left = _compile_fast(node.lhs)
        right = _compile_fast(node.rhs)
        if left is None or right is None:
            return None
        return _binary(node.value, left, right)
    return None


_NO_INDEX: Final = object()


def _index_stage(step: Any) -> int | object | None:
    """None for a plain name step, the index of ``name[n]``, or _NO_INDEX (unsupported)."""
    stages = getattr(step, "stages", None)
    others = ("predicate", "group", "focus", "index", "tuple", "keep_array", "ancestor")
    if any(getattr(step, attr, None) for attr in others):
        return _NO_INDEX
    if not stages:
        return None
    if len(stages) != 1:
        return _NO_INDEX
    stage = stages[0]
    expr = getattr(stage, "expr", None)
    if (
        stage.type != "filter"
        or expr is None
        or expr.type != "number"
        or type(expr.value) is not int
    ):
        return _NO_INDEX
    index: int = expr.value
    return index


def _path_getter(variable: str, keys: tuple[tuple[str, int | None], ...]) -> _Fast:
    def get(states: dict[str, Any], variables: Variables) -> Any:
        if variable == "states":
            value: Any = states
        elif variables is not None and variable in variables:
            value = variables[variable]
        else:
            return _FALLBACK  # a function name or an unknown variable: let JSONata say
        for key, index in keys:
            if type(value) is dict:
                value = value.get(key, UNDEFINED)
                if value is UNDEFINED:
                    return UNDEFINED
            elif type(value) is list:
                return _FALLBACK  # JSONata maps paths over arrays
            else:
                return UNDEFINED
            if index is not None:
                if type(value) is not list or not value or type(value[0]) is list:
                    return _FALLBACK
                if -len(value) <= index < len(value):
                    value = value[index]
                else:
                    return UNDEFINED
        return value

    return get


def _fn_fast_exists(value: Any) -> Any:
    return value is not UNDEFINED


def _fn_fast_not(value: Any) -> Any:
    return (not value) if type(value) is bool else _FALLBACK


def _fn_fast_string(value: Any) -> Any:
    return value if type(value) is str else _FALLBACK


def _fn_fast_count(value: Any) -> Any:
    if type(value) is list:
        return len(value)
    return 0 if value is UNDEFINED else _FALLBACK


def _fn_fast_length(value: Any) -> Any:
    return len(value) if type(value) is str else _FALLBACK


def _fn_fast_lowercase(value: Any) -> Any:
    return value.lower() if type(value) is str and value.isascii() else _FALLBACK


def _fn_fast_uppercase(value: Any) -> Any:
    return value.upper() if type(value) is str and value.isascii() else _FALLBACK


def _fn_fast_substring(text: Any, start: Any, length: Any = UNDEFINED) -> Any:
    if type(text) is not str or type(start) is not int:
        return _FALLBACK
    if length is not UNDEFINED and type(length) is not int:
        return _FALLBACK
    size = len(text)
    if size + start < 0:
        start = 0
    if not isinstance(length, int):
        return text[start:]
    count = length
    if count <= 0:
        return ""
    end = start + count if start >= 0 else size + start + count
    return text[start:end]


_FAST_FUNCTIONS: Final[dict[str, tuple[Callable[..., Any], int, int]]] = {
    # name: (implementation, fewest arguments, most arguments)
    "exists": (_fn_fast_exists, 1, 1),
    "not": (_fn_fast_not, 1, 1),
    "string": (_fn_fast_string, 1, 1),
    "count": (_fn_fast_count, 1, 1),
    "length": (_fn_fast_length, 1, 1),
    "lowercase": (_fn_fast_lowercase, 1, 1),
    "uppercase": (_fn_fast_uppercase, 1, 1),
    "substring": (_fn_fast_substring, 2, 3),
}


def _compile_call(node: Any) -> _Fast | None:
    """``$exists(...)``, ``$not(...)``, ... of fast arguments (JSONata's built-ins)."""
    procedure = getattr(node, "procedure", None)
    if node.value != "(" or procedure is None or procedure.type != "variable":
        return None
    entry = _FAST_FUNCTIONS.get(procedure.value)
    arguments = node.arguments or []
    if entry is None or not entry[1] <= len(arguments) <= entry[2]:
        return None
    function, _, _ = entry
    name = procedure.value
    compiled = [_compile_fast(argument) for argument in arguments]
    if any(c is None for c in compiled):
        return None
    evaluators: list[_Fast] = [c for c in compiled if c is not None]

    def call(states: dict[str, Any], variables: Variables) -> Any:
        if variables is not None and name in variables:
            return _FALLBACK  # a variable shadows the built-in
        values = []
        for evaluate in evaluators:
            value = evaluate(states, variables)
            if value is _FALLBACK:
                return _FALLBACK
            values.append(value)
        if name != "exists" and name != "count" and UNDEFINED in values:
            return _FALLBACK
        return function(*values)

    return call


def _is_number(value: Any) -> bool:
    kind = type(value)
    return kind is int or kind is float


def _binary(op: str, left: _Fast, right: _Fast) -> _Fast | None:
    if op in ("=", "!="):
        negate = op == "!="

        def equals(states: dict[str, Any], variables: Variables) -> Any:
            a = left(states, variables)
            b = right(states, variables)
            if a is _FALLBACK or b is _FALLBACK:
                return _FALLBACK
            if a is UNDEFINED or b is UNDEFINED:
                return False
            if isinstance(a, dict | list) or isinstance(b, dict | list):
                return _FALLBACK
            if type(a) is bool or type(b) is bool:
                same = type(a) is type(b) and a == b
            elif a is None or b is None:
                same = a is b
            elif _is_number(a) and _is_number(b):
                same = a == b
            else:
                same = type(a) is type(b) and a == b
            return same != negate

        return equals
    if op in ("<", "<=", ">", ">="):
        compare: Callable[[Any, Any], bool] = {
            "<": lambda a, b: a < b,
            "<=": lambda a, b: a <= b,
            ">": lambda a, b: a > b,
            ">=": lambda a, b: a >= b,
        }[op]

        def ordered(states: dict[str, Any], variables: Variables) -> Any:
            a = left(states, variables)
            b = right(states, variables)
            if a is _FALLBACK or b is _FALLBACK:
                return _FALLBACK
            if (_is_number(a) and _is_number(b)) or (type(a) is str and type(b) is str):
                return compare(a, b)
            return _FALLBACK  # undefined operands and type errors: JSONata's rules

        return ordered
    if op in ("and", "or"):
        is_and = op == "and"

        def logical(states: dict[str, Any], variables: Variables) -> Any:
            a = left(states, variables)
            if type(a) is not bool:
                return _FALLBACK
            if is_and and not a:
                return False
            if not is_and and a:
                return True
            b = right(states, variables)
            if type(b) is not bool:
                return _FALLBACK
            return b

        return logical
    return None


# ---------------------------------------------------------------- expressions

_VARIABLE_REFERENCE: Final = re.compile(
    r"/(?:\\.|[^\\/\n])*/[a-zA-Z]*"  # regex literals (skipped)
    r"|\"(?:\\.|[^\"\\])*\"|'(?:\\.|[^'\\])*'"  # string literals (skipped)
    r"|`[^`]*`"  # quoted names (skipped)
    r"|\$(\$|[A-Za-z_][A-Za-z0-9_]*)?"
)
_LOCAL_BINDING: Final = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)\s*:=")
_FUNCTION_PARAMS: Final = re.compile(r"function\s*\(([^)]*)\)")


def referenced_variables(text: str) -> tuple[set[str], bool]:
    """Variable names an expression reads (without ``$``), and whether it uses ``$``/``$$``.

    String and regex literals are skipped. Names bound inside the expression
    (``$x := ...`` and lambda parameters) are not references to workflow variables.
    """
    names: set[str] = set()
    bare_root = False
    for match in _VARIABLE_REFERENCE.finditer(text):
        token = match.group(0)
        if not token.startswith("$"):
            continue
        name = match.group(1)
        if name is None or name == "$":
            bare_root = True
        else:
            names.add(name)
    local = set(_LOCAL_BINDING.findall(text))
    for params in _FUNCTION_PARAMS.findall(text):
        local.update(p.strip().lstrip("$") for p in params.split(",") if p.strip())
    return names - local, bare_root


class Expression:
    """One compiled ``{% %}`` expression."""

    __slots__ = ("_fast", "_jsonata", "text", "uses_context", "variables")

    def __init__(self, text: str) -> None:
        self.text = text
        jsonata = load_jsonata()
        try:
            compiled = jsonata.Jsonata(text)
        except _JException as exc:
            raise JsonataSyntaxError(text, exc.error, str(exc), exc.location) from None
        except Exception as exc:  # the parser raises a few plain errors on odd input
            raise JsonataSyntaxError(text, "S0500", str(exc), 0) from None
        compiled.set_output_convert_nulls(False)
        compiled.set_validate_input(False)
        environment = compiled.environment
        for name, function in _AWS_FUNCTIONS.items():
            environment.bind(name, jsonata.Jsonata.JLambda(function))
        for name in _REMOVED_FUNCTIONS:
            environment.bind(name, None)
        self._jsonata = compiled
        names, _ = referenced_variables(text)
        self.variables = tuple(sorted(names - FUNCTION_NAMES - {"states"}))
        self.uses_context = "context" in text
        self._fast = _compile_fast(compiled.ast)

    def __repr__(self) -> str:
        return f"Expression({self.text!r})"

    def evaluate(self, states: dict[str, Any], variables: Variables, location: str) -> Any:
        """The expression's JSON value, or UNDEFINED; raises QueryError."""
        fast = self._fast
        if fast is not None:
            value = fast(states, variables)
            if value is not _FALLBACK:
                return value
        bindings: dict[str, Any] = {"states": states}
        if variables:
            for name in self.variables:
                if name in variables:
                    value = variables[name]
                    bindings[name] = _NULL if value is None else value
        try:
            raw = self._jsonata.evaluate(None, bindings)
        except _JException as exc:
            raise self._threw(f"{exc.error}: {exc}", location) from None
        except _FunctionError as exc:
            raise self._threw(str(exc), location) from None
        except RecursionError:
            raise self._threw(
                "U1001: Stack overflow error: Check for non-terminating recursive function.",
                location,
            ) from None
        except ZeroDivisionError:
            raise self._threw("D1001: Number out of range: division by zero", location) from None
        except Exception as exc:  # anything else the evaluator throws
            raise self._threw(f"{type(exc).__name__}: {exc}", location) from None
        return _to_json(raw, self.text, location)

    def _threw(self, detail: str, location: str) -> QueryError:
        return QueryError(
            f"The JSONata expression '{self.text}' specified for the field '{location}' "
            f"threw an error during evaluation. {detail}",
            location,
        )


_CACHE: dict[str, Expression] = {}


def compile_expression(source: str) -> Expression:
    """Compile ``{% expr %}`` (or a bare expression text) once; identical texts share it."""
    text = expression_text(source) if is_expression(source) else source
    cached = _CACHE.get(text)
    if cached is not None:
        return cached
    if not text:
        raise JsonataSyntaxError(text, "S0500", "The expression is empty", 0)
    compiled = Expression(text)
    if len(_CACHE) < 10_000:
        _CACHE[text] = compiled
    return compiled


# ------------------------------------------------------------------ templates

_Evaluator = Callable[[dict[str, Any], Variables], Any]


class JsonataTemplate:
    """A field's JSON value with ``{% %}`` strings anywhere inside, compiled once.

    ``evaluate(states, variables)`` returns the value with every expression replaced
    by its result; an expression that yields nothing fails with AWS's message.
    """

    __slots__ = ("evaluate", "expressions", "is_static", "uses_context", "value")

    def __init__(self, value: Any, field: str) -> None:
        self.value = value
        self.expressions: list[Expression] = []
        evaluate, static = self._compile(value, field)
        self.evaluate: _Evaluator = evaluate
        self.is_static = static
        self.uses_context = any(e.uses_context for e in self.expressions)

    def _compile(self, node: Any, location: str) -> tuple[_Evaluator, bool]:
        if type(node) is str:
            if not is_expression(node):
                return (lambda states, variables: node), True
            expression = compile_expression(node)
            self.expressions.append(expression)
            evaluate = expression.evaluate
            text = expression.text

            def value_of(states: dict[str, Any], variables: Variables) -> Any:
                value = evaluate(states, variables, location)
                if value is UNDEFINED:
                    raise QueryError(
                        f"The JSONata expression '{text}' specified for the field "
                        f"'{location}' returned nothing (undefined).",
                        location,
                    )
                return value

            return value_of, False
        if isinstance(node, dict):
            parts = [(key, *self._compile(item, f"{location}/{key}")) for key, item in node.items()]
            if all(static for _, _, static in parts):
                return (lambda states, variables: node), True
            entries = [(key, evaluate) for key, evaluate, _ in parts]

            def object_of(states: dict[str, Any], variables: Variables) -> Any:
                return {key: evaluate(states, variables) for key, evaluate in entries}

            return object_of, False
        if isinstance(node, list):
            items = [self._compile(item, f"{location}/{i}") for i, item in enumerate(node)]
            if all(static for _, static in items):
                return (lambda states, variables: node), True
            evaluators = [evaluate for evaluate, _ in items]

            def array_of(states: dict[str, Any], variables: Variables) -> Any:
                return [evaluate(states, variables) for evaluate in evaluators]

            return array_of, False
        return (lambda states, variables: node), True


def compile_template(value: Any, field: str) -> JsonataTemplate:
    """Compile a field value of a JSONata state; raises JsonataSyntaxError."""
    return JsonataTemplate(value, field)


def describe(value: Any) -> str:
    """A value as AWS shows it in type errors: JSON text."""
    return dumps(value)
