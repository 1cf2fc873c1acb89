"""Payload templates (Parameters, ResultSelector, ItemSelector), compiled once.

A template is a JSON value in which a key ending in ``.$`` takes its value from
a path (``$``, ``$$``, ``$var``) or an intrinsic function. Compiling turns the
template into a function of (input, context, variables); subtrees without any
``.$`` key are returned as they are (values are never mutated, so sharing them
is safe), and only the dynamic keys are evaluated per call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from workflows.engine.errors import RuntimeError_, StatesError
from workflows.engine.history import dumps
from workflows.engine.lambdas import to_json_bytes
from workflows.engine.paths import ROOT_CONTEXT, PathNotFound, compile_path, resolve

__all__ = ["Template", "compile_template"]

Evaluator = Callable[[Any, Any, "dict[str, Any] | None"], Any]


class Template:
    """A compiled template; ``uses_context`` tells the caller to build ``$$``."""

    __slots__ = ("evaluate", "is_static", "size_bound", "uses_context")

    def __init__(
        self,
        evaluate: Evaluator,
        uses_context: bool,
        is_static: bool,
        size_bound: tuple[int, int] | None = None,
    ) -> None:
        self.evaluate = evaluate
        self.uses_context = uses_context
        self.is_static = is_static
        # (static bytes, paths) when every dynamic value is a plain ``$.a.b`` input path
        # at the top level: a value so selected is a subtree of the input, so the JSON
        # of the template's output is at most static bytes + paths x the input's
        self.size_bound = size_bound


def compile_template(template: Any) -> Template:
    evaluate, uses_context, static = _compile(template)
    return Template(evaluate, uses_context, static, size_bound(template))


def size_bound(template: Any) -> tuple[int, int] | None:
    """(static bytes, paths) of an object template whose dynamic entries are all plain
    input paths of names and indexes (``"key.$": "$.a.b"``), else None (see ``Template``)."""
    if not isinstance(template, dict):
        return None
    static: dict[str, Any] = {}
    paths = 0
    key_bytes = 0
    for key, value in template.items():
        if key.endswith(".$") and isinstance(value, str):
            if not _is_input_names_path(value):
                return None
            paths += 1
            # the output key, encoded (at most 6 bytes a character), quotes, colon, comma
            key_bytes += 6 * len(key) + 4
        elif _has_dynamic(value):
            return None
        else:
            static[key] = value
    if paths == 0:
        return None
    try:
        encoded = to_json_bytes(static)
    except (TypeError, ValueError):
        return None
    return len(encoded) + key_bytes + paths, paths


def _is_input_names_path(text: str) -> bool:
    from workflows.engine.intrinsics import is_intrinsic

    if is_intrinsic(text):
        return False
    path = compile_path(text)  # (valid: _compile_expression compiled it first)
    keys = path.keys
    # names and indexes only: the value is one subtree of the input (no wildcard,
    # slice, filter or recursive descent, which gather several)
    return path.root == "$" and keys is not None and all(type(key) in (str, int) for key in keys)


def _has_dynamic(node: Any) -> bool:
    if isinstance(node, dict):
        return any(
            (key.endswith(".$") and isinstance(value, str)) or _has_dynamic(value)
            for key, value in node.items()
        )
    if isinstance(node, list):
        return any(_has_dynamic(item) for item in node)
    return False


def _compile(node: Any) -> tuple[Evaluator, bool, bool]:
    if isinstance(node, dict):
        return _compile_object(node)
    if isinstance(node, list):
        parts = [_compile(item) for item in node]
        if all(static for _, _, static in parts):
            return (lambda data, context, variables: node), False, True
        evaluators = [evaluate for evaluate, _, _ in parts]
        uses_context = any(uses for _, uses, _ in parts)
        return (
            (lambda data, context, variables: [e(data, context, variables) for e in evaluators]),
            uses_context,
            False,
        )
    return (lambda data, context, variables: node), False, True


def _compile_object(node: dict[str, Any]) -> tuple[Evaluator, bool, bool]:
    entries: list[tuple[str, Evaluator, bool]] = []  # (key, evaluator, is_dynamic)
    uses_context = False
    all_static = True
    for key, value in node.items():
        if key.endswith(".$") and isinstance(value, str):
            out_key = key[:-2]
            evaluate, uses = _compile_expression(key, value)
            entries.append((out_key, evaluate, True))
            uses_context = uses_context or uses
            all_static = False
        else:
            evaluate, uses, static = _compile(value)
            entries.append((key, evaluate, not static))
            uses_context = uses_context or uses
            all_static = all_static and static
    if all_static:
        return (lambda data, context, variables: node), False, True
    static_part = {k: node[k] for k, _, dynamic in entries if not dynamic and k in node}
    dynamic = [(k, e) for k, e, is_dynamic in entries if is_dynamic]
    order = [k for k, _, _ in entries]
    keep_order = list(static_part) + [k for k, _ in dynamic] != order

    def evaluate_object(data: Any, context: Any, variables: dict[str, Any] | None) -> Any:
        out = dict(static_part)
        for key, evaluate in dynamic:
            out[key] = evaluate(data, context, variables)
        if keep_order:
            return {k: out[k] for k in order}
        return out

    return _of_input_paths(node, evaluate_object) or evaluate_object, uses_context, False


# The exceptions a walk generated by _of_input_paths meets where evaluate_object fails.
_WALK_FAILED: Final = (KeyError, IndexError, TypeError)


def _of_input_paths(node: dict[str, Any], evaluate_object: Evaluator) -> Evaluator | None:
    """``evaluate_object`` as one generated function, for an object whose dynamic entries
    are all plain input paths of names and indexes (``"key.$": "$.a.b[0]"``, a Pass's or
    Task's usual Parameters) and whose other entries hold no path: one dict display in
    the template's key order, each value a chain of subscripts, instead of a call per
    entry. Each step checks the type ``JsonPath.get`` checks (a name needs a ``dict``,
    an index a ``list``; else ``None[...]`` raises), so the walk succeeds exactly where
    ``evaluate_object``'s does, with the same values; where it fails, ``evaluate_object``
    runs and raises its error. None for any other object."""
    from workflows.engine.intrinsics import is_intrinsic

    out_keys = [key[:-2] if key.endswith(".$") else key for key in node]
    if len(set(out_keys)) != len(out_keys):
        return None  # "a" and "a.$": evaluate_object's order of assignment decides
    constants: dict[str, Any] = {"_slow": evaluate_object, "_failed": _WALK_FAILED}
    items: list[str] = []
    for index, (key, value) in enumerate(node.items()):
        if key.endswith(".$") and isinstance(value, str):
            if is_intrinsic(value):
                return None
            path = compile_path(value)
            keys = path.keys
            if path.root != "$" or keys is None or not keys or type(keys[0]) is not str:
                return None
            walk = f"data[{keys[0]!r}]"  # (data is a dict: checked first)
            for step in keys[1:]:
                if type(step) is str:
                    walk = f"(v if type(v := {walk}) is dict else None)[{step!r}]"
                elif type(step) is int:
                    walk = f"(v if type(v := {walk}) is list else None)[{step!r}]"
                else:
                    return None
            items.append(f"{key[:-2]!r}: {walk}")
        elif _has_dynamic(value):
            return None
        else:
            constants[f"_c{index}"] = value  # shared, as evaluate_object shares it
            items.append(f"{key!r}: _c{index}")
    source = (
        "def evaluate_input_paths(data, context, variables):\n"
        "    if type(data) is dict:\n"
        "        try:\n"
        f"            return {{{', '.join(items)}}}\n"
        "        except _failed:\n"
        "            pass\n"
        "    return _slow(data, context, variables)\n"
    )
    exec(compile(source, "<payload template>", "exec"), constants)
    generated: Evaluator = constants["evaluate_input_paths"]
    return generated


def _compile_expression(field: str, text: str) -> tuple[Evaluator, bool]:
    from workflows.engine.intrinsics import compile_intrinsic, is_intrinsic

    if is_intrinsic(text):
        intrinsic = compile_intrinsic(text)
        return intrinsic.evaluate, intrinsic.uses_context
    path = compile_path(text)
    keys = path.keys
    if path.root == "$" and keys is not None and all(type(key) is str for key in keys):
        names: tuple[str, ...] = keys  # type: ignore[assignment]

        # field names only (the common "$.a.b"): JsonPath.get's walk, without its call
        def evaluate_input_names(data: Any, context: Any, variables: dict[str, Any] | None) -> Any:
            value = data
            for name in names:
                if type(value) is not dict or name not in value:
                    raise _not_found(text, field, data)
                value = value[name]
            return value

        return evaluate_input_names, False
    if path.root == "$" and keys is not None:
        get = path.get

        def evaluate_input_path(data: Any, context: Any, variables: dict[str, Any] | None) -> Any:
            try:
                return get(data)
            except PathNotFound:
                raise _not_found(text, field, data) from None

        return evaluate_input_path, False

    def evaluate_path(data: Any, context: Any, variables: dict[str, Any] | None) -> Any:
        try:
            return resolve(path, data, context, variables)
        except PathNotFound:
            source = context if path.root == ROOT_CONTEXT else data
            raise _not_found(text, field, source) from None

    return evaluate_path, path.root == ROOT_CONTEXT


def _not_found(path: str, field: str, data: Any) -> StatesError:
    return RuntimeError_.of(
        f"The JSONPath '{path}' specified for the field '{field}' "
        f"could not be found in the input '{dumps(data)}'"
    )
