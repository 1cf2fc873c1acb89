"""The console's Resources page: the events the executions put on a bus."""

from __future__ import annotations

import json
from decimal import Decimal
from types import SimpleNamespace
from typing import Any, cast

from workflows.console.resources import KEPT, LocalResources
from workflows.engine.history import History
from workflows.local.app import ExecutionStarting, LocalApp

ARN = "arn:aws:states:us-east-1:123456789012:execution:Orders:one"


def started(resources: LocalResources, arn: str = ARN) -> History:
    history = History()
    starting = SimpleNamespace(
        execution_arn=arn, started_by="StartExecution", input={}, history=history
    )
    resources._on_execution(cast(ExecutionStarting, starting))
    return history


def put_events(history: History, entries: list[dict[str, Any]], at: float = 1.0) -> None:
    details = {
        "resourceType": "events",
        "resource": "putEvents",
        "parameters": {"Entries": entries},
    }
    history.add("TaskScheduled", at, len(history), details)


def test_the_entries_put_are_shown_as_the_history_has_them_newest_last() -> None:
    clock = SimpleNamespace(now=lambda: 1234.5)
    app = SimpleNamespace(execution_listeners=[], clock=clock)
    resources = LocalResources(cast(LocalApp, app))
    history = started(resources)
    history.add("TaskScheduled", 1.0, 0, {"resourceType": "lambda", "resource": "invoke"})
    put_events(
        history,
        [
            {"Source": "shop", "DetailType": "OrderPlaced", "Detail": '{"total": 1.5}'},
            {"EventBusName": "b", "Detail": {"n": Decimal("2")}},
        ],
    )
    shown = resources.events_put()
    assert shown == [
        {
            "bus": "default",
            "source": "shop",
            "detail_type": "OrderPlaced",
            "detail": json.dumps({"total": 1.5}, indent=2),
            "execution_arn": ARN,
            "at": 1234.5,
        },
        {
            "bus": "b",
            "source": None,
            "detail_type": None,
            "detail": json.dumps({"n": 2}, indent=2),
            "execution_arn": ARN,
            "at": 1234.5,
        },
    ]
    for number in range(KEPT):
        put_events(history, [{"Source": f"s{number}"}])
    shown = resources.events_put()
    assert len(shown) == KEPT
    assert [e["source"] for e in shown[-2:]] == [f"s{KEPT - 2}", f"s{KEPT - 1}"]
