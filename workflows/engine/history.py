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

__all__ = ["History", "dumps", "json_default"]

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


def _details_key(event_type: str) -> str:
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

    __slots__ = ("_events", "_listeners", "_replay", "direct")

    def __init__(self) -> None:
        # (type, timestamp, previousEventId, details or None)
        self._events: list[tuple[str, float, int, dict[str, Any] | None]] = []
        self._listeners: list[Callable[[dict[str, Any]], None]] = []
        # the stored events an execution that runs again matches before recording
        self._replay: Replay | None = None
        # the event list itself while nothing replays or listens: a frame appends to it
        # without a call to ``add`` (an event's id is then the list's new length)
        self.direct: list[tuple[str, float, int, dict[str, Any] | None]] | None = self._events

    @property
    def replay(self) -> Replay | None:
        return self._replay

    @replay.setter
    def replay(self, replay: Replay | None) -> None:
        self._replay = replay
        self._update_direct()

    def _update_direct(self) -> None:
        quiet = self._replay is None and not self._listeners
        self.direct = self._events if quiet else None

    @classmethod
    def resumed(cls, events: list[dict[str, Any]], *, redriven: bool = False) -> History:
        """A history holding ``events`` (GetExecutionHistory's shape) that an execution
        run again replays: what it records again is matched, not added (see replay.py).
        ``redriven``: the events of what failed are kept but not replayed (it runs again)."""
        history = cls()
        history._events = [raw_event(event) for event in events]
        replayable = redrivable_events(history._events) if redriven else None
        history.replay = Replay(list(history._events), replayable)
        return history

    def __len__(self) -> int:
        return len(self._events)

    def add(
        self, event_type: str, timestamp: float, previous: int, details: dict[str, Any] | None
    ) -> int:
        """Append an event and return its id (ids start at 1)."""
        events = self._events
        replay = self._replay
        if replay is None and not self._listeners:  # the common case: nothing to tell
            events.append((event_type, timestamp, previous, details))
            return len(events)
        if replay is not None:
            stored = replay.match(event_type, previous, details)
            if stored is not None:
                return stored
        self._events.append((event_type, timestamp, previous, details))
        event_id = len(self._events)
        if self._listeners:
            event = _materialize(event_id, self._events[-1])
            for listener in self._listeners:
                listener(event)
        return event_id

    def subscribe(self, listener: Callable[[dict[str, Any]], None]) -> None:
        """Call ``listener`` with each new event as it is recorded (for stores, consoles)."""
        self._listeners.append(listener)
        self._update_direct()

    def events(self) -> list[dict[str, Any]]:
        return list(self)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for index, raw in enumerate(self._events):
            yield _materialize(index + 1, raw)


def _materialize(
    event_id: int, raw: tuple[str, float, int, dict[str, Any] | None]
) -> dict[str, Any]:
    event_type, timestamp, previous, details = raw
    event: dict[str, Any] = {
        "timestamp": datetime.fromtimestamp(timestamp, UTC),
        "type": event_type,
        "id": event_id,
        "previousEventId": previous,
    }
    if details is not None:
        shaped: dict[str, Any] = {}
        for key, value in details.items():
            if key in _JSON_FIELDS:
                shaped[key] = dumps(value)
                shaped[key + "Details"] = {"truncated": False}
            elif key in _JSON_NO_DETAILS:
                shaped[key] = dumps(value)
            elif key == "assignedVariables":
                shaped[key] = {name: dumps(v) for name, v in value.items()}
                shaped["assignedVariablesDetails"] = {"truncated": False}
            else:
                shaped[key] = value
        event[_details_key(event_type)] = shaped
    return event
