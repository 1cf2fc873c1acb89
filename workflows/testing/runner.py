"""``WorkflowRunner``: run a project's state machines in tests, mocked and on virtual time."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from workflows import definitions
from workflows.engine import MockPlan, StateMachine, VirtualClock
from workflows.engine.lambdas import Handler
from workflows.engine.machine import ExecutionResult
from workflows.engine.mocks import MockSpec
from workflows.engine.tasks import ServiceIntegration, TaskTokens

__all__ = ["WorkflowRunner", "states_entered", "task_attempts"]


class WorkflowRunner:
    """Loads definitions from ``root/state_machines`` once and runs them."""

    def __init__(self, root: Path, clock: VirtualClock | None = None) -> None:
        self.root = root
        self.clock = clock or VirtualClock()
        self.tokens = TaskTokens()
        self._machines: dict[tuple[str, tuple[tuple[str, str], ...]], StateMachine] = {}

    def load(
        self, reference: str | Path, substitutions: Mapping[str, str] | None = None
    ) -> StateMachine:
        """The state machine ``reference`` names, placeholders filled (stand-ins by default)."""
        key = (str(reference), tuple(sorted((substitutions or {}).items())))
        machine = self._machines.get(key)
        if machine is None:
            path = definitions.find_definition(reference, self.root)
            text = definitions.substitute(path.read_text(), substitutions or {}, stand_ins=True)
            machine = StateMachine(text, name=path.name.split(".")[0])
            self._machines[key] = machine
        return machine

    def run(
        self,
        reference: str | Path,
        input: Any = None,
        *,
        mocks: MockPlan | Mapping[str, MockSpec] | None = None,
        mock_config: str | Path | Mapping[str, Any] | None = None,
        test_case: str | None = None,
        lambdas: Mapping[str, Handler] | None = None,
        integrations: Mapping[str, ServiceIntegration] | None = None,
        substitutions: Mapping[str, str] | None = None,
        name: str | None = None,
    ) -> ExecutionResult:
        """One execution to its end. ``mock_config`` + ``test_case``: an AWS mock config."""
        machine = self.load(reference, substitutions)
        if mock_config is not None:
            if test_case is None:
                raise ValueError("mock_config needs test_case (a TestCases entry)")
            mocks = MockPlan.from_config(mock_config, machine.name, test_case)
        return machine.run(
            input,
            lambdas=lambdas,
            integrations=integrations,
            clock=self.clock,
            tokens=self.tokens,
            name=name,
            handler_mode="inline",
            mocks=mocks,
        )

    async def execute(
        self,
        reference: str | Path,
        input: Any = None,
        *,
        mocks: MockPlan | Mapping[str, MockSpec] | None = None,
        lambdas: Mapping[str, Handler] | None = None,
        integrations: Mapping[str, ServiceIntegration] | None = None,
        substitutions: Mapping[str, str] | None = None,
        name: str | None = None,
    ) -> ExecutionResult:
        """As ``run``, on the running event loop (to answer task tokens meanwhile)."""
        machine = self.load(reference, substitutions)
        return await machine.execute(
            input,
            lambdas=lambdas,
            integrations=integrations,
            clock=self.clock,
            tokens=self.tokens,
            name=name,
            mocks=mocks,
        )


def states_entered(result: ExecutionResult) -> list[str]:
    """The names of the states the execution entered, in order (Map/Parallel inner ones too)."""
    return [
        event["stateEnteredEventDetails"]["name"]
        for event in result.history
        if event["type"].endswith("StateEntered")
    ]


def task_attempts(result: ExecutionResult, state: str) -> int:
    """How many times the Task state ``state`` called its resource (retries included)."""
    attempts = 0
    current = None
    for event in result.history:
        if event["type"].endswith("StateEntered"):
            current = event["stateEnteredEventDetails"]["name"]
        elif event["type"] in ("TaskScheduled", "LambdaFunctionScheduled") and current == state:
            attempts += 1
    return attempts
