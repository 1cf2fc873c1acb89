"""Replaying a stored history: how an execution continues after its process stopped.

A ``Replay`` holds the events an execution had already recorded (in GetExecutionHistory's
shape, as a store keeps them). The execution then runs again from its start with a
``History`` built on it: each event the engine records is first matched against the
stored ones of the same line (same ``previousEventId``, type, state name and Map index)
and, when found, is not recorded again but answers with the stored id; the first event
that is not stored is new, gets the next id, and is the only kind listeners hear of.

Effects are answered from the history too: a Task whose end is stored returns the
stored output (or raises the stored error) instead of being performed (``answer``), a
``.waitForTaskToken`` Task gets back the token its stored parameters hold (``token``),
and the clock of a replayed execution reads the stored timestamps (``moment``), so a
Wait, a retry's back-off and the timeouts keep their original deadlines.

See docs/decisions/0007-resume-by-replaying-history.md.
"""

from __future__ import annotations

import bisect
import json
from dataclasses import dataclass
from typing import Any, Final

__all__ = ["Answer", "Replay", "ReplayDiverged", "raw_event", "redrivable_events"]

RawEvent = tuple[str, float, int, dict[str, Any] | None]

# The events that end one attempt of a Task-like state, and those that may come
# between its start and its end.
_ENDS: Final = frozenset(
    {
        "TaskSucceeded",
        "TaskFailed",
        "TaskTimedOut",
        "LambdaFunctionSucceeded",
        "LambdaFunctionFailed",
        "LambdaFunctionTimedOut",
        "ActivitySucceeded",
        "ActivityFailed",
        "ActivityTimedOut",
    }
)
_BETWEEN: Final = frozenset({"TaskSubmitted", "ActivityStarted"})
# A Map iteration starts after whichever event its Map recorded last, which depends on
# the order the iterations ran in (a replayed one ends at once): it is matched by its
# Map's name and its index instead of by the event it links to.
_UNORDERED: Final = frozenset({"MapIterationStarted"})


class ReplayDiverged(Exception):
    """The definition no longer does what the stored history says it did."""


@dataclass(frozen=True, slots=True)
class Answer:
    """What the stored history says one Task attempt did."""

    event_id: int  # the last stored event of the attempt (the line continues from it)
    event_type: str
    details: dict[str, Any]

    @property
    def ended(self) -> bool:
        return self.event_type in _ENDS

    @property
    def succeeded(self) -> bool:
        return self.event_type.endswith("Succeeded")


def raw_event(event: dict[str, Any]) -> RawEvent:
    """A GetExecutionHistory event (JSON text in ``input``/``output``/``parameters``,
    epoch or datetime timestamps) as ``History`` holds it (JSON values)."""
    timestamp = event["timestamp"]
    if not isinstance(timestamp, int | float):
        timestamp = timestamp.timestamp()
    key = next((k for k in event if k.endswith("EventDetails")), None)
    details: dict[str, Any] | None = None
    if key is not None:
        details = {}
        for name, value in event[key].items():
            if name in ("input", "output", "parameters") and isinstance(value, str):
                details[name] = json.loads(value)
            elif name == "assignedVariables" and isinstance(value, dict):
                details[name] = {k: json.loads(v) for k, v in value.items()}
            elif not name.endswith("Details"):
                details[name] = value
    return (str(event["type"]), float(timestamp), int(event.get("previousEventId", 0)), details)


def redrivable_events(events: list[RawEvent]) -> set[int]:
    """The ids of the events a redrive replays: everything but the states that did not
    finish, the innermost ones (a failed Task in a Parallel branch, not the Parallel:
    its other branches and Map iterations that ended are kept), with what followed them,
    and the ends and redrives of earlier attempts. What is left out runs again."""
    children: dict[int, list[int]] = {}
    for index, (_, _, previous, _) in enumerate(events):
        children.setdefault(previous, []).append(index + 1)

    def descendants(event_id: int) -> list[int]:
        found, stack = [], list(children.get(event_id, ()))
        while stack:
            current = stack.pop()
            found.append(current)
            stack.extend(children.get(current, ()))
        return found

    # a state finished if its StateExited (found walking back from it) exists
    finished: set[int] = set()
    for exited in events:
        if exited[0].endswith("StateExited"):
            name = (exited[3] or {}).get("name")
            walk = exited[2]
            while walk > 0:
                earlier = events[walk - 1]
                if earlier[0].endswith("StateEntered") and (earlier[3] or {}).get("name") == name:
                    finished.add(walk)
                    break
                walk = earlier[2]
    unfinished = {
        index + 1: descendants(index + 1)
        for index, event in enumerate(events)
        if event[0].endswith("StateEntered") and index + 1 not in finished
    }
    dropped: set[int] = set()
    for entered, below in unfinished.items():
        if not any(d in unfinished for d in below):  # innermost
            dropped.add(entered)
            dropped.update(below)
    return {
        index + 1
        for index, event in enumerate(events)
        if index + 1 not in dropped and not event[0].startswith("Execution")
    } | {1}


def _same(stored: dict[str, Any] | None, details: dict[str, Any] | None) -> bool:
    """The stored event is this one: same state, same Map index (its values may differ
    only where a new token or a timestamp was drawn)."""
    if stored is None or details is None:
        return True
    return all(stored.get(key) == details.get(key) for key in ("name", "index"))


class Replay:
    """The stored events of one execution, consumed as the execution runs again."""

    __slots__ = (
        "_redrives",
        "_waiting",
        "events",
        "live",
        "map_runs",
        "moment",
        "pending",
        "redrive_count",
        "redriven_at",
    )

    def __init__(self, events: list[RawEvent], replayable: set[int] | None = None) -> None:
        """``replayable``: the ids of the events to match (default all); a redrive leaves
        out what failed, so that it runs again."""
        self.events = events
        # unmatched stored event ids by the event they link to, oldest first
        self._waiting: dict[int, list[int]] = {}
        for index, (_, _, previous, _) in enumerate(events):
            if replayable is None or index + 1 in replayable:
                self._waiting.setdefault(previous, []).append(index + 1)
        # how many stored events have not been matched yet
        self.pending = sum(len(ids) for ids in self._waiting.values())
        # a redriven execution: its $$.Execution.RedriveCount, and the moment its
        # TimeoutSeconds count from (AWS starts the machine's timeout again on redrive)
        self._redrives = [
            i + 1 for i, event in enumerate(events) if event[0] == "ExecutionRedriven"
        ]
        self.redrive_count = len(self._redrives)
        self.redriven_at: float | None = None
        # the stored map runs this execution's Distributed Maps have continued so far
        self.map_runs: set[str] = set()
        # the time the execution sees while it replays: the newest stored event matched
        self.moment = events[0][1] if events else 0.0
        # set once the first new event is recorded: the execution runs on real time
        self.live = not events

    def match(self, event_type: str, previous: int, details: dict[str, Any] | None) -> int | None:
        """The stored id of this event, or None when it is new; raises ``ReplayDiverged``
        when the line it continues recorded something else there."""
        if event_type in _UNORDERED and details is not None:
            for stored_previous, ids in self._waiting.items():
                for event_id in ids:
                    stored_type, timestamp, _, stored_details = self.events[event_id - 1]
                    if stored_type == event_type and _same(stored_details, details):
                        self._consume(stored_previous, event_id, timestamp)
                        return event_id
        candidates = self._waiting.get(previous)
        if candidates:
            for event_id in candidates:
                stored_type, timestamp, _, stored_details = self.events[event_id - 1]
                if stored_type == event_type and _same(stored_details, details):
                    self._consume(previous, event_id, timestamp)
                    return event_id
            if event_type not in _UNORDERED:
                stored_type, _, _, stored_details = self.events[candidates[0] - 1]
                named = (stored_details or {}).get("name")
                self._abandon()
                raise ReplayDiverged(
                    f"the definition changed while the execution was running: after event "
                    f"#{previous} it recorded {stored_type}"
                    + (f" of state '{named}'" if named else "")
                    + f", the definition now records {event_type}"
                    + (f" of state '{details['name']}'" if details and "name" in details else "")
                )
        self.live = True
        return None

    def redrives_before(self, event_id: int) -> int:
        """The RedriveCount a state entered at ``event_id`` saw: a replayed state sees the
        count of its own attempt (so it takes the path it took), a new one the current."""
        return bisect.bisect_left(self._redrives, event_id)

    def happened_after(self, previous: int) -> bool:
        """Whether the stored history goes on after event ``previous``: a Wait or a
        retry's back-off that starts there had already ended, and is not waited again."""
        return bool(self._waiting.get(previous))

    def answer(self, after: int) -> Answer | None:
        """The stored outcome of the Task attempt whose start is event ``after``.

        An attempt that ended is consumed whole (the engine records none of it again);
        one still in flight (e.g. a TaskSubmitted waiting for its token) is reported
        without being consumed, so its events are matched as the attempt goes on.
        """
        chain: list[int] = []
        current = after
        while True:
            following = [
                event_id
                for event_id in self._waiting.get(current, ())
                if self.events[event_id - 1][0] in _ENDS | _BETWEEN
            ]
            if not following:
                break
            current = following[0]
            chain.append(current)
            if self.events[current - 1][0] in _ENDS:
                break
        if not chain:
            return None
        last = chain[-1]
        event_type, _, _, details = self.events[last - 1]
        answer = Answer(last, event_type, details or {})
        if answer.ended:
            previous = after
            for event_id in chain:
                self._consume(previous, event_id, self.events[event_id - 1][1])
                previous = event_id
        return answer

    def stored_details(self, after: int, event_type: str) -> dict[str, Any] | None:
        """The details of the stored ``event_type`` that follows event ``after``."""
        for event_id in self._waiting.get(after, ()):
            stored_type, _, _, details = self.events[event_id - 1]
            if stored_type == event_type:
                return details
        return None

    def _consume(self, previous: int, event_id: int, timestamp: float) -> None:
        waiting = self._waiting[previous]
        waiting.remove(event_id)
        self.pending -= 1
        if not waiting:
            del self._waiting[previous]
        self.moment = max(self.moment, timestamp)

    def _abandon(self) -> None:
        self._waiting.clear()
        self.pending = 0
        self.live = True


def stored_token(payload: Any, stored: Any, token: str) -> str | None:
    """The token the stored parameters hold where ``payload`` holds ``token``."""
    if isinstance(payload, str) and isinstance(stored, str):
        at = payload.find(token)
        if at < 0:
            return None
        before, after = payload[:at], payload[at + len(token) :]
        if stored.startswith(before) and stored.endswith(after):
            found = stored[len(before) : len(stored) - len(after)]
            return found or None
        return None
    if isinstance(payload, dict) and isinstance(stored, dict):
        for key, value in payload.items():
            if key in stored:
                inner = stored_token(value, stored[key], token)
                if inner is not None:
                    return inner
        return None
    if isinstance(payload, list) and isinstance(stored, list):
        for value, other in zip(payload, stored, strict=False):
            inner = stored_token(value, other, token)
            if inner is not None:
                return inner
    return None


def with_token(payload: Any, old: str, new: str) -> Any:
    """``payload`` with every occurrence of ``old`` replaced by ``new``."""
    if isinstance(payload, str):
        return payload.replace(old, new)
    if isinstance(payload, dict):
        return {key: with_token(value, old, new) for key, value in payload.items()}
    if isinstance(payload, list):
        return [with_token(value, old, new) for value in payload]
    return payload
