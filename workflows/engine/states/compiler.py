"""Compile a validated StartAt/States object into a ``Machine``, once per definition."""

from __future__ import annotations

from typing import Any, Final

from workflows.engine.states.common import Machine, State
from workflows.engine.states.flow import ChoiceState, FailState, PassState, SucceedState, WaitState
from workflows.engine.states.parallel import MapState, ParallelState
from workflows.engine.states.task import TaskState

__all__ = ["compile_machine"]

_STATE_TYPES: Final[dict[str, type[State]]] = {
    "Pass": PassState,
    "Succeed": SucceedState,
    "Fail": FailState,
    "Wait": WaitState,
    "Choice": ChoiceState,
    "Task": TaskState,
    "Parallel": ParallelState,
    "Map": MapState,
}


def compile_machine(definition: dict[str, Any], language: str = "JSONPath") -> Machine:
    """Compile the top level, a Parallel branch or a Map processor.

    ``language`` is the query language in effect around it; the object's own
    ``QueryLanguage`` and each state's override it, and a Parallel or Map passes
    its own language on to the states it runs.
    """
    language = definition.get("QueryLanguage", language)
    states: dict[str, State] = {}
    for name, spec in definition["States"].items():
        state_language = spec.get("QueryLanguage", language)
        states[name] = _STATE_TYPES[spec["Type"]](name, spec, state_language)
    return Machine(definition["StartAt"], states)
