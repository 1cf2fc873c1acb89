"""The coverage report's HTML view draws each definition's graph, what was missed marked."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from itertools import combinations
from pathlib import Path
from typing import Any

import pytest

from workflows.console.graph import build_graph
from workflows.engine import StateMachine, VirtualClock
from workflows.engine.machine import observe_executions
from workflows.testing import Return
from workflows.testing.coverage import Coverage
from workflows.testing.drawing import draw_coverage, layout

SVG = "{http://www.w3.org/2000/svg}"
REPO = Path(__file__).resolve().parents[3]

DEFINITION: dict[str, Any] = {
    "StartAt": "Route",
    "States": {
        "Route": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.kind", "StringEquals": "bulk", "Next": "Each"}],
            "Default": "Charge",
        },
        "Charge": {
            "Type": "Task",
            "Resource": "arn:aws:lambda:us-east-1:123456789012:function:charge",
            "Retry": [{"ErrorEquals": ["Busy"], "MaxAttempts": 2}],
            "Catch": [{"ErrorEquals": ["Declined"], "Next": "Refuse"}],
            "Next": "Both",
        },
        "Each": {
            "Type": "Map",
            "ItemsPath": "$.items",
            "ItemProcessor": {"StartAt": "One", "States": {"One": {"Type": "Pass", "End": True}}},
            "Next": "Both",
        },
        "Both": {
            "Type": "Parallel",
            "Branches": [
                {"StartAt": "Left", "States": {"Left": {"Type": "Pass", "End": True}}},
                {"StartAt": "Right", "States": {"Right": {"Type": "Pass", "End": True}}},
            ],
            "Next": "Again",
        },
        "Again": {
            "Type": "Choice",
            "Choices": [{"Variable": "$[0].again", "BooleanEquals": True, "Next": "Route"}],
            "Default": "Done",
        },
        "Refuse": {"Type": "Fail", "Error": "Refused"},
        "Done": {"Type": "Succeed"},
    },
}


def svgs_of(page: str) -> list[ET.Element]:
    return [ET.fromstring(s) for s in re.findall(r"<svg\b.*?</svg>", page, re.S)]


def box(element: ET.Element) -> tuple[float, float, float, float]:
    rect = element.find(f"{SVG}rect")
    assert rect is not None
    x, y = float(rect.attrib["x"]), float(rect.attrib["y"])
    return x, y, x + float(rect.attrib["width"]), y + float(rect.attrib["height"])


@pytest.fixture
def report(tmp_path: Path) -> Any:
    folder = tmp_path / "machines"
    folder.mkdir()
    (folder / "orders.asl.json").write_text(json.dumps(DEFINITION))
    coverage = Coverage(folder)
    undo = observe_executions(coverage.observe)
    StateMachine(DEFINITION).run(
        {"kind": "single"}, clock=VirtualClock(), mocks={"Charge": Return(1)}
    )
    undo()
    index = coverage.write_html(tmp_path / "html")
    return coverage.files["orders"], index.read_text()


def test_every_state_is_drawn_once_and_marked_covered_or_missed(report: Any) -> None:
    entry, page = report
    [svg] = svgs_of(page)
    drawn = {g.attrib["data-state"]: g.attrib["class"].split() for g in svg.iter(f"{SVG}g")
             if "data-state" in g.attrib}  # fmt: skip
    assert sorted(drawn) == sorted(entry.states)
    missed = {name for name, classes in drawn.items() if "missed" in classes}
    assert missed == set(entry.missed_states)
    assert {"Each", "One", "Refuse"} <= missed
    assert "covered" in drawn["Charge"]


def test_every_transition_is_drawn_and_the_ones_never_taken_are_marked(report: Any) -> None:
    entry, page = report
    [svg] = svgs_of(page)
    edges = [p for p in svg.iter(f"{SVG}path") if "data-kind" in p.attrib]
    drawn = {
        (
            p.attrib["data-source"],
            p.attrib["data-target"],
            p.attrib["data-kind"],
            p.attrib["data-label"],
        )
        for p in edges
        if p.attrib["data-kind"] not in ("start", "end")
    }
    assert drawn == set(entry.edges)
    missed = {
        (p.attrib["data-source"], p.attrib["data-target"], p.attrib["data-kind"])
        for p in edges
        if "missed" in p.attrib["class"].split()
    }
    assert missed == {(s, t, k) for s, t, k, _ in set(entry.edges) - entry.edges_hit}
    assert ("Charge", "Refuse", "catch") in missed
    assert ("Charge", "Charge", "retry") in missed
    assert ("Route", "Charge", "default") not in missed
    titles = [p.findtext(f"{SVG}title") for p in edges]
    assert "Charge -> Refuse (catch: Declined): missed" in titles


def test_the_page_lists_what_was_missed_under_the_graph(report: Any) -> None:
    entry, page = report
    listed = re.findall(r"<li>(.*?)</li>", page)
    assert "state Refuse" in listed
    assert any(text.startswith("Charge -&gt; Refuse (catch") for text in listed)
    assert len(listed) == len(entry.missed_states) + len(entry.missed_edges)


def test_states_inside_map_and_parallel_are_drawn_inside_their_box_and_none_overlap() -> None:
    graph = build_graph(DEFINITION)
    svg = ET.fromstring(draw_coverage(graph, set(), set()))
    boxes = {
        g.attrib["data-state"]: box(g) for g in svg.iter(f"{SVG}g") if "data-state" in g.attrib
    }
    for inner, outer in (("One", "Each"), ("Left", "Both"), ("Right", "Both")):
        ix0, iy0, ix1, iy1 = boxes[inner]
        ox0, oy0, ox1, oy1 = boxes[outer]
        assert ox0 < ix0 < ix1 < ox1, (inner, outer)
        assert oy0 < iy0 < iy1 < oy1, (inner, outer)
    containers = {"Each", "Both"}
    for (a, (ax0, ay0, ax1, ay1)), (b, (bx0, by0, bx1, by1)) in combinations(boxes.items(), 2):
        if {a, b} & containers:
            continue
        assert ax1 <= bx0 or bx1 <= ax0 or ay1 <= by0 or by1 <= ay0, f"{a} overlaps {b}"


def test_a_state_is_drawn_below_the_states_that_lead_to_it_loops_aside() -> None:
    placed, width, height = layout(build_graph(DEFINITION))
    top = {p.id: p.y for p in placed}
    assert top["Route"] < top["Charge"] < top["Both"] < top["Again"] < top["Done"]
    assert top["Route"] < top["Each"] < top["Both"]
    assert all(p.x >= 0 and p.x + p.w <= width and p.y + p.h <= height for p in placed)


def test_the_project_definitions_are_all_drawn(tmp_path: Path) -> None:
    coverage = Coverage(REPO / "state_machines")
    page = coverage.write_html(tmp_path).read_text()
    sections = re.findall(r'<section class="definition" id="([^"]+)"', page)
    assert sections == list(coverage.files)
    assert len(svgs_of(page)) == len(coverage.files)


def test_each_timer_is_a_clock_on_its_state_marked_when_it_never_fired(tmp_path: Path) -> None:
    definition = {
        "TimeoutSeconds": 60,
        "StartAt": "Wait",
        "States": {
            "Wait": {
                "Type": "Task",
                "Resource": "arn:aws:states:us-east-1:123456789012:activity:work",
                "TimeoutSeconds": 10,
                "HeartbeatSeconds": 3,
                "End": True,
            }
        },
    }
    (tmp_path / "work.asl.json").write_text(json.dumps(definition))
    coverage = Coverage(tmp_path)
    undo = observe_executions(coverage.observe)
    StateMachine(definition).run({}, clock=VirtualClock())  # nobody works: heartbeat missed
    undo()
    page = coverage.write_html(tmp_path / "html").read_text()
    [svg] = svgs_of(page)
    clocks = {
        (g.attrib["data-for"], g.attrib["data-timer"]): g.attrib["class"].split()
        for g in svg.iter(f"{SVG}g")
        if "data-timer" in g.attrib
    }
    assert set(clocks) == {("", "timeout"), ("Wait", "timeout"), ("Wait", "heartbeat")}
    assert "covered" in clocks[("Wait", "heartbeat")]
    assert "missed" in clocks[("Wait", "timeout")]
    assert "missed" in clocks[("", "timeout")]
    assert "<li>Wait timeout never fired (TimeoutSeconds)</li>" in page
