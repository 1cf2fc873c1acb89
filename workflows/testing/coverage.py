"""Which states and transitions of a project's definitions a test suite went through.

Every execution the engine runs during a pytest session is offered to the
``Coverage`` collector (``workflows.engine.machine.observe_executions``); those whose
definition is one of the project's files (``state_machines/*.asl.json``, matched by
shape: StartAt, state names and types, so placeholder values do not matter) are
read through the console's ``trace`` and marked on the console's ``graph`` of the
file: each state entered, and each transition taken: Next, each Choice rule and
Default, each Catch edge, a Retry taken (a state attempted more than once),
including the states inside Map and Parallel; and each timer that can fire: a
Task's TimeoutSeconds(Path) and HeartbeatSeconds(Path), the execution's
TimeoutSeconds. The child executions of a Distributed Map
(``observe_child_executions``) are credited to the states inside that Map.

The history says where a state went, not why: a Catch edge is credited to the
first Catcher whose ErrorEquals covers the recorded error (as the engine matches
it), and a Choice transition to the rule that held for the state's recorded input
(evaluated again with the engine's rules; when that cannot be told, for example a
rule that reads variables or a JSONata Condition, to the first rule or the Default
leading to that target). A timer fired when the history shows the state's
TaskTimedOut, LambdaFunctionTimedOut or ActivityTimedOut (``States.Timeout`` or
``States.HeartbeatTimeout``), or ExecutionTimedOut for the execution's. AWS records
a missed heartbeat as ``States.Timeout`` too, so the two are told apart by time: an
attempt that ran at least the timeout it was scheduled with (``timeoutInSeconds``)
timed out, a shorter one on a state with a heartbeat missed its heartbeat.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from workflows import definitions
from workflows.console.graph import END, START, Edge, build_graph
from workflows.engine.choice import compile_rule
from workflows.engine.errors import StatesError
from workflows.engine.machine import ExecutionResult, StateMachine
from workflows.engine.states.common import error_matches
from workflows.testing.drawing import draw_coverage
from workflows.trace import Visit, details_of, epoch, trace

__all__ = ["Coverage", "DefinitionCoverage", "shape_of"]

EdgeKey = tuple[str, str, str, str]  # source, target, kind, label
TimerKey = tuple[str, str]  # state ("" for the execution), "timeout" | "heartbeat"

EXECUTION: Final = ""  # the state of the execution-level timer
_TIMED_OUT: Final = ("TaskTimedOut", "LambdaFunctionTimedOut", "ActivityTimedOut")
_TIMEOUT_ERRORS: Final = ("States.Timeout", "States.HeartbeatTimeout")


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


def _timers(definition: Mapping[str, Any]) -> list[TimerKey]:
    """The timers that can fire: the execution's TimeoutSeconds, each Task's two."""
    timers: list[TimerKey] = []
    if "TimeoutSeconds" in definition:
        timers.append((EXECUTION, "timeout"))
    for name, state in _states_of(definition):
        if state.get("Type") != "Task":
            continue
        if "TimeoutSeconds" in state or "TimeoutSecondsPath" in state:
            timers.append((name, "timeout"))
        if "HeartbeatSeconds" in state or "HeartbeatSecondsPath" in state:
            timers.append((name, "heartbeat"))
    return timers


def _describe_timer(key: TimerKey) -> str:
    state, kind = key
    if state == EXECUTION:
        return "execution timeout never fired (TimeoutSeconds)"
    field = "TimeoutSeconds" if kind == "timeout" else "HeartbeatSeconds"
    return f"{state} {kind} never fired ({field})"


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
    timers: list[TimerKey] = field(default_factory=list)
    timers_hit: set[TimerKey] = field(default_factory=set)
    executions: int = 0

    def __post_init__(self) -> None:
        graph = build_graph(self.definition)
        self.states = [n.id for n in graph.nodes if n.id not in (START, END)]
        self.edges = [_key(e) for e in graph.edges if e.kind not in ("start", "end")]
        self.graph = graph
        self._graph_edges = graph.edges
        self._bodies = dict(_states_of(self.definition))
        self.timers = _timers(self.definition)

    @property
    def total(self) -> int:
        """How many items there are to cover: states, transitions and timers."""
        return len(self.states) + len(self.edges) + len(self.timers)

    @property
    def covered(self) -> int:
        return len(self.states_hit) + len(self.edges_hit) + len(self.timers_hit)

    @property
    def percent(self) -> float:
        return 100.0 * self.covered / self.total if self.total else 100.0

    @property
    def missed_states(self) -> list[str]:
        return [s for s in self.states if s not in self.states_hit]

    @property
    def missed_edges(self) -> list[str]:
        return [_describe(e) for e in self.edges if e not in self.edges_hit]

    @property
    def missed_timers(self) -> list[str]:
        return [_describe_timer(t) for t in self.timers if t not in self.timers_hit]

    def record(
        self,
        visits: Iterable[Visit],
        events: Iterable[Mapping[str, Any]] = (),
        child: bool = False,
    ) -> None:
        """Credit one execution's visits and timers; a Distributed Map child's
        (``child``) are credited to the states inside that Map, not counted as an
        execution."""
        if not child:
            self.executions += 1
        by_id = {e.get("id"): e for e in events}
        if not child and any(e.get("type") == "ExecutionTimedOut" for e in by_id.values()):
            self._hit_timer(EXECUTION, "timeout")
        for visit in visits:
            if visit.name not in self.states:
                continue
            self.states_hit.add(visit.name)
            self._hit_timeouts(visit, by_id)
            if len(visit.attempts) > 1 or visit.status == "retried":
                self._hit(visit.name, visit.name, ("retry",))
            if visit.next is None:
                continue
            if visit.caught:
                self._hit_catch(visit, visit.next)
            elif not self._hit_choice(visit, visit.next):
                self._hit(visit.name, visit.next, ("next", "choice", "default"))

    def _hit_timer(self, state: str, kind: str) -> None:
        if (state, kind) in self.timers:
            self.timers_hit.add((state, kind))

    def _hit_timeouts(self, visit: Visit, by_id: Mapping[Any, Mapping[str, Any]]) -> None:
        """Each attempt that timed out: its TimeoutSeconds, or its HeartbeatSeconds."""
        for attempt in visit.attempts:
            events = [by_id[i] for i in attempt.event_ids if i in by_id]
            ended = next((e for e in events if e.get("type") in _TIMED_OUT), None)
            if ended is None or details_of(ended).get("error") not in _TIMEOUT_ERRORS:
                continue
            if details_of(ended).get("error") == "States.HeartbeatTimeout":
                self._hit_timer(visit.name, "heartbeat")
                continue
            scheduled = details_of(events[0]) if events else {}
            limit = scheduled.get("timeoutInSeconds")
            ran = epoch(ended.get("timestamp", 0)) - attempt.scheduled_at
            heartbeat = (visit.name, "heartbeat") in self.timers
            if heartbeat and (not isinstance(limit, int | float) or ran < limit):
                self._hit_timer(visit.name, "heartbeat")
            else:
                self._hit_timer(visit.name, "timeout")

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
        """Covered and total per kind: states; next, choice, default, catch, retry;
        timeout, heartbeat."""
        counts = {"states": {"total": len(self.states), "covered": len(self.states_hit)}}
        for kind in ("next", "choice", "default", "catch", "retry"):
            edges = [e for e in self.edges if e[2] == kind]
            hit = [e for e in edges if e in self.edges_hit]
            counts[kind] = {"total": len(edges), "covered": len(hit)}
        for kind in ("timeout", "heartbeat"):
            timers = [t for t in self.timers if t[1] == kind]
            fired = [t for t in timers if t in self.timers_hit]
            counts[kind] = {"total": len(timers), "covered": len(fired)}
        return counts

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "executions": self.executions,
            "states": {"total": len(self.states), "covered": len(self.states_hit)},
            "transitions": {"total": len(self.edges), "covered": len(self.edges_hit)},
            "timers": {"total": len(self.timers), "covered": len(self.timers_hit)},
            "by_kind": self.by_kind(),
            "percent": round(self.percent, 2),
            "missed_states": self.missed_states,
            "missed_transitions": self.missed_edges,
            "missed_timers": self.missed_timers,
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
            entry.record(trace(result.history).visits, result.history)

    def observe_child(self, processor: Mapping[str, Any], result: ExecutionResult) -> None:
        """A child execution of a Distributed Map: its states are those of the file."""
        entry = self._by_child_shape.get(shape_of(processor))
        if entry is not None:
            entry.record(trace(result.history).visits, result.history, child=True)

    @property
    def percent(self) -> float:
        entries = list(self.files.values())
        total = sum(e.total for e in entries)
        hit = sum(e.covered for e in entries)
        return 100.0 * hit / total if total else 100.0

    def table(self) -> list[str]:
        lines = [
            f"{'definition':<28}{'runs':>6}{'states':>12}{'transitions':>14}"
            f"{'timeouts':>11}{'cover':>8}"
        ]
        for entry in self.files.values():
            lines.append(
                f"{entry.name:<28}{entry.executions:>6}"
                f"{len(entry.states_hit):>6}/{len(entry.states):<5}"
                f"{len(entry.edges_hit):>8}/{len(entry.edges):<5}"
                f"{len(entry.timers_hit):>5}/{len(entry.timers):<5}"
                f"{entry.percent:>7.1f}%"
            )
            lines.extend(f"    missed state: {name}" for name in entry.missed_states)
            lines.extend(f"    missed: {text}" for text in entry.missed_edges)
            lines.extend(f"    missed: {text}" for text in entry.missed_timers)
        lines.append(f"{'TOTAL':<28}{'':>6}{'':>12}{'':>14}{'':>11}{self.percent:>7.1f}%")
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
                f"transitions {len(entry.edges_hit)}/{len(entry.edges)}, "
                f"timeouts and heartbeats {len(entry.timers_hit)}/{len(entry.timers)}</p>"
            )
            parts.append(
                '<div class="graph">'
                + draw_coverage(
                    entry.graph,
                    entry.states_hit,
                    entry.edges_hit,
                    title=entry.name,
                    timers=entry.timers,
                    timers_hit=entry.timers_hit,
                )
                + "</div>"
            )
            missed = [f"state {s}" for s in entry.missed_states]
            missed += entry.missed_edges + entry.missed_timers
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
    ".timer circle{fill:#fff;stroke:#1a7f37;stroke-width:1.5}.timer path{stroke:#1a7f37}"
    ".timer.missed circle{fill:#ffebe9;stroke:#cf222e;stroke-width:2}"
    ".timer.missed path{stroke:#cf222e;stroke-width:1.5}"
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
