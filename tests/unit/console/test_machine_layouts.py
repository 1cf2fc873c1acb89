"""Every execution start looks its machine's layout up: the graph is built once per
definition, and a definition that changes gets its own."""

from __future__ import annotations

import json
from typing import Any, cast

import pytest

from workflows.console import server
from workflows.console.server import Console

ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:M"


class _Service:
    def __init__(self) -> None:
        self.definition = json.dumps({"StartAt": "A", "States": {"A": {"Type": "Succeed"}}})

    def describe_state_machine(self, arn: str) -> dict[str, Any]:
        return {"definition": self.definition}


class _Layouts:
    def __init__(self) -> None:
        self.looked_up: list[dict[str, Any]] = []

    def kept(self, graph: dict[str, Any], key: str | None = None) -> dict[str, Any] | None:
        self.looked_up.append(graph)
        return {}  # laid out already: nothing is started


def test_a_machines_graph_is_built_once_per_definition(monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[str] = []
    build = server.build_graph

    def counted(definition: str) -> Any:
        built.append(definition)
        return build(definition)

    monkeypatch.setattr(server, "build_graph", counted)
    service, layouts = _Service(), _Layouts()
    console = Console(
        service=cast(Any, service),
        hub=cast(Any, None),
        templates=cast(Any, None),
        resources=cast(Any, None),
        layouts=cast(Any, layouts),
    )
    for _ in range(3):
        console.lay_out_machine(ARN)
    assert len(built) == 1
    assert len(layouts.looked_up) == 3  # a kept layout may have been dropped since

    service.definition = json.dumps(
        {"StartAt": "B", "States": {"B": {"Type": "Pass", "End": True}}}
    )
    console.lay_out_machine(ARN)
    assert len(built) == 2
    assert layouts.looked_up[-1] != layouts.looked_up[0]
