"""A definition as the console draws it: states, transitions and nested groups."""

from __future__ import annotations

import json
from pathlib import Path

from workflows.console.graph import END, START, build_graph

REPO = Path(__file__).resolve().parents[3]

DEFINITION = {
    "StartAt": "Route",
    "States": {
        "Route": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.n", "NumericGreaterThan": 2, "Next": "Fan"}],
            "Default": "Charge",
        },
        "Charge": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Retry": [{"ErrorEquals": ["Busy"]}, {"ErrorEquals": ["States.Timeout"]}],
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Failed"}],
            "Next": "Fan",
        },
        "Fan": {
            "Type": "Parallel",
            "Branches": [
                {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}},
                {
                    "StartAt": "Each",
                    "States": {
                        "Each": {
                            "Type": "Map",
                            "ItemProcessor": {
                                "StartAt": "B",
                                "States": {"B": {"Type": "Pass", "End": True}},
                            },
                            "End": True,
                        }
                    },
                },
            ],
            "Next": "Done",
        },
        "Done": {"Type": "Succeed"},
        "Failed": {"Type": "Fail", "Error": "X"},
    },
}


def edges(definition: object) -> set[tuple[str, str, str]]:
    return {(e.source, e.target, e.kind) for e in build_graph(json.dumps(definition)).edges}


def test_transitions_of_every_kind_become_edges() -> None:
    assert edges(DEFINITION) == {
        (START, "Route", "start"),
        ("Route", "Fan", "choice"),
        ("Route", "Charge", "default"),
        ("Charge", "Fan", "next"),
        ("Charge", "Charge", "retry"),
        ("Charge", "Failed", "catch"),
        ("Fan", "Done", "next"),
        ("Done", END, "end"),
        ("Failed", END, "end"),
    }


def test_labels_say_which_rule_or_errors() -> None:
    graph = build_graph(DEFINITION)
    labels = {(e.source, e.kind): e.label for e in graph.edges}
    assert labels[("Route", "choice")] == "$.n NumericGreaterThan 2"
    assert labels[("Route", "default")] == "Default"
    assert labels[("Charge", "retry")] == "Busy | States.Timeout"  # one loop, both retriers
    assert labels[("Charge", "catch")] == "States.ALL"


def test_parallel_branches_and_map_iterations_are_nested_groups() -> None:
    graph = build_graph(DEFINITION)
    groups = {g.id: (g.kind, g.state, g.parent) for g in graph.groups}
    assert groups == {
        "parallel:Fan": ("parallel", "Fan", None),
        "branch:Fan:0": ("branch", "Fan", "parallel:Fan"),
        "branch:Fan:1": ("branch", "Fan", "parallel:Fan"),
        "map:Each": ("map", "Each", "branch:Fan:1"),
    }
    parents = {n.id: n.parent for n in graph.nodes}
    assert (parents["A"], parents["Each"], parents["B"], parents["Route"]) == (
        "branch:Fan:0",
        "branch:Fan:1",
        "map:Each",
        None,
    )
    assert graph.container_of() == {"A": "Fan", "Each": "Fan", "B": "Each"}
    # inside a branch, the end of the branch is not the end of the execution
    assert not any(e.target == END and e.source in ("A", "B", "Each") for e in graph.edges)


def test_every_project_state_machine_draws_with_each_state_once() -> None:
    for path in sorted((REPO / "state_machines").glob("*.asl.json")):
        graph = build_graph(path.read_text())
        names = [n.id for n in graph.nodes if n.type not in ("Start", "End")]
        assert len(names) == len(set(names)), path.name
        known = {n.id for n in graph.nodes}
        assert all(e.source in known and e.target in known for e in graph.edges), path.name
