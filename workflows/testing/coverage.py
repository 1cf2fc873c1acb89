"""Which states and transitions of a project's definitions a test suite went through.

Every execution the engine runs during a pytest session is offered to the
``Coverage`` collector (``workflows.engine.machine.observe_executions``); those whose
definition is one of the project's files (``state_machines/*.asl.json``, matched by
shape: StartAt, state names and types, so placeholder values do not matter) are
read through the console's ``trace`` and marked on the console's ``graph`` of the
file: each state entered, and each transition taken: Next, each Choice rule and
Default, each Catch edge, a Retry taken (a state attempted more than once),
including the states inside Map and Parallel. The child executions of a Distributed
Map (``observe_child_executions``) are credited to the states inside that Map.

The history says where a state went, not why: a Catch edge is credited to the
first Catcher whose ErrorEquals covers the recorded error (as the engine matches
it), and a Choice transition to the rule that held for the state's recorded input
(evaluated again with the engine's rules; when that cannot be told, for example a
rule that reads variables or a JSONata Condition, to the first rule or the Default
leading to that target).
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workflows import definitions
from workflows.console.graph import END, START, Edge, build_graph
from workflows.console.trace import Visit, trace
from workflows.engine.choice import compile_rule
from workflows.engine.errors import StatesError
from workflows.engine.machine import ExecutionResult, StateMachine
from workflows.engine.states.common import error_matches
from workflows.testing.drawing import draw_coverage

__all__ = ["Coverage", "DefinitionCoverage", "shape_of"]

EdgeKey = tuple[str, str, str, str]  # source, target, kind, label


def shape_of(definition: Mapping[str, Any]) -> Any:
    """What identifies a definition whatever its placeholders were filled with."""
    states = definition.get("States") or {}
    return (
        definition.get("StartAt"),
        tuple(
            sorted(
                (name, str(state.get("Type")), _inner_shapes(state))
                for name, state in states.items()
                if isinstance(state, Mapping)
            )
        ),
    )


def _inner_shapes(state: Mapping[str, Any]) -> Any:
    if state.get("Type") == "Parallel":
        return tuple(shape_of(b) for b in state.get("Branches") or () if isinstance(b, Mapping))
    if state.get("Type") == "Map":
        processor = state.get("ItemProcessor") or state.get("Iterator") or {}
        return (shape_of(processor),) if isinstance(processor, Mapping) else ()
    return ()


def _key(edge: Edge) -> EdgeKey:
    return (edge.source, edge.target, edge.kind, edge.label)


def _describe(key: EdgeKey) -> str:
    source, target, kind, label = key
    if kind == "retry":
        return f"{source} retried ({label})"
    shown = f" [{label}]" if label and kind in ("choice", "catch") else ""
    return f"{source} -> {target} ({kind}{shown})"


@dataclass
class DefinitionCoverage:
    """One definition file: what there is, and what the suite went through."""

    name: str
    path: Path
    definition: dict[str, Any]
    states: list[str] = field(default_factory=list)
    edges: list[EdgeKey] = field(default_factory=list)
    states_hit: set[str] = field(default_factory=set)
    edges_hit: set[EdgeKey] = field(default_factory=set)
    executions: int = 0

    def __post_init__(self) -> None:
        graph = build_graph(self.definition)
        self.states = [n.id for n in graph.nodes if n.id not in (START, END)]
        self.edges = [_key(e) for e in graph.edges if e.kind not in ("start", "end")]
        self.graph = graph
        self._graph_edges = graph.edges
        self._bodies = dict(_states_of(self.definition))

    @property
    def percent(self) -> float:
        total = len(self.states) + len(self.edges)
        if not total:
            return 100.0
        return 100.0 * (len(self.states_hit) + len(self.edges_hit)) / total

    @property
    def missed_states(self) -> list[str]:
        return [s for s in self.states if s not in self.states_hit]

    @property
    def missed_edges(self) -> list[str]:
        return [_describe(e) for e in self.edges if e not in self.edges_hit]

    def record(self, visits: Iterable[Visit], child: bool = False) -> None:
        """Credit one execution's visits; a Distributed Map child's (``child``) are
        credited to the states inside that Map, not counted as an execution."""
        if not child:
            self.executions += 1
        for visit in visits:
            if visit.name not in self.states:
                continue
            self.states_hit.add(visit.name)
            if len(visit.attempts) > 1 or visit.status == "retried":
                self._hit(visit.name, visit.name, ("retry",))
            if visit.next is None:
                continue
            if visit.caught:
                self._hit_catch(visit, visit.next)
            elif not self._hit_choice(visit, visit.next):
                self._hit(visit.name, visit.next, ("next", "choice", "default"))

    def _hit(self, source: str, target: str, kinds: tuple[str, ...], nth: int = 0) -> None:
        """Credit the ``nth`` edge of one of ``kinds`` from ``source`` to ``target``."""
        for edge in self._graph_edges:
            if edge.source == source and edge.target == target and edge.kind in kinds:
                if nth == 0:
                    self.edges_hit.add(_key(edge))
                    return
                nth -= 1

    def _hit_catch(self, visit: Visit, target: str) -> None:
        """The first Catcher that covers the recorded error took the state to its Next."""
        body = self._bodies.get(visit.name) or {}
        catchers = [
            c
            for c in body.get("Catch") or ()
            if isinstance(c, Mapping) and isinstance(c.get("Next"), str)
        ]
        error = StatesError(visit.error or "States.ALL")
        for catcher in catchers:
            names = frozenset(e for e in catcher.get("ErrorEquals") or () if isinstance(e, str))
            if error_matches(names, error, for_task=body.get("Type") == "Task"):
                if catcher.get("Next") == target:
                    same = [c for c in catchers if c.get("Next") == target]
                    self._hit(visit.name, target, ("catch",), same.index(catcher))
                    return
                break
        self._hit(visit.name, target, ("catch",))

    def _hit_choice(self, visit: Visit, target: str) -> bool:
        """Credit the Choice rule that held for the visit's input; False when unknown."""
        body = self._bodies.get(visit.name) or {}
        rules = [r for r in body.get("Choices") or () if isinstance(r, Mapping)]
        if body.get("Type") != "Choice" or visit.input is None:
            return False
        leading = [r for r in rules if r.get("Next") == target]
        if len(leading) + (body.get("Default") == target) < 2:
            return False  # only one rule (or the Default) leads there: credit by target
        try:
            data = json.loads(visit.input)
            held = next((r for r in rules if compile_rule(dict(r)).matches(data, {}, {})), None)
        except (ValueError, TypeError, StatesError):  # variables, context, JSONata: unknown
            return False
        if held is None and body.get("Default") == target:
            self._hit(visit.name, target, ("default",))
            return True
        if held is None or held.get("Next") != target:
            return False  # the input recorded is not what the rules saw (InputPath, ...)
        self._hit(visit.name, target, ("choice",), leading.index(held))
        return True

    def by_kind(self) -> dict[str, dict[str, int]]:
        """Covered and total per kind: states, then next, choice, default, catch, retry."""
        counts = {"states": {"total": len(self.states), "covered": len(self.states_hit)}}
        for kind in ("next", "choice", "default", "catch", "retry"):
            edges = [e for e in self.edges if e[2] == kind]
            hit = [e for e in edges if e in self.edges_hit]
            counts[kind] = {"total": len(edges), "covered": len(hit)}
        return counts

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "executions": self.executions,
            "states": {"total": len(self.states), "covered": len(self.states_hit)},
            "transitions": {"total": len(self.edges), "covered": len(self.edges_hit)},
            "by_kind": self.by_kind(),
            "percent": round(self.percent, 2),
            "missed_states": self.missed_states,
            "missed_transitions": self.missed_edges,
        }


class Coverage:
    """The project's definitions and what the executions of a session went through."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.files: dict[str, DefinitionCoverage] = {}
        self._by_shape: dict[Any, DefinitionCoverage] = {}
        self._by_child_shape: dict[Any, DefinitionCoverage] = {}
        for path in sorted(folder.glob("*.asl.json")):
            text = definitions.substitute(path.read_text(), {}, stand_ins=True)
            body = json.loads(text)
            entry = DefinitionCoverage(path.name.split(".")[0], path, body)
            self.files[entry.name] = entry
            self._by_shape[shape_of(body)] = entry
            for _, state in _states_of(body):
                processor = state.get("ItemProcessor")
                if not isinstance(processor, Mapping):
                    continue
                config = processor.get("ProcessorConfig")
                if isinstance(config, Mapping) and config.get("Mode") == "DISTRIBUTED":
                    self._by_child_shape[shape_of(processor)] = entry

    def observe(self, machine: StateMachine, result: ExecutionResult) -> None:
        entry = self._by_shape.get(shape_of(machine.definition))
        if entry is not None:
            entry.record(trace(result.history).visits)

    def observe_child(self, processor: Mapping[str, Any], result: ExecutionResult) -> None:
        """A child execution of a Distributed Map: its states are those of the file."""
        entry = self._by_child_shape.get(shape_of(processor))
        if entry is not None:
            entry.record(trace(result.history).visits, child=True)

    @property
    def percent(self) -> float:
        entries = list(self.files.values())
        total = sum(len(e.states) + len(e.edges) for e in entries)
        hit = sum(len(e.states_hit) + len(e.edges_hit) for e in entries)
        return 100.0 * hit / total if total else 100.0

    def table(self) -> list[str]:
        lines = [f"{'definition':<28}{'runs':>6}{'states':>12}{'transitions':>14}{'cover':>8}"]
        for entry in self.files.values():
            lines.append(
                f"{entry.name:<28}{entry.executions:>6}"
                f"{len(entry.states_hit):>6}/{len(entry.states):<5}"
                f"{len(entry.edges_hit):>8}/{len(entry.edges):<5}"
                f"{entry.percent:>7.1f}%"
            )
            lines.extend(f"    missed state: {name}" for name in entry.missed_states)
            lines.extend(f"    missed: {text}" for text in entry.missed_edges)
        lines.append(f"{'TOTAL':<28}{'':>6}{'':>12}{'':>14}{self.percent:>7.1f}%")
        return lines

    def to_dict(self) -> dict[str, Any]:
        return {
            "percent": round(self.percent, 2),
            "definitions": {name: e.to_dict() for name, e in self.files.items()},
        }

    def write_json(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n")

    def write_html(self, folder: Path) -> Path:
        """index.html: each definition's graph, what was missed marked, and the missed listed."""
        folder.mkdir(parents=True, exist_ok=True)
        parts = [
            "<!doctype html><html lang=en><meta charset=utf-8>",
            "<title>Workflow coverage</title>",
            f"<style>{_STYLE}</style>",
            f"<h1>Workflow coverage: {self.percent:.1f}%</h1>",
            '<p class="legend"><span class="covered">covered</span> '
            '<span class="missed">missed: never entered or never taken</span></p>',
        ]
        for entry in self.files.values():
            name = html.escape(entry.name)
            parts.append(
                f'<section class="definition" id="{name}" data-percent="{entry.percent:.2f}">'
                f"<h2>{name}: {entry.percent:.1f}%</h2><p>{entry.executions} executions; "
                f"states {len(entry.states_hit)}/{len(entry.states)}, "
                f"transitions {len(entry.edges_hit)}/{len(entry.edges)}</p>"
            )
            parts.append(
                '<div class="graph">'
                + draw_coverage(entry.graph, entry.states_hit, entry.edges_hit, title=entry.name)
                + "</div>"
            )
            missed = [f"state {s}" for s in entry.missed_states] + entry.missed_edges
            if missed:
                parts.append('<ul class="missed-list">')
                parts.extend(f"<li>{html.escape(text)}</li>" for text in missed)
                parts.append("</ul>")
            parts.append("</section>")
        index = folder / "index.html"
        index.write_text("\n".join(parts) + "\n")
        return index


_STYLE = (
    "body{font:14px system-ui,sans-serif;margin:2em;color:#1f2328}"
    ".graph{overflow:auto;border:1px solid #d0d7de;border-radius:6px;margin:.5em 0}"
    "svg text{font:12px system-ui,sans-serif;fill:#1f2328}"
    ".state rect{fill:#dafbe1;stroke:#1a7f37;stroke-width:1.5}"
    ".state.missed rect{fill:#ffebe9;stroke:#cf222e;stroke-dasharray:5 3;stroke-width:2}"
    ".state.container rect{fill:#f6fff8}.state.container.missed rect{fill:#fff8f7}"
    ".branch rect{fill:none;stroke:#8c959f;stroke-dasharray:2 2}"
    ".pseudo{fill:#57606a}"
    "path.edge{fill:none;stroke:#1a7f37;stroke-width:1.5}"
    "path.edge.missed{stroke:#cf222e;stroke-dasharray:6 4;stroke-width:2}"
    "path.edge.pseudo{stroke:#8c959f}"
    ".edge-label{font-size:11px}.edge-label.missed{fill:#cf222e}"
    ".legend .covered{color:#1a7f37}.legend .missed{color:#cf222e;font-weight:600}"
    ".missed-list{color:#cf222e}"
)


def _states_of(body: Mapping[str, Any]) -> Iterable[tuple[str, Mapping[str, Any]]]:
    """Every state of a definition by name, those inside Parallel and Map too."""
    for name, state in (body.get("States") or {}).items():
        if not isinstance(state, Mapping):
            continue
        yield name, state
        for branch in state.get("Branches") or ():
            if isinstance(branch, Mapping):
                yield from _states_of(branch)
        processor = state.get("ItemProcessor") or state.get("Iterator")
        if isinstance(processor, Mapping):
            yield from _states_of(processor)
