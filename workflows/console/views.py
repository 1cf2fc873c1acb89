"""What the execution page shows, as one JSON-able dict: the page, its live stream
and ``workflows run --report`` all build it here, so they show the same thing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any, Final, Protocol

from workflows.console.graph import build_graph
from workflows.console.trace import Trace, epoch, trace

__all__ = ["TokenOwners", "execution_view", "normalise_events", "waiting_tokens"]

_TOKEN: Final = re.compile(r"^[0-9a-f]{64}$")


class TokenOwners(Protocol):
    """What ``TaskTokens`` answers: whose task a token is."""

    def owner(self, token: str) -> tuple[str, str] | None: ...


def normalise_events(events: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Events with ``timestamp`` as epoch seconds (the store's and the engine's alike)."""
    return [{**event, "timestamp": epoch(event["timestamp"])} for event in events]


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
