"""``StateMachine``: parse and validate a definition once, run it many times."""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from workflows.engine.clock import Clock, RealClock, VirtualClock
from workflows.engine.diagnostics import DefinitionError, Diagnostic
from workflows.engine.errors import StatesError
from workflows.engine.executor import run_machine
from workflows.engine.frame import Execution, Frame
from workflows.engine.history import History
from workflows.engine.lambdas import (
    DEFAULT_ACCOUNT,
    DEFAULT_REGION,
    Handler,
    HandlerMode,
    InProcessLambdas,
    sized_json_copy,
)
from workflows.engine.mocks import MockPlan, MockSpec
from workflows.engine.replay import ReplayDiverged
from workflows.engine.states import Machine, compile_machine
from workflows.engine.sync_runner import run_sync
from workflows.engine.tasks import ServiceIntegration, TaskRunner, TaskTokens

__all__ = [
    "ExecutionResult",
    "StateMachine",
    "Status",
    "observe_child_executions",
    "observe_executions",
]

Status = Literal["RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"]


# Execution names are uuid4s drawn from a generator of our own, seeded from os.urandom
# (at import and again in a forked child, which would otherwise repeat its parent's
# names): an os.urandom call and a bytearray per execution cost ~1.5 us of the
# ~35 us a one-state execution takes. Not the module-level ``random``: a program
# that seeds it (tests do) must not make names repeat.
_names: Final = random.Random()
os.register_at_fork(after_in_child=_names.seed)
_UUID4_CLEAR: Final = ~((0xF << 76) | (0x3 << 62))  # version and variant bits
_UUID4_SET: Final = (0x4 << 76) | (0x2 << 62)  # version 4, RFC 4122 variant


def _random_name() -> str:
    """A name as ``str(uuid.uuid4())`` spells it, without building a UUID object."""
    text = "%032x" % (_names.getrandbits(128) & _UUID4_CLEAR | _UUID4_SET)
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


# clocks whose waits are the engine's own code (no user code on the loop)
_OWN_CLOCKS: Final = (RealClock, VirtualClock)

_NAME = re.compile(r"^[^\s<>{}\[\]?*\"#%\\^|~`$&,;:/\x00-\x1f\x7f-\x9f]{1,80}$")


ExecutionObserver = Callable[["StateMachine", "ExecutionResult"], None]
# Told of every execution that ends (test coverage); empty, it costs one check.
_OBSERVERS: list[ExecutionObserver] = []


def observe_executions(observer: ExecutionObserver) -> Callable[[], None]:
    """Call ``observer(machine, result)`` after each execution ends; returns the undo."""
    _OBSERVERS.append(observer)
    return lambda: _OBSERVERS.remove(observer)


ChildObserver = Callable[[Mapping[str, Any], "ExecutionResult"], None]
# Told of every child execution of a Distributed Map that ends, with the ItemProcessor
# it ran (test coverage of the states inside it).
_CHILD_OBSERVERS: list[ChildObserver] = []


def observe_child_executions(observer: ChildObserver) -> Callable[[], None]:
    """Call ``observer(processor, result)`` after each child execution of a Distributed
    Map ends (``processor``: its ItemProcessor definition); returns the undo."""
    _CHILD_OBSERVERS.append(observer)
    return lambda: _CHILD_OBSERVERS.remove(observer)


def child_execution_ended(processor: Mapping[str, Any], result: ExecutionResult) -> None:
    for observer in _CHILD_OBSERVERS:
        observer(processor, result)


@dataclass
class ExecutionResult:
    """How an execution ended, and everything it recorded on the way."""

    status: Status
    execution_arn: str
    name: str
    input: Any
    output: Any = None
    error: str | None = None
    cause: str | None = None
    start_date: float = 0.0
    stop_date: float = 0.0
    _history: History = field(default_factory=History, repr=False)

    @property
    def history(self) -> list[dict[str, Any]]:
        """Events in the shape of GetExecutionHistory (oldest first)."""
        return self._history.events()

    @property
    def succeeded(self) -> bool:
        return self.status == "SUCCEEDED"


class StateMachine:
    """A parsed, validated, compiled state machine.

    >>> sm = StateMachine({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}})
    >>> sm.run({"x": 1}).output
    {'x': 1}
    """

    def __init__(
        self,
        definition: Mapping[str, Any] | str | bytes,
        *,
        name: str = "StateMachine",
        region: str = DEFAULT_REGION,
        account: str = DEFAULT_ACCOUNT,
        role_arn: str | None = None,
        machine_type: Literal["STANDARD", "EXPRESS"] = "STANDARD",
    ) -> None:
        self.definition = _parse(definition)
        from workflows.engine.validation import validate_definition

        diagnostics = validate_definition(self.definition, machine_type=machine_type)
        errors = [d for d in diagnostics if d.severity == "ERROR"]
        if errors:
            raise DefinitionError(errors)
        self.name = name
        self.region = region
        self.account = account
        self.arn = f"arn:aws:states:{region}:{account}:stateMachine:{name}"
        self.machine_type = machine_type
        self.role_arn = role_arn or f"arn:aws:iam::{account}:role/StepFunctionsExecutionRole"
        self.timeout_seconds: int | None = self.definition.get("TimeoutSeconds")
        self._kept_lambdas: tuple[str, tuple[tuple[str, Handler], ...], InProcessLambdas] | None
        self._kept_lambdas = None
        self._machine: Machine = compile_machine(
            self.definition, self.definition.get("QueryLanguage", "JSONPath")
        )

    def run(
        self,
        input: Any = None,
        *,
        lambdas: Mapping[str, Handler] | None = None,
        clock: Clock | None = None,
        name: str | None = None,
        integrations: Mapping[str, ServiceIntegration] | None = None,
        tokens: TaskTokens | None = None,
        handler_mode: HandlerMode = "thread",
        mocks: MockPlan | Mapping[str, MockSpec] | None = None,
    ) -> ExecutionResult:
        """Run one execution to its end, synchronously (on this thread's event loop)."""
        # (no RuntimeError raised and caught per call, as get_running_loop would)
        if asyncio._get_running_loop() is not None:
            raise RuntimeError(
                "StateMachine.run() cannot be called from a running event loop; "
                "use 'await StateMachine.execute(...)' instead"
            )
        return run_sync(
            self.execute(
                input,
                lambdas=lambdas,
                clock=clock,
                name=name,
                integrations=integrations,
                tokens=tokens,
                handler_mode=handler_mode,
                mocks=mocks,
            ),
            # no code of the caller's but handlers on the loop (which take care:
            # sync_runner.ensure_task): the first step needs no task
            taskless=integrations is None and (clock is None or type(clock) in _OWN_CLOCKS),
        )

    async def execute(
        self,
        input: Any = None,
        *,
        lambdas: Mapping[str, Handler] | None = None,
        clock: Clock | None = None,
        name: str | None = None,
        integrations: Mapping[str, ServiceIntegration] | None = None,
        tokens: TaskTokens | None = None,
        handler_mode: HandlerMode = "thread",
        runner: TaskRunner | None = None,
        history: History | None = None,
        mocks: MockPlan | Mapping[str, MockSpec] | None = None,
        execution_arn: str | None = None,
    ) -> ExecutionResult:
        """Run one execution to its end on the current event loop.

        ``mocks`` answers Task states by name without calling their resources: a
        ``MockPlan`` (e.g. from an AWS Step Functions Local mock config) or
        ``{"State": Return(...) | Throw(...) | [answers in turn]}``.
        """
        if runner is None:
            runner = TaskRunner(self._in_process(lambdas, handler_mode), integrations, tokens)
        if name is None:
            name = _random_name()
        elif not _NAME.match(name):
            raise ValueError(
                f"Invalid execution name {name!r}: 1-80 characters, no whitespace "
                'or any of < > { } [ ] ? * " # % \\ ^ | ~ ` $ & , ; : /'
            )
        data, input_size = ({}, 2) if input is None else sized_json_copy(input)
        execution = Execution(
            name=name,
            arn=execution_arn or self.execution_arn(name),
            state_machine_name=self.name,
            state_machine_arn=self.arn,
            role_arn=self.role_arn,
            input=data,
            clock=clock or RealClock(),
            tasks=runner,
            history=history,
            mocks=None if mocks is None else _plan(mocks).session(),
        )
        result = await run_execution(self._machine, execution, self.timeout_seconds, input_size)
        for observer in _OBSERVERS:
            observer(self, result)
        return result

    def _in_process(
        self, lambdas: Mapping[str, Handler] | None, mode: HandlerMode
    ) -> InProcessLambdas:
        """The handlers as InProcessLambdas, the same one again while they are the same
        (it resolves each function reference once; tests pass one dict every time)."""
        handlers = tuple(lambdas.items()) if lambdas else ()
        kept = self._kept_lambdas
        if kept is not None and kept[0] == mode and kept[1] == handlers:
            return kept[2]
        made = InProcessLambdas(dict(handlers), mode=mode, region=self.region, account=self.account)
        self._kept_lambdas = (mode, handlers, made)
        return made

    def execution_arn(self, name: str) -> str:
        """The ARN of an execution called ``name``; an EXPRESS one is unique, as on AWS
        (``...:express:MACHINE:NAME:UUID``: Express workflows do not reserve names)."""
        if self.machine_type == "EXPRESS":
            return (
                f"arn:aws:states:{self.region}:{self.account}:express:{self.name}:{name}"
                f":{uuid.uuid4()}"
            )
        return f"arn:aws:states:{self.region}:{self.account}:execution:{self.name}:{name}"


async def run_execution(
    machine: Machine, execution: Execution, timeout_seconds: int | None, input_size: int = -1
) -> ExecutionResult:
    """Run ``execution`` to its end (``input_size``: an upper bound of the JSON size of
    its input, when known)."""
    frame = Frame(execution)
    # AWS links the first state's entered event to 0, not to ExecutionStarted.
    execution.history.add(
        "ExecutionStarted",
        execution.now(),
        0,
        {"input": execution.input, "roleArn": execution.role_arn},
    )
    result = ExecutionResult(
        status="RUNNING",
        execution_arn=execution.arn,
        name=execution.name,
        input=execution.input,
        start_date=execution.start_time,
        _history=execution.history,
    )
    replay = execution.history.replay
    try:
        if timeout_seconds is None:
            output = await run_machine(machine, execution.input, frame, input_size)
        else:
            seconds: float = timeout_seconds
            if replay is not None and replay.redriven_at is not None:
                seconds += replay.redriven_at - execution.start_time
            output = await _run_with_deadline(machine, execution, frame, seconds)
    except _ExecutionTimedOut:
        result.status, result.error = "TIMED_OUT", "States.Timeout"
        frame.record("ExecutionTimedOut", {"error": "States.Timeout"})
    except StatesError as error:
        result.status, result.error, result.cause = "FAILED", error.error, error.cause
        details = {
            k: v for k, v in (("error", error.error), ("cause", error.cause)) if v is not None
        }
        frame.record("ExecutionFailed", details)
    except ReplayDiverged as diverged:
        # an execution resumed under a changed definition cannot go on truthfully
        result.status, result.error, result.cause = "ABORTED", "States.Runtime", str(diverged)
        frame.record("ExecutionAborted", {"error": "States.Runtime", "cause": str(diverged)})
    except asyncio.CancelledError:
        result.status = "ABORTED"
        frame.record("ExecutionAborted", {})
        result.stop_date = execution.clock.now()
        raise
    else:
        result.status, result.output = "SUCCEEDED", output
        frame.record("ExecutionSucceeded", {"output": output})
    result.stop_date = execution.now()
    return result


class _ExecutionTimedOut(Exception):
    pass


async def _run_with_deadline(
    machine: Machine, execution: Execution, frame: Frame, seconds: float
) -> Any:
    work = asyncio.ensure_future(run_machine(machine, execution.input, frame))
    sleeper = asyncio.ensure_future(execution.clock.sleep(seconds))
    try:
        await asyncio.wait({work, sleeper}, return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:
        # stopped (StopExecution): the states stop too, before ExecutionAborted is recorded
        work.cancel()
        await asyncio.gather(work, return_exceptions=True)
        raise
    finally:
        sleeper.cancel()
    if work.done():
        return work.result()
    work.cancel()
    await asyncio.gather(work, return_exceptions=True)
    raise _ExecutionTimedOut


def _parse(definition: Mapping[str, Any] | str | bytes) -> dict[str, Any]:
    if isinstance(definition, str | bytes):
        try:
            parsed = json.loads(definition)
        except UnicodeDecodeError as exc:
            raise DefinitionError(
                [Diagnostic("INVALID_JSON_DESCRIPTION", f"The definition is not UTF-8: {exc}", "")]
            ) from None
        except json.JSONDecodeError as exc:
            raise DefinitionError(
                [
                    Diagnostic(
                        "INVALID_JSON_DESCRIPTION",
                        f"The definition is not valid JSON: {exc.msg} "
                        f"(line {exc.lineno}, column {exc.colno})",
                        "",
                    )
                ]
            ) from None
    else:
        parsed = dict(definition)
    if not isinstance(parsed, dict):
        raise DefinitionError(
            [Diagnostic("SCHEMA_VALIDATION_FAILED", "The definition must be a JSON object", "")]
        )
    return parsed


def _plan(mocks: MockPlan | Mapping[str, MockSpec]) -> MockPlan:
    return mocks if isinstance(mocks, MockPlan) else MockPlan.of(mocks)
