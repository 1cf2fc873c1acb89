"""Compile an intrinsic call once into a tree of closures, and run it as AWS does.

Evaluating a compiled call resolves the paths and calls the functions with no
reparsing. Runtime failures are ``States.Runtime`` with the cause
``The function '<whole expression>' had the following error: <detail>``, where the
detail is ``Invalid arguments in States.X`` for a value of the wrong type or range, or
``The JsonPath argument for the field '<path>' could not be found in the input
'<state input>'`` for a path argument that selects nothing. The caller prefixes
``An error occurred while executing the state ...``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from workflows.engine.errors import RuntimeError_
from workflows.engine.intrinsics.checks import walk_checks
from workflows.engine.intrinsics.errors import IntrinsicSyntaxError, InvalidArguments
from workflows.engine.intrinsics.java_text import json_text
from workflows.engine.intrinsics.parser import Parser
from workflows.engine.intrinsics.string_functions import fill, format_parts
from workflows.engine.intrinsics.syntax import Call, Literal, Node, PathArg
from workflows.engine.paths import ROOT_CONTEXT, ROOT_INPUT, JsonPath, PathNotFound, resolve

_Eval = Callable[[Any, Any, dict[str, Any] | None], Any]


def _const(value: Any) -> _Eval:
    return lambda data, context, variables: value


def _path_eval(path: JsonPath) -> _Eval:
    get = path.get
    if path.root == ROOT_INPUT:
        return lambda data, context, variables: get(data)
    if path.root == ROOT_CONTEXT:
        return lambda data, context, variables: get(context)
    return lambda data, context, variables: resolve(path, data, context, variables)


def _fold(node: Node) -> Node:
    """Replace a pure call on literals by its value, when that value is a plain scalar.

    Containers are not folded so that no two evaluations ever share a mutable result;
    a call that fails keeps failing at run time, where AWS reports it.
    """
    if not isinstance(node, Call):
        return node
    args = tuple(_fold(a) for a in node.args)
    node = Call(node.function, args, node.position)
    values = [a.value for a in args if isinstance(a, Literal)]
    if node.function.pure and len(values) == len(args):
        try:
            value = _call_body(node)(*values)
        except InvalidArguments:
            return node
        if value is None or isinstance(value, str | int | float):
            return Literal(value)
    return node


def _call_body(call: Call) -> Callable[..., Any]:
    """The body of a call; a Format with a literal template has its template pre-split."""
    if call.function.name == "States.Format":
        template = call.args[0]
        if isinstance(template, Literal) and template.raw is not None:
            parts = format_parts(template.raw)
            return lambda _template, *values: fill(parts, values)
    return call.function.body


def _build(node: Node) -> _Eval:
    if isinstance(node, Literal):
        return _const(node.value)
    if isinstance(node, PathArg):
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
        except InvalidArguments as exc:
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
                f"in the input '{json_text(data)}'"
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
    parser = Parser(text)
    tree = parser.parse()
    uses_context = walk_checks(tree, parser)
    compiled = Intrinsic(text, _build(_fold(tree)), uses_context)
    if len(_CACHE) < 10_000:
        _CACHE[text] = compiled
    return compiled
