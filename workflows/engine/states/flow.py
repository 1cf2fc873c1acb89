"""States that only move data and control: Pass, Succeed, Fail, Wait, Choice."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from workflows.engine.errors import StatesError
from workflows.engine.frame import Frame
from workflows.engine.history import dumps
from workflows.engine.jsonata_expr import (
    JsonataTemplate,
    QueryError,
    compile_template,
    is_expression,
)
from workflows.engine.lambdas import to_json_bytes
from workflows.engine.paths import JsonPath, PathNotFound, compile_path, resolve
from workflows.engine.payload import Template
from workflows.engine.payload import compile_template as compile_payload
from workflows.engine.states.common import (
    FailError,
    ResultState,
    State,
    StepResult,
    evaluate_field,
    evaluate_payload,
    jayway,
    jsonata_field,
    optional_path,
    query_failure,
    query_type_failure,
)
from workflows.engine.variables import JsonataAssign, JsonPathAssign, commit

if TYPE_CHECKING:
    from workflows.engine.choice import Chooser

__all__ = ["ChoiceState", "FailState", "PassState", "SucceedState", "WaitState"]


class PassState(ResultState):
    type_name = "Pass"

    def __init__(self, name: str, definition: dict[str, Any], language: str = "JSONPath") -> None:
        super().__init__(name, definition, language)
        self.has_result = "Result" in definition
        self.result = definition.get("Result")
        # the Result's JSON size, for the output's size check (executor._output_size)
        self.result_size = len(to_json_bytes(self.result)) if self.has_result else -1
        if not self.has_result and self.parameters is not None:
            self.payload_bound = self.parameters.size_bound
        if self.jsonata:
            self.step = self._step_jsonata  # type: ignore[method-assign]

    def _step_jsonata(self, data: Any, frame: Frame) -> StepResult:
        return self.finish_jsonata(self.states(data, frame), data, frame), self.next

    def step(self, data: Any, frame: Frame) -> StepResult:
        effective = data if self.input_path is None else self.input_path.select(data, frame)
        if self.has_result:
            result = self.result
            frame.result_size = self.result_size
        elif self.parameters is not None:
            result = evaluate_payload(self.parameters, effective, frame)
        else:
            result = effective
        return self.finish(data, result, frame), self.next


class SucceedState(State):
    type_name = "Succeed"

    def step(self, data: Any, frame: Frame) -> StepResult:
        if self.jsonata:
            return self.finish_jsonata(self.states(data, frame), data, frame), None
        if self.input_path is not None:
            data = self.input_path.select(data, frame)
        if self.output_path is not None:
            data = self.output_path.select(data, frame)
        return data, None


def source_text(source: Template | JsonPath) -> str:
    return source.text if isinstance(source, JsonPath) else "intrinsic function"


def _dynamic_text(text: str | None) -> Template | JsonPath | None:
    """ErrorPath/CausePath: a path or an intrinsic function."""
    if text is None:
        return None
    if text.startswith("States."):
        return compile_payload({"value.$": text})
    return compile_path(text)


class FailState(State):
    type_name = "Fail"
    records_exit = False

    def __init__(self, name: str, definition: dict[str, Any], language: str = "JSONPath") -> None:
        super().__init__(name, definition, language)
        self.error = definition.get("Error")
        self.cause = definition.get("Cause")
        self.error_path = _dynamic_text(definition.get("ErrorPath"))
        self.cause_path = _dynamic_text(definition.get("CausePath"))
        self.error_expression: JsonataTemplate | None = None
        self.cause_expression: JsonataTemplate | None = None
        if self.jsonata:
            if is_expression(self.error):
                self.error_expression = compile_template(self.error, "Error")
            if is_expression(self.cause):
                self.cause_expression = compile_template(self.cause, "Cause")

    def step(self, data: Any, frame: Frame) -> StepResult:
        error = self.error
        cause = self.cause
        if self.error_expression is not None:
            error = self._expression(self.error_expression, "Error", data, frame)
        if self.cause_expression is not None:
            cause = self._expression(self.cause_expression, "Cause", data, frame)
        if self.error_path is not None:
            error = self._text(self.error_path, "ErrorPath", data, frame)
        if self.cause_path is not None:
            cause = self._text(self.cause_path, "CausePath", data, frame)
        raise FailError(error, cause)

    def _expression(self, template: JsonataTemplate, field: str, data: Any, frame: Frame) -> str:
        value = evaluate_field(template, self.states(data, frame, template.uses_context), frame)
        if not isinstance(value, str):
            raise query_type_failure(frame, template, field, value, "string")
        return value

    def _text(self, source: Template | JsonPath, field: str, data: Any, frame: Frame) -> str:
        if isinstance(source, Template):
            value = evaluate_payload(source, data, frame)["value"]
        else:
            try:
                value = resolve(source, data, frame.context(), frame.variables)
            except PathNotFound:
                raise frame.runtime_error(
                    f"Invalid path '{source.text}' : No results for path: {jayway(source)}"
                ) from None
        if not isinstance(value, str):
            raise frame.runtime_error(
                f"The {field} parameter does not reference a string: {source_text(source)} == "
                f"{dumps(value)}"
            )
        return value


def parse_timestamp(text: Any) -> float | None:
    if not isinstance(text, str) or "T" not in text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return moment.timestamp()


class WaitState(State):
    type_name = "Wait"
    sync = False

    def __init__(self, name: str, definition: dict[str, Any], language: str = "JSONPath") -> None:
        super().__init__(name, definition, language)
        self.seconds = definition.get("Seconds")
        timestamp = definition.get("Timestamp")
        self.seconds_expression: JsonataTemplate | None = None
        self.timestamp_expression: JsonataTemplate | None = None
        if self.jsonata and is_expression(self.seconds):
            self.seconds_expression = compile_template(self.seconds, "Seconds")
            self.seconds = None
        if self.jsonata and is_expression(timestamp):
            self.timestamp_expression = compile_template(timestamp, "Timestamp")
            timestamp = None
        self.timestamp = parse_timestamp(timestamp) if timestamp is not None else None
        self.seconds_path = optional_path(definition.get("SecondsPath"))
        self.timestamp_path = optional_path(definition.get("TimestampPath"))

    async def astep(self, data: Any, frame: Frame) -> StepResult:
        if self.jsonata:
            return await self._astep_jsonata(data, frame)
        effective = data if self.input_path is None else self.input_path.select(data, frame)
        clock = frame.execution.clock
        if self.seconds is not None:
            delay = float(self.seconds)
        elif self.timestamp is not None:
            delay = self.timestamp - clock.now()
        elif self.seconds_path is not None:
            delay = self._seconds_from_path(self.seconds_path, effective, frame)
        else:
            assert self.timestamp_path is not None
            delay = self._timestamp_from_path(self.timestamp_path, effective, frame) - clock.now()
        if not frame.waited_before():
            await clock.sleep(max(0.0, delay))
        return self.finish_plain(effective, frame), self.next

    async def _astep_jsonata(self, data: Any, frame: Frame) -> StepResult:
        clock = frame.execution.clock
        if self.seconds_expression is not None:
            template = self.seconds_expression
            value = evaluate_field(template, self.states(data, frame, template.uses_context), frame)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise query_type_failure(frame, template, "Seconds", value, "number")
            if not float(value).is_integer() or value < 0:
                raise query_failure(
                    frame,
                    QueryError(
                        f"The Seconds field must be a non-negative integer, but was: "
                        f"{dumps(value)}",
                        "Seconds",
                    ),
                )
            delay = float(value)
        elif self.timestamp_expression is not None:
            template = self.timestamp_expression
            value = evaluate_field(template, self.states(data, frame, template.uses_context), frame)
            moment = parse_timestamp(value)
            if moment is None:
                if not isinstance(value, str):
                    raise query_type_failure(frame, template, "Timestamp", value, "string")
                raise query_failure(
                    frame,
                    QueryError(
                        f"The Timestamp field does not hold a valid ISO-8601 extended offset "
                        f"date-time format string: {dumps(value)}",
                        "Timestamp",
                    ),
                )
            delay = moment - clock.now()
        elif self.seconds is not None:
            delay = float(self.seconds)
        else:
            delay = (self.timestamp or 0.0) - clock.now()
        if not frame.waited_before():
            await clock.sleep(max(0.0, delay))
        return self.finish_jsonata(self.states(data, frame), data, frame), self.next

    def _lookup(self, path: JsonPath, data: Any, frame: Frame) -> Any:
        try:
            return resolve(path, data, frame.context(), frame.variables)
        except PathNotFound:
            raise frame.runtime_error(
                f"Invalid path '{path.text}' : No results for path: {jayway(path)}"
            ) from None

    def _seconds_from_path(self, path: JsonPath, data: Any, frame: Frame) -> float:
        value = self._lookup(path, data, frame)
        if isinstance(value, bool) or not isinstance(value, int):
            raise frame.runtime_error(
                f"The SecondsPath parameter cannot be parsed as a long value: "
                f"{path.text} == {dumps(value)}"
            )
        if value < 0:
            raise frame.runtime_error(
                f"The SecondsPath parameter references a negative value: {path.text} == {value}"
            )
        return float(value)

    def _timestamp_from_path(self, path: JsonPath, data: Any, frame: Frame) -> float:
        value = self._lookup(path, data, frame)
        parsed = parse_timestamp(value) if isinstance(value, str) else None
        if parsed is None:
            raise frame.runtime_error(
                f"The TimestampPath parameter does not reference a valid ISO-8601 extended "
                f"offset date-time format string: {path.text} == {dumps(value)}"
            )
        return parsed


class _JsonataRule:
    """A JSONata Choice rule: a Condition, and the Output/Assign taken with it."""

    __slots__ = ("assign", "condition", "constant", "next", "output", "uses_context")

    def __init__(self, rule: dict[str, Any]) -> None:
        condition = rule.get("Condition")
        self.constant: bool | None = condition if type(condition) is bool else None
        self.condition = (
            compile_template(condition, "Condition") if is_expression(condition) else None
        )
        if self.condition is None and self.constant is None:
            # validation rejects this; compile a literal so that running it fails clearly
            self.condition = compile_template("{% " + dumps(condition) + " %}", "Condition")
        self.next: str | None = rule.get("Next")
        self.output = jsonata_field(rule, "Output")
        self.assign = JsonataAssign(rule["Assign"]) if "Assign" in rule else None
        self.uses_context = bool(
            (self.condition and self.condition.uses_context)
            or (self.output and self.output.uses_context)
            or (self.assign and self.assign.uses_context)
        )

    def matches(self, states: dict[str, Any], frame: Frame) -> bool:
        if self.constant is not None:
            return self.constant
        template = self.condition
        assert template is not None
        value = evaluate_field(template, states, frame)
        if type(value) is not bool:
            raise query_type_failure(frame, template, "Condition", value, "boolean")
        return value


class ChoiceState(State):
    type_name = "Choice"

    def __init__(self, name: str, definition: dict[str, Any], language: str = "JSONPath") -> None:
        super().__init__(name, definition, language)
        self.default: str | None = definition.get("Default")
        choices = definition.get("Choices", ())
        self.rule_assigns: list[JsonPathAssign | None] = []
        self.choose: Chooser | None = None
        if self.jsonata:
            self.jsonata_rules = [_JsonataRule(rule) for rule in choices]
            self.rules = []
            self.uses_context = self.uses_context or any(
                rule.uses_context for rule in self.jsonata_rules
            )
        else:
            from workflows.engine.choice import compile_choices, compile_rule

            self.jsonata_rules = []
            self.rules = [compile_rule(rule) for rule in choices]
            # the rules as one generated function; the closures above raise its errors
            self.choose = compile_choices(choices)
            self.rule_assigns = [
                JsonPathAssign(rule["Assign"]) if "Assign" in rule else None for rule in choices
            ]
            self.rule_uses_context = any(rule.uses_context for rule in self.rules)

    def transitions(self) -> list[str]:
        if self.jsonata:
            targets = [rule.next for rule in self.jsonata_rules if rule.next]
        else:
            targets = [rule.next for rule in self.rules if rule.next]
        return targets + ([self.default] if self.default else [])

    def _no_match(self, frame: Frame) -> StatesError:
        return StatesError(
            "States.NoChoiceMatched",
            frame.error_prefix() + "Failed to transition out of the state. "
            "The state does not point to a next state.",
        )

    def step(self, data: Any, frame: Frame) -> StepResult:
        if self.jsonata:
            return self._step_jsonata(data, frame)
        effective = data if self.input_path is None else self.input_path.select(data, frame)
        context = frame.context() if self.rule_uses_context else None
        variables = frame.variables
        target = None
        assign = self.jsonpath_assign
        if self.choose is None:
            index = self._first_match(effective, context, variables, frame)
        else:
            try:
                index = self.choose(effective, context, variables)
            except Exception:  # a path that selects nothing: the closures raise AWS's error
                index = self._first_match(effective, context, variables, frame)
        if index >= 0:
            target = self.rules[index].next
            assign = self.rule_assigns[index]
        if target is None:
            target = self.default
        if target is None:
            raise self._no_match(frame)
        values = assign.evaluate(effective, frame) if assign is not None else None
        if self.output_path is not None:
            effective = self.output_path.select(effective, frame)
        if values:
            commit(frame, values)
        return effective, target

    def _first_match(self, effective: Any, context: Any, variables: Any, frame: Frame) -> int:
        """The index of the first rule that holds (-1: none), by the rules' closures."""
        try:
            for index, rule in enumerate(self.rules):
                if rule.matches(effective, context, variables):
                    return index
        except StatesError as error:
            raise frame.in_state(error) from None
        return -1

    def _step_jsonata(self, data: Any, frame: Frame) -> StepResult:
        states = self.states(data, frame)
        for rule in self.jsonata_rules:
            if rule.matches(states, frame):
                values = None
                if rule.assign is not None:
                    try:
                        values = rule.assign.evaluate(states, frame.variables)
                    except QueryError as error:
                        raise query_failure(frame, error) from None
                output = data if rule.output is None else evaluate_field(rule.output, states, frame)
                if values:
                    commit(frame, values)
                return output, rule.next
        if self.default is None:
            raise self._no_match(frame)
        return self.finish_jsonata(states, data, frame), self.default
