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


_CONTAINERS: Final = (dict, list)


def _output_size(
    state: State, output: Any, data: Any, known: Any, known_size: int, frame: Frame
) -> int:
    """An upper bound of ``output``'s JSON size, checked against the limit.

    A state that placed a result of known size (``frame.result_size``, e.g. a Lambda's
    response body) into its input by ResultPath alone (``state.result_overhead``) has
    an output no larger than the input (``known``, of ``known_size``), the result and
    the keys on the way: within the limit, it is not encoded again. Else it is.
    """
    result_size = frame.result_size
    if result_size < 0 and data is known:
        payload_bound = state.payload_bound
        if payload_bound is not None:
            result_size = payload_bound[0] + payload_bound[1] * known_size
    if result_size >= 0:
        overhead = state.result_overhead
        bound = -1
        if overhead == 0:  # ResultPath '$': the output is the result
            bound = result_size
        elif overhead > 0 and data is known:
            bound = known_size + result_size + overhead
        if 0 <= bound <= PAYLOAD_LIMIT_BYTES:
            return bound
    size = len(to_json_bytes(output))
    if size > PAYLOAD_LIMIT_BYTES:
        raise StatesError(
            "States.DataLimitExceeded",
            f"The state/task '{state.name}' returned a result with a size exceeding "
            f"the maximum number of bytes service limit.",
        )
    return size


def _exited(state: State, output: Any, frame: Frame) -> None:
    details: dict[str, Any] = {"name": state.name, "output": output}
    if frame.assigned is not None:
        details["assignedVariables"] = frame.assigned
    frame.record(state.exited_type, details)


async def run_machine(machine: Machine, data: Any, frame: Frame, input_size: int = -1) -> Any:
    """The machine's output; ``frame.output_size`` then bounds its JSON size (-1: not
    known). ``input_size``: an upper bound of the JSON size of ``data``, when known."""
    states = machine.states
    state = states[machine.start_at]
    # the last output found within the limit (values never change), and an upper bound
    # of its JSON size
    checked: Any = data if 0 <= input_size <= PAYLOAD_LIMIT_BYTES else _UNCHECKED
    checked_size = input_size
    execution = frame.execution
    history = execution.history
    now = execution.now
    while True:
        # Frame.enter and, below, _exited, inline: this loop runs once per state of every
        # execution, and the calls were ~4% of order_flow's instructions
        frame.state_name = name = state.name
        frame.retry_count = 0
        frame.task_token = None
        frame.assigned = None
        frame.result_size = -1
        frame.entered_prev = previous = frame.prev
        frame.entered_time = moment = now()
        events = history.direct
        if events is not None:  # as in Frame.record, the details as a tuple (StoredEvent)
            events.append((state.entered_type, moment, previous, (name, data)))
            frame.prev = frame.last = frame.entered_id = len(events)
        else:
            frame.prev = frame.last = frame.entered_id = history.add(
                state.entered_type, moment, previous, {"name": name, "input": data}
            )
        if state.sync:
            output, target = state.step(data, frame)
        else:
            outcome: Any
            try:
                if state.eager:
                    outcome = state.step_now(data, frame)
                    if type(outcome) is not tuple:
                        outcome = await outcome
                else:
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
            output, target = outcome
        # a Choice passes its input on: no second encode; numbers, booleans, null and
        # short strings cannot reach the limit: no encode for them
        if output is not checked and (
            (isinstance(output, _CONTAINERS) and len(output) > 0)
            or (isinstance(output, str) and len(output) > _SAFE_STRING_LENGTH)
        ):
            checked_size = _output_size(state, output, data, checked, checked_size, frame)
            checked = output
        events = history.direct
        assigned = frame.assigned
        if events is not None and assigned is None:  # (as on entry)
            events.append((state.exited_type, now(), frame.prev, (name, output)))
            frame.prev = frame.last = len(events)
        else:
            details = {"name": name, "output": output}
            if assigned is not None:
                details["assignedVariables"] = assigned
            frame.record(state.exited_type, details)
        if target is None:
            frame.output_size = checked_size if output is checked else -1
            return output
        data = output
        state = states[target]


def run_machine_sync(machine: Machine, data: Any, frame: Frame, input_size: int = -1) -> Any:
    states = machine.states
    state = states[machine.start_at]
    checked: Any = data if 0 <= input_size <= PAYLOAD_LIMIT_BYTES else _UNCHECKED  # as above
    checked_size = input_size
    while True:
        frame.enter(state.name, state.entered_type, data)
        output, target = state.step(data, frame)
        if output is not checked and (  # as in run_machine
            (isinstance(output, _CONTAINERS) and len(output) > 0)
            or (isinstance(output, str) and len(output) > _SAFE_STRING_LENGTH)
        ):
            checked_size = _output_size(state, output, data, checked, checked_size, frame)
            checked = output
        _exited(state, output, frame)
        if target is None:
            frame.output_size = checked_size if output is checked else -1
            return output
        data = output
        state = states[target]
