"""TestState: run one state on its own, as Step Functions' TestState API does.

The state runs once through the same engine as an execution (no second interpreter):
it is placed in a machine of its own whose transition targets are Succeed states, so
the state that would come next is read from where control went. What AWS's answer
adds is derived from that run:

- ``status``: SUCCEEDED; FAILED; CAUGHT_ERROR when a Catch handles the error (the
  output is the catcher's, ``nextState`` its target); RETRIABLE when a Retrier would
  retry it (TestState does not wait and retry: it reports the retrier's index and
  back-off, counting ``retrier_retry_count`` retries as already made).
- ``inspectionData`` (DEBUG and TRACE): the input, the value after InputPath,
  Parameters or Arguments (what was sent, as recorded), the result, after
  ResultSelector and after ResultPath, and the variables after the state.
- a ``mock`` answers the Task instead of its resource (``Return`` or ``Throw``), as a
  test double does in an execution.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from workflows.engine.clock import VirtualClock
from workflows.engine.diagnostics import DefinitionError, Diagnostic, pointer
from workflows.engine.errors import StatesError
from workflows.engine.executor import run_machine
from workflows.engine.frame import Execution, Frame
from workflows.engine.history import dumps
from workflows.engine.lambdas import DEFAULT_ACCOUNT, DEFAULT_REGION, Handler, InProcessLambdas
from workflows.engine.mocks import MockPlan, Return, Throw
from workflows.engine.paths import ResultPathError, compile_path, set_path
from workflows.engine.payload import compile_template
from workflows.engine.states import compile_machine
from workflows.engine.states.common import Retrier, error_matches, evaluate_payload
from workflows.engine.tasks import ServiceIntegration, TaskRunner, TaskTokens

__all__ = ["InspectionLevel", "StateTestResult", "run_test_state"]

InspectionLevel = Literal["INFO", "DEBUG", "TRACE"]
_TEST_NAME: Final = "TestState"
# AWS runs these in TestState only with a mock of the whole state, which this
# implementation does not offer yet (docs/local-stepfunctions.md).
_NOT_LOCALLY: Final = ("Map", "Parallel")


@dataclass
class StateTestResult:
    """TestState's answer (``to_api`` gives it in the API's shape)."""

    status: Literal["SUCCEEDED", "FAILED", "RETRIABLE", "CAUGHT_ERROR"]
    output: Any = None
    has_output: bool = False
    error: str | None = None
    cause: str | None = None
    next_state: str | None = None
    inspection: dict[str, Any] = field(default_factory=dict)

    def to_api(self) -> dict[str, Any]:
        answer: dict[str, Any] = {}
        if self.has_output:
            answer["output"] = dumps(self.output)
        if self.error is not None:
            answer["error"] = self.error
        if self.cause is not None:
            answer["cause"] = self.cause
        if self.inspection:
            answer["inspectionData"] = self.inspection
        if self.next_state is not None:
            answer["nextState"] = self.next_state
        answer["status"] = self.status
        return answer


def _refuse(message: str, pointer: str = "") -> DefinitionError:
    return DefinitionError([Diagnostic("SCHEMA_VALIDATION_FAILED", message, pointer)])


def _select_state(
    definition: Mapping[str, Any], state_name: str | None
) -> tuple[str, dict[str, Any], str]:
    """(name, state definition, query language) from a state or a whole state machine."""
    if "States" in definition:
        states = definition.get("States")
        if not isinstance(states, dict) or not states:
            raise _refuse("The definition has no states", "/States")
        name = state_name if state_name is not None else definition.get("StartAt")
        if not isinstance(name, str) or name not in states:
            raise _refuse(f"State '{name}' is not in the definition's States", "/States")
        language = definition.get("QueryLanguage", "JSONPath")
        return name, dict(states[name]), str(language)
    if state_name is not None:
        raise _refuse("stateName is only allowed with a whole state machine definition")
    return _TEST_NAME, dict(definition), str(definition.get("QueryLanguage", "JSONPath"))


def _located(diagnostic: Diagnostic, name: str, *, whole_machine: bool) -> Diagnostic:
    """A problem of the harness, pointed at where it is in what the caller gave."""
    prefix = pointer("States", name)
    location = diagnostic.location
    if not whole_machine and location.startswith(prefix):
        location = location[len(prefix) :]
    return Diagnostic(diagnostic.code, diagnostic.message, location, diagnostic.severity)


def _targets(state: dict[str, Any]) -> list[str]:
    targets = []
    if isinstance(state.get("Next"), str):
        targets.append(state["Next"])
    if isinstance(state.get("Default"), str):
        targets.append(state["Default"])
    for rule in state.get("Choices") or ():
        if isinstance(rule, dict) and isinstance(rule.get("Next"), str):
            targets.append(rule["Next"])
    for catcher in state.get("Catch") or ():
        if isinstance(catcher, dict) and isinstance(catcher.get("Next"), str):
            targets.append(catcher["Next"])
    return list(dict.fromkeys(targets))


def _harness(name: str, state: dict[str, Any], language: str) -> dict[str, Any]:
    """The state in a machine of its own: every target is a Succeed, Retry is taken out
    (TestState reports a retry instead of making it)."""
    under_test = {k: v for k, v in state.items() if k != "Retry"}
    states: dict[str, Any] = {name: under_test}
    for target in _targets(state):
        if target != name:
            states[target] = {"Type": "Succeed", "QueryLanguage": language}
    machine: dict[str, Any] = {"StartAt": name, "States": states}
    if language != "JSONPath":
        machine["QueryLanguage"] = language
    return machine


def _retrier_for(
    state: dict[str, Any], error: StatesError, retry_count: int
) -> tuple[int, float] | None:
    """(index, back-off seconds) of the Retrier that would retry ``error`` next."""
    for_task = state.get("Type") == "Task"
    for index, spec in enumerate(state.get("Retry") or ()):
        retrier = Retrier(spec)
        if error_matches(retrier.errors, error, for_task):
            if retry_count >= retrier.max_attempts:
                return None
            return index, retrier.delay(retry_count + 1)
    return None


def _catch_index(state: dict[str, Any], error: StatesError) -> int | None:
    for_task = state.get("Type") == "Task"
    for index, spec in enumerate(state.get("Catch") or ()):
        if error_matches(frozenset(spec.get("ErrorEquals") or ()), error, for_task):
            return index
    return None


def _details(event: dict[str, Any]) -> dict[str, Any]:
    for key, value in event.items():
        if key.endswith("EventDetails") and isinstance(value, dict):
            return value
    return {}


def _parsed(text: Any) -> Any:
    return json.loads(text) if isinstance(text, str) else text


async def run_test_state(
    definition: Mapping[str, Any] | str,
    input: Any = None,
    *,
    state_name: str | None = None,
    inspection_level: InspectionLevel = "INFO",
    variables: Mapping[str, Any] | None = None,
    mock: Return | Throw | None = None,
    retrier_retry_count: int = 0,
    lambdas: Mapping[str, Handler] | None = None,
    integrations: Mapping[str, ServiceIntegration] | None = None,
    runner: TaskRunner | None = None,
    region: str = DEFAULT_REGION,
    account: str = DEFAULT_ACCOUNT,
) -> StateTestResult:
    """Run one state (``definition`` is a state, or a machine with ``state_name``)."""
    from workflows.engine.validation import validate_definition

    if isinstance(definition, str):
        try:
            definition = json.loads(definition)
        except json.JSONDecodeError as exc:
            raise _refuse(f"The definition is not valid JSON: {exc.msg}") from None
    if not isinstance(definition, Mapping):
        raise _refuse("The definition must be a JSON object")
    name, state, language = _select_state(definition, state_name)
    if state.get("Type") in _NOT_LOCALLY:
        raise _refuse(
            f"TestState of a {state.get('Type')} state needs a mock of the whole state, "
            "which the local TestState does not support yet",
            "/Type",
        )
    machine_definition = _harness(name, state, language)
    whole = "States" in definition
    errors = [
        _located(d, name, whole_machine=whole)
        for d in validate_definition(machine_definition)
        # the caller gives the variables a single state reads; problems outside the
        # state are the harness's (a machine-level check), not the caller's
        if d.severity == "ERROR"
        and d.code != "UNDEFINED_VARIABLE"
        and (whole or d.location.startswith(pointer("States", name)))
    ]
    if errors:
        raise DefinitionError(errors)
    machine = compile_machine(machine_definition, language)
    if runner is None:
        runner = TaskRunner(
            InProcessLambdas(lambdas or {}, region=region, account=account),
            integrations,
            TaskTokens(),
        )
    data = {} if input is None else copy.deepcopy(input)
    execution = Execution(
        name="TestState",
        arn=f"arn:aws:states:{region}:{account}:execution:TestState:TestState",
        state_machine_name="TestState",
        state_machine_arn=f"arn:aws:states:{region}:{account}:stateMachine:TestState",
        role_arn=f"arn:aws:iam::{account}:role/TestState",
        input=data,
        clock=VirtualClock(),
        tasks=runner,
        mocks=None if mock is None else MockPlan.of({name: mock}).session(),
    )
    frame = Frame(execution, 0, None, dict(variables) if variables else None)
    failure: StatesError | None = None
    output: Any = None
    try:
        output = await run_machine(machine, data, frame)
    except StatesError as error:
        failure = error
    events = execution.history.events()
    result = _judge(name, state, events, output, failure, retrier_retry_count)
    if inspection_level != "INFO":
        result.inspection = _inspect(state, language, data, events, frame, result)
    return result


def _judge(
    name: str,
    state: dict[str, Any],
    events: list[dict[str, Any]],
    output: Any,
    failure: StatesError | None,
    retry_count: int,
) -> StateTestResult:
    failed_event = next(
        (
            e
            for e in events
            if e["type"].endswith(("Failed", "TimedOut")) and "error" in _details(e)
        ),
        None,
    )
    error = failure.error if failure is not None else None
    cause = failure.cause if failure is not None else None
    if failure is None and failed_event is not None:  # failed, then caught
        error, cause = _details(failed_event).get("error"), _details(failed_event).get("cause")
    if error is not None or failure is not None:
        raised = failure if failure is not None else StatesError(error, cause)
        retry = _retrier_for(state, raised, retry_count)
        if retry is not None:
            outcome = StateTestResult("RETRIABLE", error=error, cause=cause)
            outcome.inspection = {
                "errorDetails": {
                    "retryIndex": retry[0],
                    "retryBackoffIntervalSeconds": int(retry[1]),
                }
            }
            return outcome
    if failure is not None:
        return StateTestResult("FAILED", error=error, cause=cause)
    entered = [e for e in events if e["type"].endswith("StateEntered")]
    next_state = entered[1]["stateEnteredEventDetails"]["name"] if len(entered) > 1 else None
    exited = next(
        (e for e in events if e["type"].endswith("StateExited") and _details(e)["name"] == name),
        None,
    )
    state_output = _parsed(_details(exited)["output"]) if exited is not None else output
    if error is not None:
        catch_index = _catch_index(state, StatesError(error, cause))
        outcome = StateTestResult(
            "CAUGHT_ERROR",
            output=state_output,
            has_output=True,
            error=error,
            cause=cause,
            next_state=next_state,
        )
        if catch_index is not None:
            outcome.inspection = {"errorDetails": {"catchIndex": catch_index}}
        return outcome
    return StateTestResult("SUCCEEDED", output=state_output, has_output=True, next_state=next_state)


def _inspect(
    state: dict[str, Any],
    language: str,
    data: Any,
    events: list[dict[str, Any]],
    frame: Frame,
    result: StateTestResult,
) -> dict[str, Any]:
    """What each step of the state's data flow gave (DEBUG), from the run's own events
    where they recorded it, else by applying the step again (paths are pure)."""
    inspection: dict[str, Any] = {"input": dumps(data)}
    inspection.update(result.inspection)
    sent = next(
        (
            _details(e).get("parameters", _details(e).get("input"))
            for e in events
            if e["type"] in ("TaskScheduled", "LambdaFunctionScheduled")
        ),
        None,
    )
    answered = next(
        (
            _details(e).get("output")
            for e in events
            if e["type"] in ("TaskSucceeded", "LambdaFunctionSucceeded")
        ),
        None,
    )
    kind = state.get("Type")
    if language == "JSONata":
        if sent is not None:
            inspection["afterArguments"] = sent
        if answered is not None:
            inspection["result"] = answered
    else:
        effective = data
        if "InputPath" in state:
            path = state["InputPath"]
            effective = {} if path is None else compile_path(path).get(data)
        inspection["afterInputPath"] = dumps(effective)
        if sent is not None:
            inspection["afterParameters"] = sent
        elif kind == "Pass" and "Parameters" in state:
            inspection["afterParameters"] = dumps(
                evaluate_payload(compile_template(state["Parameters"]), effective, frame)
            )
        value: Any = None
        if answered is not None:
            value = _parsed(answered)
        elif kind == "Pass":
            value = state.get(
                "Result", _parsed(inspection.get("afterParameters", dumps(effective)))
            )
        if answered is not None or kind == "Pass":
            inspection["result"] = dumps(value)
            if "ResultSelector" in state:
                value = evaluate_payload(compile_template(state["ResultSelector"]), value, frame)
                inspection["afterResultSelector"] = dumps(value)
            if result.status == "SUCCEEDED" and kind in ("Pass", "Task"):
                inspection["afterResultPath"] = dumps(_after_result_path(state, data, value))
    if frame.variables:
        inspection["variables"] = dumps(frame.variables)
    return inspection


def _after_result_path(state: dict[str, Any], data: Any, value: Any) -> Any:
    if "ResultPath" not in state:
        return value
    path = state["ResultPath"]
    if path is None:
        return data
    keys = compile_path(path).keys or ()
    if not keys:
        return value
    try:
        return set_path(data, keys, value)
    except ResultPathError:
        return value
