"""A state machine definition as a graph: nodes, edges and nested groups.

The console draws it (the browser lays it out with ELK), ``workflows run --report``
embeds it, and the testing plugin can use it to report which states and edges a
test suite went through. It reads the definition only (JSON text or a dict) and
imports nothing of the runtime.

- Every state is a node whose id is its name: AWS requires state names to be
  unique in the whole state machine, nested branches included, so a name found in
  the history is a node of the graph.
- A Parallel state is a group holding one group per branch; a Map state is a
  group holding its ItemProcessor (or Iterator). Edges stay in the scope where
  their source is: transitions never leave a States object.
- Edge kinds: ``next`` (Next), ``choice`` (a Choice rule), ``default`` (Default),
  ``catch`` (a Catcher), ``retry`` (its Retriers, one loop on the state),
  ``start`` and ``end`` (the pseudo nodes of the top level).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Final

__all__ = ["END", "START", "Edge", "Graph", "Group", "Node", "build_graph"]

START: Final = "__start__"
END: Final = "__end__"

_TERMINAL_TYPES: Final = ("Succeed", "Fail")


@dataclass(frozen=True, slots=True)
class Node:
    id: str
    type: str  # the ASL Type, or "Start"/"End" for the pseudo nodes
    parent: str | None  # id of the group it sits in (None: top level)
    comment: str | None = None
    resource: str | None = None
    group: str | None = None  # for Parallel/Map: the group it opens


@dataclass(frozen=True, slots=True)
class Edge:
    source: str
    target: str
    kind: str  # next | choice | default | catch | retry | start | end
    label: str = ""
    scope: str | None = None  # the group both ends sit in (None: top level)


@dataclass(frozen=True, slots=True)
class Group:
    id: str
    kind: str  # parallel | branch | map
    state: str  # the Parallel/Map state it belongs to
    parent: str | None
    label: str = ""
    start_at: str | None = None  # for branch/map groups: their StartAt


@dataclass
class Graph:
    nodes: list[Node] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    groups: list[Group] = field(default_factory=list)

    def node(self, node_id: str) -> Node | None:
        return next((n for n in self.nodes if n.id == node_id), None)

    def container_of(self) -> dict[str, str]:
        """State name -> the Parallel/Map state that holds it (top-level states are absent)."""
        owner = {g.id: g.state for g in self.groups}
        return {n.id: owner[n.parent] for n in self.nodes if n.parent is not None}

    def to_dict(self) -> dict[str, Any]:
        return {
            "nodes": [asdict(n) for n in self.nodes],
            "edges": [asdict(e) for e in self.edges],
            "groups": [asdict(g) for g in self.groups],
        }


def build_graph(definition: Mapping[str, Any] | str) -> Graph:
    """The graph of ``definition`` (ASL as JSON text or a parsed mapping).

    The definition is expected to be valid (the engine validates it first); parts
    that are not the expected shape are left out rather than failing the drawing.
    """
    body = json.loads(definition) if isinstance(definition, str) else definition
    graph = Graph()
    graph.nodes.append(Node(START, "Start", None))
    start_at = body.get("StartAt")
    if isinstance(start_at, str):
        graph.edges.append(Edge(START, start_at, "start"))
    ends = _add_scope(graph, body.get("States") or {}, None)
    graph.nodes.append(Node(END, "End", None))
    graph.edges.extend(Edge(name, END, "end") for name in ends)
    return graph


def _add_scope(graph: Graph, states: Mapping[str, Any], parent: str | None) -> list[str]:
    """Add the states of one States object; returns those that end the scope."""
    ends: list[str] = []
    for name, state in states.items():
        if not isinstance(state, Mapping):
            continue
        kind = str(state.get("Type", ""))
        group = _add_children(graph, name, kind, state, parent)
        resource = state.get("Resource")
        graph.nodes.append(
            Node(
                name,
                kind,
                parent,
                comment=_text(state.get("Comment")),
                resource=resource if isinstance(resource, str) else None,
                group=group,
            )
        )
        graph.edges.extend(_transitions(name, kind, state, parent))
        if state.get("End") is True or kind in _TERMINAL_TYPES:
            ends.append(name)
    return ends


def _add_children(
    graph: Graph, name: str, kind: str, state: Mapping[str, Any], parent: str | None
) -> str | None:
    if kind == "Parallel":
        group_id = f"parallel:{name}"
        graph.groups.append(Group(group_id, "parallel", name, parent, name))
        for index, branch in enumerate(state.get("Branches") or []):
            if not isinstance(branch, Mapping):
                continue
            branch_id = f"branch:{name}:{index}"
            graph.groups.append(
                Group(
                    branch_id,
                    "branch",
                    name,
                    group_id,
                    f"branch {index + 1}",
                    _text(branch.get("StartAt")),
                )
            )
            _add_scope(graph, branch.get("States") or {}, branch_id)
        return group_id
    if kind == "Map":
        processor = state.get("ItemProcessor") or state.get("Iterator") or {}
        group_id = f"map:{name}"
        start_at = _text(processor.get("StartAt"))
        graph.groups.append(Group(group_id, "map", name, parent, f"{name} (each item)", start_at))
        _add_scope(graph, processor.get("States") or {}, group_id)
        return group_id
    return None


def _transitions(name: str, kind: str, state: Mapping[str, Any], scope: str | None) -> list[Edge]:
    edges: list[Edge] = []
    if kind == "Choice":
        for index, rule in enumerate(state.get("Choices") or []):
            if isinstance(rule, Mapping) and isinstance(rule.get("Next"), str):
                edges.append(Edge(name, rule["Next"], "choice", _rule_label(rule, index), scope))
        if isinstance(state.get("Default"), str):
            edges.append(Edge(name, state["Default"], "default", "Default", scope))
    elif isinstance(state.get("Next"), str):
        edges.append(Edge(name, state["Next"], "next", "", scope))
    retriers = [r for r in state.get("Retry") or [] if isinstance(r, Mapping)]
    if retriers:  # one loop per state; its label lists each Retrier's errors
        edges.append(Edge(name, name, "retry", " | ".join(_errors(r) for r in retriers), scope))
    for catcher in state.get("Catch") or []:
        if isinstance(catcher, Mapping) and isinstance(catcher.get("Next"), str):
            edges.append(Edge(name, catcher["Next"], "catch", _errors(catcher), scope))
    return edges


def _errors(handler: Mapping[str, Any]) -> str:
    errors = handler.get("ErrorEquals") or []
    return ", ".join(str(e) for e in errors if isinstance(e, str))


_COMPARISONS: Final = (
    "StringEquals", "StringLessThan", "StringGreaterThan", "StringMatches",
    "NumericEquals", "NumericLessThan", "NumericGreaterThan", "NumericGreaterThanEquals",
    "NumericLessThanEquals", "BooleanEquals", "TimestampEquals", "IsPresent", "IsNull",
    "IsBoolean", "IsNumeric", "IsString", "IsTimestamp",
)  # fmt: skip


def _rule_label(rule: Mapping[str, Any], index: int) -> str:
    """A short label for a Choice rule: JSONata Condition, or Variable op value."""
    if isinstance(rule.get("Comment"), str):
        return str(rule["Comment"])
    if isinstance(rule.get("Condition"), str):
        return _shorten(str(rule["Condition"]))
    variable = rule.get("Variable")
    for key, value in rule.items():
        if key in ("Variable", "Next", "Comment", "Assign", "Output"):
            continue
        if isinstance(variable, str):
            shown = json.dumps(value) if not isinstance(value, str) else value
            if key.startswith(_COMPARISONS) or key.endswith("Path"):
                return _shorten(f"{variable} {key} {shown}")
        if key in ("And", "Or", "Not"):
            return f"rule {index + 1} ({key})"
    return f"rule {index + 1}"


def _shorten(text: str, limit: int = 48) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None
