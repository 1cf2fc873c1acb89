"""What every state shares: paths, Assign, Output, Retry and Catch.

Input/output processing is applied in the order AWS applies it. A JSONPath state
runs InputPath, Parameters, ResultSelector, Assign, ResultPath, OutputPath; a
JSONata state runs Arguments, then Assign and Output over the same ``$states``
(``input``, ``result``, ``errorOutput`` in a Catch, ``context``). In both languages
every expression of a state reads the variables from before the state, and the
state's Assign is committed after its output is known.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from typing import Any, Final

from workflows.engine.errors import ALL, QueryEvaluationError, StatesError
from workflows.engine.frame import Frame
from workflows.engine.history import dumps
from workflows.engine.jsonata_expr import (
    JsonataTemplate,
    QueryError,
    compile_template,
    is_expression,
    json_type,
)
from workflows.engine.paths import (
    ROOT_INPUT,
    JsonPath,
    PathNotFound,
    ResultPathError,
    compile_path,
    compile_reference_path,
    resolve,
    set_path,
)
from workflows.engine.payload import Template
from workflows.engine.payload import compile_template as compile_payload
from workflows.engine.variables import JsonataAssign, JsonPathAssign, commit

__all__ = [
    "JSONATA",
    "Caught",
    "FailError",
    "Machine",
    "OutputPathFailure",
    "State",
    "StepResult",
    "error_details",
    "error_matches",
    "error_output",
    "evaluate_payload",
    "jayway",
    "optional_path",
]

JSONATA: Final = "JSONata"

# States.ALL does not match States.Runtime. It does match States.DataLimitExceeded raised
# by a Task's result (AWS records the Catch taking it); a state *output* over the quota
# is checked after Retry and Catch (executor.py), so nothing catches that one.
_UNCATCHABLE_BY_ALL: Final = frozenset({"States.Runtime"})
_NOT_TASK_FAILED: Final = frozenset(
    {"States.Timeout", "States.Runtime", "States.DataLimitExceeded"}
)


class FailError(StatesError):
    """Raised by a Fail state: the branch (or execution) fails with its error and cause."""


class OutputPathFailure(StatesError):
    """OutputPath failed on a state's result: AWS applies OutputPath after Retry and Catch,
    so no retrier or catcher sees this failure (not even ``["States.Runtime"]``)."""


class Caught:
    """The outcome of a Catch: go to ``next`` with ``output``, without a StateExited event."""

    __slots__ = ("next", "output")

    def __init__(self, output: Any, next_state: str) -> None:
        self.output = output
        self.next = next_state


StepResult = tuple[Any, "str | None"]


# --------------------------------------------------------------------------- helpers


def jayway(path: JsonPath) -> str:
    """How Jayway prints a path in 'No results for path' messages: $['a']['b'][0]."""
    if path.keys is None:
        return path.text
    return _jayway_keys(path.keys)


def _jayway_keys(keys: tuple[str | int, ...]) -> str:
    return "$" + "".join(f"['{k}']" if isinstance(k, str) else f"[{k}]" for k in keys)


def not_found(path: JsonPath, data: Any) -> str:
    """Jayway's words for a definite path that finds nothing in ``data``.

    A missing last property: 'No results for path: $['a']['b']'; a missing property on
    the way: 'Missing property in path $['a']' (the path up to the missing property).
    """
    keys = path.keys
    if keys is not None:
        node = data
        for index, key in enumerate(keys):
            if isinstance(key, str) and isinstance(node, dict):
                if key in node:
                    node = node[key]
                    continue
                if index < len(keys) - 1:
                    return f"Missing property in path {_jayway_keys(keys[: index + 1])}"
            break
    return f"No results for path: {jayway(path)}"


class _PathField:
    """InputPath / OutputPath / ItemsPath: a path, or null (an empty object)."""

    __slots__ = ("path", "text")

    def __init__(self, text: str | None) -> None:
        self.text = text
        self.path = compile_path(text) if text is not None else None

    def select(self, data: Any, frame: Frame) -> Any:
        path = self.path
        if path is None:
            return {}
        try:
            if path.root == ROOT_INPUT:
                return path.get(data)
            return resolve(path, data, frame.context(), frame.variables)
        except PathNotFound:
            raise frame.runtime_error(
                f"Invalid path '{self.text}' : {not_found(path, data)}"
            ) from None


def path_field(definition: dict[str, Any], key: str) -> _PathField | None:
    """None when the field is absent or '$' (the identity)."""
    if key not in definition:
        return None
    text = definition[key]
    if text == "$":
        return None
    return _PathField(text)


def optional_path(text: str | None) -> JsonPath | None:
    return compile_path(text) if text is not None else None


def evaluate_payload(template: Template, data: Any, frame: Frame) -> Any:
    context = frame.context() if template.uses_context else None
    try:
        return template.evaluate(data, context, frame.variables)
    except StatesError as error:
        raise frame.in_state(error) from None


def error_output(error: StatesError) -> dict[str, Any]:
    """What a Catch receives. A missing cause is bound as "" (a timeout's, as AWS binds
    it), or kept null for what SendTaskFailure sent without one."""
    if error.keeps_nulls:
        return {"Error": error.error, "Cause": error.cause}
    return {"Error": error.error, "Cause": "" if error.cause is None else error.cause}


def error_details(error: StatesError) -> dict[str, Any]:
    """The error and cause fields of a *Failed event (absent when None)."""
    details: dict[str, Any] = {"error": error.error}
    if error.cause is not None:
        details["cause"] = error.cause
    return details


def error_matches(errors: frozenset[str], error: StatesError, for_task: bool) -> bool:
    """Whether a Retrier's or Catcher's ErrorEquals covers ``error``, as AWS matches it."""
    name = error.error
    if name in errors or not errors.isdisjoint(error.also_matches):
        return True
    if ALL in errors and name not in _UNCATCHABLE_BY_ALL:
        return True
    return for_task and "States.TaskFailed" in errors and name not in _NOT_TASK_FAILED


# -------------------------------------------------------------------- JSONata support


def jsonata_field(definition: dict[str, Any], key: str) -> JsonataTemplate | None:
    """A field of a JSONata state that may hold ``{% %}`` anywhere, compiled once."""
    if key not in definition:
        return None
    return compile_template(definition[key], key)


def query_failure(frame: Frame, error: QueryError) -> StatesError:
    """States.QueryEvaluationError for a failed expression, recorded as AWS records it."""
    failure = QueryEvaluationError.of(frame.error_prefix() + error.message)
    frame.record_evaluation_failed(failure, error.location)
    return failure


def query_type_failure(
    frame: Frame, template: JsonataTemplate, field: str, value: Any, expected: str
) -> StatesError:
    """The result of ``field`` has the wrong JSON type."""
    expression = template.expressions[0].text if template.expressions else dumps(template.value)
    return query_failure(
        frame,
        QueryError(
            f"The JSONata expression '{expression}' specified for the field '{field}' returned "
            f"an unexpected result type. Expected '{expected}', but was '{json_type(value)}' "
            f"for value: {dumps(value)}",
            field,
        ),
    )


def states_of(frame: Frame, data: Any, uses_context: bool) -> dict[str, Any]:
    """The ``$states`` object with ``input`` (and ``context`` when an expression reads it)."""
    if uses_context:
        return {"input": data, "context": frame.context()}
    return {"input": data}


def evaluate_field(template: JsonataTemplate, states: dict[str, Any], frame: Frame) -> Any:
    try:
        return template.evaluate(states, frame.variables)
    except QueryError as error:
        raise query_failure(frame, error) from None


# ----------------------------------------------------------------------- retry/catch


class Retrier:
    __slots__ = ("backoff", "errors", "interval", "jitter", "max_attempts", "max_delay")

    def __init__(self, spec: dict[str, Any]) -> None:
        self.errors = frozenset(spec["ErrorEquals"])
        self.interval = float(spec.get("IntervalSeconds", 1))
        self.max_attempts = int(spec.get("MaxAttempts", 3))
        self.backoff = float(spec.get("BackoffRate", 2.0))
        self.max_delay = spec.get("MaxDelaySeconds")
        self.jitter = spec.get("JitterStrategy", "NONE") == "FULL"

    def delay(self, attempt: int) -> float:
        """The wait before retry number ``attempt`` (1-based)."""
        delay = self.interval * self.backoff ** (attempt - 1)
        if self.max_delay is not None:
            delay = min(delay, float(self.max_delay))
        if self.jitter:
            delay = random.uniform(0, delay)
        return delay


class Catcher:
    """One Catch rule; ``apply`` gives the state output for a caught error."""

    __slots__ = (
        "discard",
        "errors",
        "jsonata",
        "jsonata_assign",
        "jsonpath_assign",
        "keys",
        "next",
        "output",
        "uses_context",
    )

    def __init__(self, spec: dict[str, Any], language: str) -> None:
        self.errors = frozenset(spec["ErrorEquals"])
        self.next: str = spec["Next"]
        self.jsonata = language == JSONATA
        self.discard = False
        self.keys: tuple[str | int, ...] | None = ()
        self.output: JsonataTemplate | None = None
        self.jsonata_assign: JsonataAssign | None = None
        self.jsonpath_assign: JsonPathAssign | None = None
        self.uses_context = False
        if self.jsonata:
            self.output = jsonata_field(spec, "Output")
            if "Assign" in spec:
                self.jsonata_assign = JsonataAssign(spec["Assign"])
            self.uses_context = bool(
                (self.output and self.output.uses_context)
                or (self.jsonata_assign and self.jsonata_assign.uses_context)
            )
        else:
            result_path = spec.get("ResultPath", "$")
            self.discard = result_path is None
            self.keys = () if result_path is None else compile_reference_path(result_path).keys
            if "Assign" in spec:
                self.jsonpath_assign = JsonPathAssign(spec["Assign"])

    def apply(self, data: Any, error: StatesError, frame: Frame) -> Any:
        caught = error_output(error)
        if self.jsonata:
            states = states_of(frame, data, self.uses_context)
            states["errorOutput"] = caught
            values = None
            if self.jsonata_assign is not None:
                try:
                    values = self.jsonata_assign.evaluate(states, frame.variables)
                except QueryError as failure:
                    raise query_failure(frame, failure) from None
            output = caught if self.output is None else evaluate_field(self.output, states, frame)
            if values:
                commit(frame, values)
            return output
        values = None
        if self.jsonpath_assign is not None:
            values = self.jsonpath_assign.evaluate(caught, frame)
        if self.discard:
            output = data
        elif not self.keys:
            output = caught
        else:
            try:
                output = set_path(data, self.keys, caught)
            except ResultPathError:
                raise frame.runtime_error(
                    "Unable to apply the Catch ResultPath to the state input"
                ) from None
        if values:
            commit(frame, values)
        return output


# ----------------------------------------------------------------------------- states


class State:
    """Fields every state has; subclasses implement ``step`` or ``astep``.

    ``jsonata`` tells which query language the state uses. JSONPath states keep
    ``input_path``/``output_path``; JSONata states have ``output`` (a compiled
    template, or None for the default). ``assign`` is the compiled Assign of either.
    """

    type_name: str = ""
    sync: bool = True
    # steps through ``step_now`` (its outcome, or an awaitable of it) instead of ``astep``
    eager: bool = False
    records_exit: bool = True
    # (static bytes, paths): the JSON size of the state's result is at most static
    # bytes plus paths times its input's, when its result is a payload template whose
    # values are plain ``$.a.b`` input paths (a Pass's Parameters; see payload.size_bound)
    payload_bound: tuple[int, int] | None = None
    # what ResultPath adds to the input's JSON size around a result, when the output is
    # the input with the result placed by ResultPath alone (0: the output is the
    # result); -1 otherwise (executor._output_size)
    result_overhead: int = -1

    def __init__(self, name: str, definition: dict[str, Any], language: str = "JSONPath") -> None:
        self.name = name
        self.language = language
        self.jsonata = language == JSONATA
        self.entered_type = f"{self.type_name}StateEntered"
        self.exited_type = f"{self.type_name}StateExited"
        self.next: str | None = definition.get("Next")
        self.output: JsonataTemplate | None = None
        self.assign: JsonPathAssign | JsonataAssign | None = None
        self.jsonata_assign: JsonataAssign | None = None
        self.jsonpath_assign: JsonPathAssign | None = None
        if self.jsonata:
            self.input_path = None
            self.output_path = None
            self.output = jsonata_field(definition, "Output")
            if "Assign" in definition:
                self.jsonata_assign = JsonataAssign(definition["Assign"])
                self.assign = self.jsonata_assign
        else:
            self.input_path = path_field(definition, "InputPath")
            self.output_path = path_field(definition, "OutputPath")
            if "Assign" in definition:
                self.jsonpath_assign = JsonPathAssign(definition["Assign"])
                self.assign = self.jsonpath_assign
        self.uses_context = bool(
            (self.output is not None and self.output.uses_context)
            or (self.jsonata_assign is not None and self.jsonata_assign.uses_context)
        )

    def transitions(self) -> list[str]:
        return [self.next] if self.next else []

    def step(self, data: Any, frame: Frame) -> StepResult:
        raise NotImplementedError

    async def astep(self, data: Any, frame: Frame) -> StepResult | Caught:
        return self.step(data, frame)

    def step_now(self, data: Any, frame: Frame) -> StepResult | Awaitable[StepResult | Caught]:
        """For ``eager`` states: the outcome of ``astep`` made here when nothing waits,
        else the awaitable of it."""
        return self.astep(data, frame)

    # ---------------------------------------------------------------- JSONata

    def states(self, data: Any, frame: Frame, uses_context: bool = False) -> dict[str, Any]:
        return states_of(frame, data, uses_context or self.uses_context)

    def finish_jsonata(self, states: dict[str, Any], default: Any, frame: Frame) -> Any:
        """Assign and Output over the same ``$states``; the Assign is committed last."""
        values = None
        if self.jsonata_assign is not None:
            try:
                values = self.jsonata_assign.evaluate(states, frame.variables)
            except QueryError as error:
                raise query_failure(frame, error) from None
        output = default if self.output is None else evaluate_field(self.output, states, frame)
        if values:
            commit(frame, values)
        return output

    def finish_plain(self, effective: Any, frame: Frame) -> Any:
        """States without a result (Choice, Wait, Succeed): Assign over ``$``, OutputPath."""
        values = None
        if self.jsonpath_assign is not None:
            values = self.jsonpath_assign.evaluate(effective, frame)
        if self.output_path is not None:
            effective = self.output_path.select(effective, frame)
        if values:
            commit(frame, values)
        return effective

    def number_field(
        self, value: Any, field: str, data: Any, frame: Frame, kind: str = "integer"
    ) -> Any:
        """A JSONata numeric field (TimeoutSeconds, Seconds, MaxConcurrency, ...)."""
        if isinstance(value, JsonataTemplate):
            template = value
            found = evaluate_field(template, self.states(data, frame, template.uses_context), frame)
            if isinstance(found, bool) or not isinstance(found, int | float):
                raise query_type_failure(frame, template, field, found, "number")
            if kind == "integer":
                if not float(found).is_integer():
                    raise query_failure(
                        frame,
                        QueryError(
                            f"The {field} field cannot be parsed as an integer: {dumps(found)}",
                            field,
                        ),
                    )
                return int(found)
            return found
        return value


def number_or_expression(definition: dict[str, Any], key: str) -> Any:
    """A numeric field of a JSONata state: the number, a compiled expression, or None."""
    value = definition.get(key)
    if is_expression(value):
        return compile_template(value, key)
    return value


class FieldArguments:
    """An ItemReader's or ResultWriter's own ``Arguments`` (JSONata) or ``Parameters``
    (JSONPath): the request it makes of its resource, ``{}`` when it has neither."""

    def __init__(self, spec: dict[str, Any], language: str) -> None:
        self.parameters: Template | None = None
        self.arguments: JsonataTemplate | None = None
        if language == JSONATA:
            self.arguments = jsonata_field(spec, "Arguments")
        elif "Parameters" in spec:
            self.parameters = compile_payload(spec["Parameters"])

    def evaluate(self, effective: Any, frame: Frame) -> Any:
        if self.arguments is not None:
            states = states_of(frame, effective, self.arguments.uses_context)
            return evaluate_field(self.arguments, states, frame)
        if self.parameters is not None:
            return evaluate_payload(self.parameters, effective, frame)
        return {}


class ResultState(State):
    """States with a result: Pass, Task, Map, Parallel (ResultPath, Retry, Catch, ...)."""

    def __init__(self, name: str, definition: dict[str, Any], language: str = "JSONPath") -> None:
        super().__init__(name, definition, language)
        self.parameters: Template | None = None
        self.result_selector: Template | None = None
        self.arguments: JsonataTemplate | None = None
        self.result_discard = False
        self.result_keys: tuple[str | int, ...] = ()
        self.result_key: str | None = None  # the ResultPath '$.field''s one field
        if self.jsonata:
            self.arguments = jsonata_field(definition, "Arguments")
        else:
            if "Parameters" in definition:
                self.parameters = compile_payload(definition["Parameters"])
            if "ResultSelector" in definition:
                self.result_selector = compile_payload(definition["ResultSelector"])
            result_path = definition.get("ResultPath", "$")
            self.result_discard = result_path is None
            self.result_keys = (
                () if result_path is None else compile_reference_path(result_path).keys or ()
            )
            if len(self.result_keys) == 1 and type(self.result_keys[0]) is str:
                self.result_key = self.result_keys[0]
            if (
                self.result_selector is None
                and self.output_path is None
                and not self.result_discard
            ):
                # a key written as JSON takes at most 6 bytes a character, plus quotes, a
                # colon, a comma and the braces of an object created on the way
                self.result_overhead = sum(6 * len(str(key)) + 8 for key in self.result_keys)
        self.retriers = [Retrier(r) for r in definition.get("Retry", ())]
        self.catchers = [Catcher(c, language) for c in definition.get("Catch", ())]
        if self.jsonata:
            self.finish = self._finish_jsonata  # type: ignore[method-assign]
        elif self.jsonpath_assign is not None:
            self.finish = self._finish_jsonpath_assign  # type: ignore[method-assign]
        else:
            self.finish = self._finish_jsonpath  # type: ignore[method-assign]

    def transitions(self) -> list[str]:
        return super().transitions() + [c.next for c in self.catchers]

    def effective_input(self, data: Any, frame: Frame) -> Any:
        """The input to the work: Parameters over InputPath, or Arguments over $states.input."""
        if self.jsonata:
            if self.arguments is None:
                return data
            states = self.states(data, frame, self.arguments.uses_context)
            return evaluate_field(self.arguments, states, frame)
        effective = data if self.input_path is None else self.input_path.select(data, frame)
        if self.parameters is None:
            return effective
        return evaluate_payload(self.parameters, effective, frame)

    def finish(self, data: Any, result: Any, frame: Frame) -> Any:
        """The state output from its result (after ResultSelector for JSONPath).

        Replaced per instance (in ``__init__``) by the variant for the state's query
        language, so that the JSONPath path without Assign costs what it did before
        variables existed.
        """
        raise NotImplementedError

    def _finish_jsonata(self, data: Any, result: Any, frame: Frame) -> Any:
        states = self.states(data, frame)
        states["result"] = result
        return self.finish_jsonata(states, result, frame)

    def _finish_jsonpath(self, data: Any, result: Any, frame: Frame) -> Any:
        if self.result_discard:
            output = data
        elif not self.result_keys:
            output = result
        elif self.result_key is not None and type(data) is dict:
            # set_path's first step, for a ResultPath of one field ('$.field')
            output = dict(data)
            output[self.result_key] = result
        else:
            try:
                output = set_path(data, self.result_keys, result)
            except ResultPathError:
                raise frame.runtime_error(
                    f"Unable to apply ResultPath to the state input: the path "
                    f"{'.'.join(map(str, self.result_keys))!r} does not lead into an object "
                    f"in '{dumps(data)}'"
                ) from None
        if self.output_path is not None:
            try:
                output = self.output_path.select(output, frame)
            except StatesError as error:
                raise OutputPathFailure(error.error, error.cause) from None
        return output

    def _finish_jsonpath_assign(self, data: Any, result: Any, frame: Frame) -> Any:
        assert self.jsonpath_assign is not None
        values = self.jsonpath_assign.evaluate(result, frame)  # over the result, before ResultPath
        output = self._finish_jsonpath(data, result, frame)
        if values:
            commit(frame, values)
        return output

    async def recover(
        self, data: Any, frame: Frame, attempt: Callable[[], Awaitable[Any]], for_task: bool
    ) -> StepResult | Caught:
        """Runs ``attempt`` under this state's Retry and Catch rules."""
        counts = [0] * len(self.retriers)
        while True:
            frame.failed_at = None
            try:
                result = await attempt()
                if self.result_selector is not None:
                    result = evaluate_payload(self.result_selector, result, frame)
                return self.finish(data, result, frame), self.next
            except StatesError as error:
                if isinstance(error, OutputPathFailure):
                    raise
                failed_at, frame.failed_at = frame.failed_at, None
                delay: float | None = None
                for index, retrier in enumerate(self.retriers):
                    if error_matches(retrier.errors, error, for_task):
                        if counts[index] < retrier.max_attempts:
                            counts[index] += 1
                            delay = retrier.delay(counts[index])
                        break
                if delay is not None:
                    # A Map/Parallel retried records no StateFailed: its next attempt
                    # links to where the failing branch ended.
                    if failed_at is not None:
                        frame.prev = failed_at
                    frame.retry_count += 1
                    if not frame.waited_before():
                        await frame.execution.clock.sleep(delay)
                    continue
                if failed_at is not None:
                    frame.record_linked(self.type_name + "StateFailed", failed_at)
                for catcher in self.catchers:
                    if error_matches(catcher.errors, error, for_task):
                        return Caught(catcher.apply(data, error, frame), catcher.next)
                raise


class Machine:
    """A compiled StartAt + States: the top level, a Parallel branch or a Map processor."""

    __slots__ = ("start_at", "states", "sync")

    def __init__(self, start_at: str, states: dict[str, State]) -> None:
        self.start_at = start_at
        self.states = states
        self.sync = all(state.sync for state in states.values())
