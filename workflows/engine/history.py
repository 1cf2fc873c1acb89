"""Execution history in the exact shape of GetExecutionHistory.

Recording is on the hot path (two events per state), so an event is stored as a
small tuple holding references to the (never mutated) JSON values; the JSON text
that AWS puts in ``input``/``output``/``parameters`` is only produced when the
history is read.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Final

from workflows.engine.replay import Replay, raw_event, redrivable_events

__all__ = [
    "History",
    "RawEvent",
    "RawListener",
    "StoredEvent",
    "details_key",
    "dumps",
    "json_default",
    "materialize",
    "shape_details",
]

# An event as History keeps it: (type, timestamp, previousEventId, details or None), the
# details holding the JSON values themselves (``materialize`` turns it into AWS's shape).
RawEvent = tuple[str, float, int, dict[str, Any] | None]
# An event as History keeps it while nothing replays or listens (``History.direct``):
# the hot paths' events (a state's entry and exit without Assign, an eager Lambda
# Task's) may hold the tuple of their details' values in place of the dict, in the
# order ``details_fields`` names them: ``run_machine`` records two per state, and a
# tuple costs a fraction of a dict to make and to free. ``materialize`` makes the dict
# when the event is read.
StoredEvent = tuple[str, float, int, dict[str, Any] | tuple[Any, ...] | None]
# Told each new event as its id and its raw form (``History.subscribe_raw``).
RawListener = Callable[[int, RawEvent], None]

# Fields whose value AWS delivers as JSON text, each followed by a "<field>Details".
_JSON_FIELDS: Final = ("input", "output")
_JSON_NO_DETAILS: Final = ("parameters",)


def dumps(value: Any) -> str:
    """JSON text as Step Functions writes it: compact, UTF-8, key order preserved."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=json_default)


def json_default(value: Any) -> Any:
    """What JSON encoders here do with non-JSON values: a ``Decimal`` (DynamoDB's numbers)
    becomes the number it is, as the Lambda Python runtime encodes it; the rest fails."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


# Each event type's details key, as AWS names it.
_DETAILS_KEY: Final[dict[str, str]] = {}


def details_key(event_type: str) -> str:
    """The key of an event type's details in GetExecutionHistory (``taskScheduledEventDetails``)."""
    key = _DETAILS_KEY.get(event_type)
    if key is None:
        if event_type.endswith("StateEntered"):
            key = "stateEnteredEventDetails"
        elif event_type.endswith("StateExited"):
            key = "stateExitedEventDetails"
        else:
            key = event_type[0].lower() + event_type[1:] + "EventDetails"
        _DETAILS_KEY[event_type] = key
    return key


class History:
    """The events of one execution, shared by all of its branches."""

    __slots__ = ("_events", "_listeners", "_raw_listeners", "_replay", "direct")

    def __init__(self) -> None:
        # (type, timestamp, previousEventId, details or None)
        self._events: list[StoredEvent] = []
        self._listeners: list[Callable[[dict[str, Any]], None]] = []
        self._raw_listeners: list[RawListener] = []
        # the stored events an execution that runs again matches before recording
        self._replay: Replay | None = None
        # the event list itself while nothing replays or listens: a frame appends to it
        # without a call to ``add`` (an event's id is then the list's new length)
        self.direct: list[StoredEvent] | None = self._events

    @property
    def replay(self) -> Replay | None:
        return self._replay

    @replay.setter
    def replay(self, replay: Replay | None) -> None:
        self._replay = replay
        self._update_direct()

    def _update_direct(self) -> None:
        quiet = self._replay is None and not self._listeners and not self._raw_listeners
        self.direct = self._events if quiet else None

    @classmethod
    def resumed(cls, events: list[dict[str, Any]], *, redriven: bool = False) -> History:
        """A history holding ``events`` (GetExecutionHistory's shape) that an execution
        run again replays: what it records again is matched, not added (see replay.py).
        ``redriven``: the events of what failed are kept but not replayed (it runs again)."""
        history = cls()
        raw = [raw_event(event) for event in events]
        history._events.extend(raw)
        replayable = redrivable_events(raw) if redriven else None
        history.replay = Replay(raw, replayable)
        return history

    def __len__(self) -> int:
        return len(self._events)

    def add(
        self, event_type: str, timestamp: float, previous: int, details: dict[str, Any] | None
    ) -> int:
        """Append an event and return its id (ids start at 1)."""
        events = self._events
        replay = self._replay
        if replay is None and not self._listeners and not self._raw_listeners:  # nothing to tell
            events.append((event_type, timestamp, previous, details))
            return len(events)
        if replay is not None:
            stored = replay.match(event_type, previous, details)
            if stored is not None:
                return stored
        raw = (event_type, timestamp, previous, details)
        events.append(raw)
        event_id = len(events)
        for raw_listener in self._raw_listeners:
            raw_listener(event_id, raw)
        if self._listeners:
            event = materialize(event_id, raw)
            for listener in self._listeners:
                listener(event)
        return event_id

    def subscribe(self, listener: Callable[[dict[str, Any]], None]) -> None:
        """Call ``listener`` with each new event as it is recorded (for stores, consoles)."""
        self._listeners.append(listener)
        self._update_direct()

    def subscribe_raw(self, listener: RawListener) -> None:
        """Call ``listener`` with each new event's id and raw form as it is recorded: for
        those (the runtime's store, the console's feeds) that need no event in
        GetExecutionHistory's shape, so that none is made for them on the hot path.
        Raw listeners are told before the others."""
        self._raw_listeners.append(listener)
        self._update_direct()

    def events(self) -> list[dict[str, Any]]:
        return list(self)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for index, raw in enumerate(self._events):
            yield materialize(index + 1, raw)


def materialize(event_id: int, raw: StoredEvent) -> dict[str, Any]:
    """The event ``event_id`` in GetExecutionHistory's shape (its values as JSON text)."""
    event_type, timestamp, previous, details = raw
    event: dict[str, Any] = {
        "timestamp": datetime.fromtimestamp(timestamp, UTC),
        "type": event_type,
        "id": event_id,
        "previousEventId": previous,
    }
    if details is not None:
        if isinstance(details, tuple):  # StoredEvent
            details = dict(zip(details_fields(event_type), details, strict=True))
        event[details_key(event_type)] = shape_details(details, dumps)
    return event


_ENTERED_FIELDS: Final = ("name", "input")
_EXITED_FIELDS: Final = ("name", "output")
_LAMBDA_FIELDS: Final = {
    "LambdaFunctionScheduled": ("resource", "input"),
    "LambdaFunctionSucceeded": ("output",),
}


def details_fields(event_type: str) -> tuple[str, ...]:
    """The keys of an event's details that a StoredEvent keeps as a tuple, in order."""
    if event_type.endswith("StateEntered"):
        return _ENTERED_FIELDS
    if event_type.endswith("StateExited"):
        return _EXITED_FIELDS
    return _LAMBDA_FIELDS[event_type]


def shape_details(details: dict[str, Any], encode: Callable[[Any], str]) -> dict[str, Any]:
    """An event's details as GetExecutionHistory gives them: the JSON values as text
    (``encode``d), each input and output followed by its ``...Details``."""
    shaped: dict[str, Any] = {}
    for key, value in details.items():
        if key in _JSON_FIELDS:
            shaped[key] = encode(value)
            shaped[key + "Details"] = {"truncated": False}
        elif key in _JSON_NO_DETAILS:
            shaped[key] = encode(value)
        elif key == "assignedVariables":
            shaped[key] = {name: encode(v) for name, v in value.items()}
            shaped["assignedVariablesDetails"] = {"truncated": False}
        else:
            shaped[key] = value
    return shaped
