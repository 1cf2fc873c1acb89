"""What the execution page shows, as one JSON-able dict: the page, its live stream
and ``workflows run --report`` all build it here, so they show the same thing.

``execution_view`` is everything (the JSON API answers it). The page itself gets
``page_view`` of it: the same facts without the payloads (each state's input, output,
parameters, results and causes, each event's details), which for an execution of
10,000 events are nearly all of its 25 MB. The page asks for a state's visits
(``state_visits``) when it is opened and for an event's details when they are
unfolded; a report carries them in the file (``details_of_view``), read only then.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any, Final, Protocol

from workflows.console.graph import build_graph
from workflows.trace import Trace, epoch, trace

__all__ = [
    "TokenOwners",
    "details_of_view",
    "event_rows",
    "execution_view",
    "normalise_events",
    "origin",
    "page_view",
    "state_visits",
    "waiting_tokens",
]

_TOKEN: Final = re.compile(r"^[0-9a-f]{64}$")
_EXECUTION_ARN: Final = re.compile(r"^arn:aws[\w-]*:states:[^:]*:\d+:execution:([^:]+):([^:]+)$")


class TokenOwners(Protocol):
    """What ``TaskTokens`` answers: whose task a token is."""

    def owner(self, token: str) -> tuple[str, str] | None: ...


def normalise_events(events: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Events with ``timestamp`` as epoch seconds (the store's and the engine's alike);
    an event that has it already is kept as it is (10,000 copies less for a page)."""
    shaped: list[dict[str, Any]] = []
    for event in events:
        if isinstance(event, dict) and type(event["timestamp"]) is float:
            shaped.append(event)
        else:
            shaped.append({**event, "timestamp": epoch(event["timestamp"])})
    return shaped


def waiting_tokens(execution_arn: str, traced: Trace, tokens: TokenOwners) -> list[dict[str, Any]]:
    """The task tokens the execution's waiting states sent out, each with its state.

    AWS's history never names a token; a ``.waitForTaskToken`` state hands it to
    someone in its parameters (``$$.Task.Token``). The token found there that the
    app's token registry says belongs to this execution and state is the one to answer.
    """
    found = []
    for visit in traced.visits:
        if not visit.waiting_for_token or not visit.attempts:
            continue
        parameters = visit.attempts[-1].parameters
        for token in _strings(_json(parameters)):
            if _TOKEN.match(token) and tokens.owner(token) == (execution_arn, visit.name):
                found.append(
                    {
                        "state": visit.name,
                        "token": token,
                        "iteration": [list(step) for step in visit.iteration],
                        "enteredId": visit.entered_id,
                    }
                )
                break
    return found


def execution_view(
    definition: str,
    execution: Mapping[str, Any],
    events: Iterable[Mapping[str, Any]],
    *,
    waiting: list[dict[str, Any]] | None = None,
    traced: Trace | None = None,
) -> dict[str, Any]:
    """The execution page's data: DescribeExecution, the graph, events, what each state did."""
    shaped = normalise_events(events)
    traced = traced if traced is not None else trace(shaped)
    return {
        "execution": dict(execution),
        "definition": definition,
        "graph": build_graph(definition).to_dict(),
        "events": shaped,
        "trace": traced.to_dict(),
        "waiting": waiting or [],
    }


# what the page keeps of a visit to colour the graph and draw the path
_VISIT_SUMMARY: Final = ("name", "type", "status", "iteration", "container", "enteredId", "next")


def page_view(view: Mapping[str, Any]) -> dict[str, Any]:
    """``view`` without its payloads: what the page needs to draw, colour and list."""
    traced = dict(view["trace"])
    traced["visits"] = [
        {**{k: v[k] for k in _VISIT_SUMMARY}, "attempts": len(v["attempts"])}
        for v in traced["visits"]
    ]
    return {**view, "trace": traced, "events": event_rows(view["events"]), "lean": True}


def event_rows(events: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One row of the events table per event: id, type, its state (``step``), time.

    An event names its state when it enters or leaves one; the others (a Task's
    scheduling, a Map iteration's start) belong to the state of the event before them.
    """
    owner: dict[int, str] = {}
    rows = []
    for event in events:
        details = next((v for k, v in event.items() if k.endswith("EventDetails")), None)
        name = details.get("name") if isinstance(details, Mapping) else None
        step = name if isinstance(name, str) else owner.get(event.get("previousEventId") or 0, "")
        owner[int(event["id"])] = step
        rows.append(
            {
                "id": event["id"],
                "type": event["type"],
                "timestamp": event["timestamp"],
                "step": step,
                "details": details is not None,
            }
        )
    return rows


def state_visits(view: Mapping[str, Any], name: str) -> list[dict[str, Any]]:
    """Every visit of state ``name``, with its payloads (what its panel shows)."""
    return [v for v in view["trace"]["visits"] if v["name"] == name]


def details_of_view(view: Mapping[str, Any]) -> dict[str, Any]:
    """What a report's page reads when a state is opened or an event unfolded."""
    return {
        "visits": view["trace"]["visits"],
        "events": {
            str(e["id"]): next((v for k, v in e.items() if k.endswith("EventDetails")), None)
            for e in view["events"]
        },
    }


def origin(started_by: str | None, input_text: str | None) -> dict[str, Any] | None:
    """What started an execution, as the page links it, read from what the runtime records.

    A parent's ``states:startExecution`` Task records the parent's execution ARN; an
    EventBridge rule records ``rule NAME (detail-type)`` and the execution's input is
    the event itself (its id, source, and the ``resources`` Step Functions adds when an
    execution puts it: that execution's ARN). Anything else is its text.
    """
    if not started_by:
        return None
    parent = _EXECUTION_ARN.match(started_by)
    if parent is not None:
        return {
            "kind": "execution",
            "arn": started_by,
            "machine": parent.group(1),
            "name": parent.group(2),
        }
    if started_by.startswith("rule "):
        event = _json(input_text)
        if isinstance(event, dict) and isinstance(event.get("id"), str):
            resources = [r for r in event.get("resources") or [] if isinstance(r, str)]
            put_by = next((r for r in resources if _EXECUTION_ARN.match(r)), None)
            return {
                "kind": "rule",
                "text": started_by,
                "event": event["id"],
                "source": event.get("source"),
                "putBy": put_by,
                "putByName": put_by.rsplit(":", 1)[-1] if put_by else None,
            }
    return {"kind": "text", "text": started_by}


def _json(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
        if value[:1] in ("{", "["):  # a message body written as JSON text
            yield from _strings(_json(value))
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
