"""The loop that walks a compiled machine from StartAt to its end.

Two versions of one loop: ``run_machine`` (async, for machines with states that
wait) and ``run_machine_sync`` (for branches made only of Pass, Choice, Succeed
and Fail, which Map and Parallel then run without creating a task per branch).
Both record StateEntered/StateExited, check the payload limit and follow Next.
"""

from __future__ import annotations

import asyncio
from typing import Any, Final

from workflows.engine.errors import StatesError
from workflows.engine.frame import Frame
from workflows.engine.lambdas import to_json_bytes
from workflows.engine.states import Caught, Machine, State

__all__ = ["PAYLOAD_LIMIT_BYTES", "run_machine", "run_machine_sync"]

PAYLOAD_LIMIT_BYTES: Final = 256 * 1024


# A JSON-encoded character takes at most 6 bytes (\u0000), so a shorter string fits.
_SAFE_STRING_LENGTH: Final = PAYLOAD_LIMIT_BYTES // 6


_UNCHECKED: Final = object()


def _check_size(state: State, output: Any) -> None:
    # Numbers, booleans, null and short strings cannot reach the limit: no encode for them.
    # (The loops below make the same test inline before calling this.)
    if (isinstance(output, _CONTAINERS) and len(output) > 0) or (
        isinstance(output, str) and len(output) > _SAFE_STRING_LENGTH
    ):
        size = len(to_json_bytes(output))
        if size > PAYLOAD_LIMIT_BYTES:
            raise StatesError(
                "States.DataLimitExceeded",
                f"The state/task '{state.name}' returned a result with a size exceeding "
                f"the maximum number of bytes service limit.",
            )


_CONTAINERS: Final = (dict, list)


def _exited(state: State, output: Any, frame: Frame) -> None:
    details: dict[str, Any] = {"name": state.name, "output": output}
    if frame.assigned is not None:
        details["assignedVariables"] = frame.assigned
    frame.record(state.exited_type, details)


async def run_machine(machine: Machine, data: Any, frame: Frame) -> Any:
    states = machine.states
    state = states[machine.start_at]
    checked: Any = _UNCHECKED  # the last output found within the limit (values never change)
    while True:
        frame.enter(state.name, state.entered_type, data)
        if state.sync:
            output, target = state.step(data, frame)
        else:
            try:
                outcome = await state.astep(data, frame)
            except asyncio.CancelledError:
                if frame.aborts_states:
                    frame.record(state.type_name + "StateAborted")
                raise
            if type(outcome) is Caught:
                # AWS records the exit of a state whose error a Catch handled, with
                # what the catcher passes on as its output.
                _exited(state, outcome.output, frame)
                data = outcome.output
                state = states[outcome.next]
                continue
            output, target = outcome  # type: ignore[misc]
        # a Choice passes its input on: no second encode (inline: _check_size's test)
        if output is not checked and (
            (isinstance(output, _CONTAINERS) and len(output) > 0)
            or (isinstance(output, str) and len(output) > _SAFE_STRING_LENGTH)
        ):
            _check_size(state, output)
            checked = output
        # inline: _exited
        details = {"name": state.name, "output": output}
        if frame.assigned is not None:
            details["assignedVariables"] = frame.assigned
        frame.record(state.exited_type, details)
        if target is None:
            return output
        data = output
        state = states[target]


def run_machine_sync(machine: Machine, data: Any, frame: Frame) -> Any:
    states = machine.states
    state = states[machine.start_at]
    checked: Any = _UNCHECKED
    while True:
        frame.enter(state.name, state.entered_type, data)
        output, target = state.step(data, frame)
        if output is not checked and (  # as in run_machine
            (isinstance(output, _CONTAINERS) and len(output) > 0)
            or (isinstance(output, str) and len(output) > _SAFE_STRING_LENGTH)
        ):
            _check_size(state, output)
            checked = output
        details = {"name": state.name, "output": output}
        if frame.assigned is not None:
            details["assignedVariables"] = frame.assigned
        frame.record(state.exited_type, details)
        if target is None:
            return output
        data = output
        state = states[target]
