"""One running execution, and the frame of each branch that runs within it.

``Execution`` holds what every state of one run shares (history, clock, ids, the
way Task resources are invoked). A ``Frame`` is one line of control inside it: the
top level, a Parallel branch or a Map iteration. It remembers the previous event
id of its own line (AWS chains ``previousEventId`` per branch), the Map item it
works on, its variables, and the state being executed (for error texts and ``$$``).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from workflows.engine.clock import Clock, RealClock
from workflows.engine.errors import RuntimeError_, StatesError
from workflows.engine.history import History

if TYPE_CHECKING:
    from workflows.engine.mocks import MockSession
    from workflows.engine.tasks import TaskRunner

__all__ = ["Execution", "Frame", "iso_timestamp"]


def iso_timestamp(epoch: float) -> str:
    """The timestamp format of ``$$`` fields: millisecond precision, Z suffix."""
    moment = datetime.fromtimestamp(epoch, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class Execution:
    __slots__ = (
        "_context_execution",
        "arn",
        "clock",
        "history",
        "input",
        "mocks",
        "name",
        "now",
        "role_arn",
        "start_time",
        "state_machine_arn",
        "state_machine_name",
        "tasks",
    )

    def __init__(
        self,
        *,
        name: str,
        arn: str,
        state_machine_name: str,
        state_machine_arn: str,
        role_arn: str,
        input: Any,
        clock: Clock,
        tasks: TaskRunner,
        history: History | None = None,
        mocks: MockSession | None = None,
    ) -> None:
        self.name = name
        self.mocks = mocks  # Task states answered by a test's mock plan, per invocation
        self.arn = arn
        self.state_machine_name = state_machine_name
        self.state_machine_arn = state_machine_arn
        self.role_arn = role_arn
        self.input = input
        self.clock = clock
        # bound once: two events per state read it (RealClock's is time.time itself,
        # looked up now so that a patched time.time is honoured as before)
        self.now = time.time if type(clock) is RealClock else clock.now
        self.tasks = tasks
        self.history = history if history is not None else History()
        self.start_time = self.now()
        self._context_execution: dict[str, Any] | None = None

    def context_execution(self) -> dict[str, Any]:
        if self._context_execution is None:
            replay = self.history.replay
            self._context_execution = {
                "Id": self.arn,
                "Input": self.input,
                "StartTime": iso_timestamp(self.start_time),
                "Name": self.name,
                "RoleArn": self.role_arn,
                "RedriveCount": replay.redrive_count if replay is not None else 0,
            }
        return self._context_execution


class Frame:
    __slots__ = (
        "aborts_states",
        "assigned",
        "entered_id",
        "entered_prev",
        "entered_time",
        "execution",
        "failed_at",
        "last",
        "map_item",
        "output_size",
        "prev",
        "result_size",
        "retry_count",
        "state_name",
        "task_token",
        "variables",
        "variables_bytes",
    )

    def __init__(
        self,
        execution: Execution,
        prev: int = 0,
        map_item: dict[str, Any] | None = None,
        variables: dict[str, Any] | None = None,
    ) -> None:
        self.execution = execution
        # ``prev`` is the event this line's next event links to; ``last`` the newest
        # event it recorded, asides included (AWS links some events to one, some to the other).
        self.prev = prev
        self.last = prev
        self.map_item = map_item
        self.variables = variables
        self.variables_bytes = 0  # an upper bound of the size of ``variables``
        self.state_name = ""
        self.entered_id = 0
        self.entered_prev = 0
        self.entered_time = 0.0
        # the values the current state's Assign committed (for its StateExited event)
        self.assigned: dict[str, Any] | None = None
        # where a Map/Parallel attempt's failing branch ended (its StateFailed links there)
        self.failed_at: int | None = None
        # a Parallel branch records <Type>StateAborted for the state a failure cut off
        self.aborts_states = False
        self.retry_count = 0
        self.task_token: str | None = None
        # an upper bound of the JSON size of the current state's result, -1 unknown
        # (a Lambda's response body tells it: the output's size check need not encode)
        self.result_size = -1
        # an upper bound of the JSON size of the output the frame's machine ended with
        # (executor.run_machine), -1 unknown: a Parallel's result size need not encode
        self.output_size = -1

    def waited_before(self) -> bool:
        """A wait that starts here (a Wait state, a retry's back-off) had already ended
        before the execution was replayed: it is not waited again."""
        replay = self.execution.history.replay
        return replay is not None and replay.happened_after(self.prev)

    def child(self, map_item: dict[str, Any] | None = None) -> Frame:
        """A frame for a branch or iteration that starts after this frame's last event."""
        child = Frame(self.execution, self.prev, map_item, self.variables)
        child.variables_bytes = self.variables_bytes
        return child

    def record(self, event_type: str, details: dict[str, Any] | None = None) -> int:
        execution = self.execution
        history = execution.history
        events = history.direct
        if events is not None:  # nothing replays or listens: History.add's common case
            events.append((event_type, execution.now(), self.prev, details))
            self.prev = self.last = event_id = len(events)
            return event_id
        self.prev = self.last = event_id = history.add(
            event_type, execution.now(), self.prev, details
        )
        return event_id

    def record_aside(self, event_type: str, details: dict[str, Any] | None = None) -> int:
        """An event linked to this line's last one that the line does not continue from
        (AWS's MapIterationSucceeded/Failed: the next iteration links past them)."""
        execution = self.execution
        self.last = execution.history.add(event_type, execution.now(), self.prev, details)
        return self.last

    def record_linked(
        self, event_type: str, previous: int, details: dict[str, Any] | None = None
    ) -> int:
        """An event linked to ``previous`` (a branch's event); this line continues from it."""
        execution = self.execution
        self.prev = self.last = execution.history.add(
            event_type, execution.now(), previous, details
        )
        return self.prev

    def record_evaluation_failed(self, error: StatesError, location: str | None) -> None:
        """AWS's EvaluationFailed event for a JSONata failure: it links to the event the
        state's entered event links to."""
        details: dict[str, Any] = {"cause": error.cause, "error": error.error}
        if location:
            details["location"] = location
        details["state"] = self.state_name
        self.record_linked("EvaluationFailed", self.entered_prev, details)

    def enter(self, state_name: str, event_type: str, data: Any) -> None:
        """A state's entry: the per-state fields reset, its entered event recorded."""
        self.state_name = state_name
        self.retry_count = 0
        self.task_token = None
        self.assigned = None
        self.result_size = -1
        execution = self.execution
        self.entered_prev = previous = self.prev
        self.entered_time = now = execution.now()
        history = execution.history
        events = history.direct
        if events is not None:  # as in record, the details as a tuple (history.StoredEvent)
            events.append((event_type, now, previous, (state_name, data)))
            self.prev = self.last = self.entered_id = len(events)
            return
        self.prev = self.last = self.entered_id = history.add(
            event_type, now, previous, {"name": state_name, "input": data}
        )

    def context(self) -> dict[str, Any]:
        """The context object (``$$``, ``$states.context``) as the current state sees it."""
        execution = self.execution
        replay = execution.history.replay
        of_execution = execution.context_execution()
        if replay is not None and replay.redrive_count:
            of_execution = {
                **of_execution,
                "RedriveCount": replay.redrives_before(
                    self.entered_id or len(execution.history) + 1
                ),
            }
        context: dict[str, Any] = {
            "Execution": of_execution,
            "State": {
                "EnteredTime": iso_timestamp(self.entered_time),
                "Name": self.state_name,
                "RetryCount": self.retry_count,
            },
            "StateMachine": {
                "Id": execution.state_machine_arn,
                "Name": execution.state_machine_name,
            },
        }
        if self.task_token is not None:
            context["Task"] = {"Token": self.task_token}
        if self.map_item is not None:
            context["Map"] = {"Item": self.map_item}
        return context

    def error_prefix(self) -> str:
        return (
            f"An error occurred while executing the state '{self.state_name}' "
            f"(entered at the event id #{self.entered_id}). "
        )

    def runtime_error(self, message: str) -> StatesError:
        return RuntimeError_.of(self.error_prefix() + message)

    def in_state(self, error: StatesError) -> StatesError:
        """Adds AWS's 'An error occurred while executing the state ...' prefix to a cause."""
        cause = error.cause or ""
        if cause.startswith("An error occurred while executing the state"):
            return error
        return type(error)(error.error, self.error_prefix() + cause)
