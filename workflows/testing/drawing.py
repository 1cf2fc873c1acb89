"""A definition's graph drawn as SVG, each state and transition marked covered or missed.

The coverage report's HTML view (``--workflows-cov-report=html:DIR``) draws every
definition with this: the nodes, edges and groups come from the console's
``build_graph`` (the same graph the console draws in the browser); the layout is
done here, in Python, so the report is one static file that needs no script, no
network and no browser to be read or tested.

The layout is layered, top to bottom: within each scope (the top level, a Map's
item processor, a Parallel branch) a state sits one layer below the furthest state
that leads to it, loops and back edges left aside; a Map or Parallel state is a
box holding its inner scopes. Edges going down are curves from the bottom of the
source to the top of the target; edges going back up run along the right side;
a state's Retry is a small loop on its right. A state's timers (TimeoutSeconds,
HeartbeatSeconds) are small clocks on its top right corner, the execution's
TimeoutSeconds a clock beside the start circle.

Every element says what it is, for a reader and for tests: a state is
``<g class="state covered|missed" data-state=NAME>``, a transition is
``<path class="edge covered|missed" data-source data-target data-kind data-label>``
with a ``<title>`` that names it; a timer is
``<g class="timer covered|missed" data-for=NAME data-timer=timeout|heartbeat>``
(``data-for=""`` for the execution's).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from html import escape
from typing import Final

from workflows.console.graph import END, START, Edge, Graph

__all__ = ["Placed", "draw_coverage", "layout"]

NODE_W: Final = 200.0
NODE_H: Final = 36.0
PSEUDO: Final = 18.0  # diameter of the start and end circles
GAP_X: Final = 40.0
GAP_Y: Final = 48.0
PAD: Final = 14.0
HEADER: Final = 24.0  # the label strip at the top of a Map/Parallel box
MARGIN: Final = 24.0
LOOP: Final = 18.0  # how far a Retry loop stands out to the right
CLOCK: Final = 7.0  # radius of a timer's clock
LABELS: Final = 170.0  # room on the right for the labels of loops and of edges going back


@dataclass
class Placed:
    """A node's box in absolute coordinates (x, y: its top-left corner)."""

    id: str
    x: float
    y: float
    w: float
    h: float
    kind: str  # state | start | end | group (a branch box inside a Parallel)
    label: str = ""

    @property
    def cx(self) -> float:
        return self.x + self.w / 2


@dataclass
class _Box:
    w: float
    h: float
    items: list[Placed] = field(default_factory=list)  # relative to the box

    def shifted(self, dx: float, dy: float) -> list[Placed]:
        return [Placed(p.id, p.x + dx, p.y + dy, p.w, p.h, p.kind, p.label) for p in self.items]


def layout(graph: Graph) -> tuple[list[Placed], float, float]:
    """Where each node (and each Parallel branch) goes; and the drawing's width, height."""
    box = _scope(graph, None, START)
    return box.shifted(MARGIN, MARGIN), box.w + 2 * MARGIN + LOOP + LABELS, box.h + 2 * MARGIN


def _scope(graph: Graph, scope: str | None, start: str | None) -> _Box:
    members = [n.id for n in graph.nodes if n.parent == scope]
    inside = set(members)
    edges = [
        e
        for e in graph.edges
        if e.kind != "retry" and e.source in inside and e.target in inside and e.source != e.target
    ]
    layers = _layers(members, edges, start)
    if scope is None and END in layers:  # the end circle sits below everything
        layers[END] = max([layers[m] for m in members if m != END] + [0]) + 1
    boxes = {member: _node_box(graph, member) for member in members}
    rows: dict[int, list[str]] = {}
    for member in members:
        rows.setdefault(layers[member], []).append(member)
    width = max(
        (sum(boxes[m].w for m in row) + GAP_X * (len(row) - 1) for row in rows.values()),
        default=0.0,
    )
    placed: list[Placed] = []
    y = 0.0
    for index in sorted(rows):
        row = rows[index]
        row_w = sum(boxes[m].w for m in row) + GAP_X * (len(row) - 1)
        x = (width - row_w) / 2
        height = max(boxes[m].h for m in row)
        for member in row:
            box = boxes[member]
            kind = "start" if member == START else "end" if member == END else "state"
            placed.append(Placed(member, x, y, box.w, box.h, kind, member))
            placed.extend(box.shifted(x, y))
            x += box.w + GAP_X
        y += height + GAP_Y
    return _Box(width, max(y - GAP_Y, 0.0), placed)


def _node_box(graph: Graph, member: str) -> _Box:
    """A plain state's size, or a Map/Parallel state's box with its inner scopes in it."""
    if member in (START, END):
        return _Box(PSEUDO, PSEUDO)
    node = graph.node(member)
    if node is None or node.group is None:
        return _Box(NODE_W, NODE_H)
    group = next(g for g in graph.groups if g.id == node.group)
    if group.kind == "map":
        inner = _scope(graph, group.id, group.start_at)
        return _Box(
            max(inner.w, NODE_W) + 2 * PAD,
            inner.h + HEADER + 2 * PAD,
            inner.shifted(PAD + (max(inner.w, NODE_W) - inner.w) / 2, HEADER + PAD),
        )
    branches = [g for g in graph.groups if g.parent == group.id and g.kind == "branch"]
    items: list[Placed] = []
    x = PAD
    height = 0.0
    for branch in branches:
        inner = _scope(graph, branch.id, branch.start_at)
        w, h = inner.w + 2 * PAD, inner.h + HEADER + 2 * PAD
        items.append(Placed(branch.id, x, HEADER + PAD, w, h, "group", branch.label))
        items.extend(inner.shifted(x + PAD, 2 * HEADER + 2 * PAD))
        x += w + GAP_X / 2
        height = max(height, h)
    width = max(x - GAP_X / 2 + PAD, NODE_W + 2 * PAD)
    return _Box(width, height + HEADER + 2 * PAD, items)


def _layers(members: list[str], edges: list[Edge], start: str | None) -> dict[str, int]:
    """Longest path from the scope's start over the edges that do not loop back."""
    following: dict[str, list[str]] = {m: [] for m in members}
    for edge in edges:
        following[edge.source].append(edge.target)
    back: set[tuple[str, str]] = set()
    state: dict[str, int] = {}  # 1 on the DFS stack, 2 done
    roots = ([start] if start in following else []) + members
    for root in roots:
        if root in state:
            continue
        stack: list[tuple[str, Iterable[str]]] = [(root, iter(following[root]))]
        state[root] = 1
        while stack:
            node, rest = stack[-1]
            target = next(iter(rest), None)
            if target is None:
                state[node] = 2
                stack.pop()
            elif state.get(target) == 1:
                back.add((node, target))
            elif target not in state:
                state[target] = 1
                stack.append((target, iter(following[target])))
    layer = dict.fromkeys(members, 0)
    incoming = dict.fromkeys(members, 0)
    forward = [(e.source, e.target) for e in edges if (e.source, e.target) not in back]
    for _, target in forward:
        incoming[target] += 1
    ready = [m for m in members if incoming[m] == 0]
    while ready:
        node = ready.pop(0)
        for source, target in forward:
            if source == node:
                layer[target] = max(layer[target], layer[node] + 1)
                incoming[target] -= 1
                if incoming[target] == 0:
                    ready.append(target)
    return layer


def draw_coverage(
    graph: Graph,
    states_hit: Collection[str],
    edges_hit: Collection[tuple[str, str, str, str]],
    *,
    title: str = "",
    timers: Iterable[tuple[str, str]] = (),
    timers_hit: Collection[tuple[str, str]] = (),
) -> str:
    """The graph as an SVG element; states, transitions and timers (state, "timeout" or
    "heartbeat"; state "" for the execution) not in the hits are "missed"."""
    placed, width, height = layout(graph)
    where = {p.id: p for p in placed if p.kind != "group"}
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="coverage-graph" '
        f'width="{width:.0f}" height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'role="img" aria-label="{escape(title or "state machine")}">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
        'fill="context-stroke"/></marker></defs>',
    ]
    containers = [p for p in placed if p.kind == "group" or _is_container(graph, p.id)]
    for box in containers:  # boxes first, so the states inside are drawn on top
        parts.append(_container(graph, box, box.id in states_hit))
    for box in placed:
        if box.kind == "group" or box in containers:
            continue
        parts.append(_node(graph, box, box.id in states_hit))
    right = max((p.x + p.w for p in placed), default=0.0)
    for edge in graph.edges:
        source, target = where.get(edge.source), where.get(edge.target)
        if source is None or target is None:
            continue
        key = (edge.source, edge.target, edge.kind, edge.label)
        status = "pseudo" if edge.kind in ("start", "end") else _mark(key in edges_hit)
        parts.append(_edge(edge, source, target, status, right))
    shown: dict[str, int] = {}  # how many clocks each state has already
    for state, kind in timers:
        at = where.get(state or START)
        if at is None:
            continue
        index = shown[state] = shown.get(state, -1) + 1
        parts.append(_clock(at, state, kind, index, (state, kind) in timers_hit))
    parts.append("</svg>")
    return "\n".join(parts)


def _is_container(graph: Graph, node_id: str) -> bool:
    node = graph.node(node_id)
    return node is not None and node.group is not None


def _mark(hit: bool) -> str:
    return "covered" if hit else "missed"


def _kind(graph: Graph, box: Placed) -> str:
    node = graph.node(box.id)
    return node.type if node else ""


def _title(box: Placed, kind: str, hit: bool) -> str:
    """A state's tooltip: its name, its type and whether the tests entered it."""
    return (
        f"<title>{escape(box.id)} ({escape(kind)}): {'covered' if hit else 'never entered'}</title>"
    )


def _node(graph: Graph, box: Placed, hit: bool) -> str:
    if box.kind in ("start", "end"):
        r = box.w / 2
        return (
            f'<circle class="pseudo {box.kind}" cx="{box.cx:.1f}" cy="{box.y + r:.1f}" '
            f'r="{r:.1f}"><title>{box.kind}</title></circle>'
        )
    kind = _kind(graph, box)
    return (
        f'<g class="state {_mark(hit)}" data-state="{escape(box.id)}" data-type="{escape(kind)}">'
        f'{_title(box, kind, hit)}<rect x="{box.x:.1f}" y="{box.y:.1f}" width="{box.w:.1f}" '
        f'height="{box.h:.1f}" rx="6"/><text x="{box.cx:.1f}" y="{box.y + box.h / 2 + 4:.1f}" '
        f'text-anchor="middle">{escape(_fit(box.id, box.w))}</text></g>'
    )


def _container(graph: Graph, box: Placed, hit: bool) -> str:
    if box.kind == "group":  # a Parallel branch: a frame only
        return (
            f'<g class="branch"><rect x="{box.x:.1f}" y="{box.y:.1f}" width="{box.w:.1f}" '
            f'height="{box.h:.1f}" rx="4"/><text x="{box.x + 8:.1f}" y="{box.y + 16:.1f}">'
            f"{escape(box.label)}</text></g>"
        )
    kind = _kind(graph, box)
    return (
        f'<g class="state container {_mark(hit)}" data-state="{escape(box.id)}" '
        f'data-type="{escape(kind)}">{_title(box, kind, hit)}'
        f'<rect x="{box.x:.1f}" y="{box.y:.1f}" width="{box.w:.1f}" height="{box.h:.1f}" '
        f'rx="8"/><text x="{box.x + 10:.1f}" y="{box.y + 17:.1f}">'
        f"{escape(_fit(f'{box.id} ({kind})', box.w))}</text></g>"
    )


def _edge(edge: Edge, source: Placed, target: Placed, status: str, right: float) -> str:
    if edge.kind == "retry":
        x, y = source.x + source.w, source.y + source.h / 2
        d = f"M{x:.1f},{y - 8:.1f} C{x + LOOP * 1.6:.1f},{y - 20:.1f} {x + LOOP * 1.6:.1f},{y + 20:.1f} {x:.1f},{y + 8:.1f}"  # noqa: E501
        label_at = (x + LOOP, y - 14)
    elif target.y > source.y + source.h / 2:  # downwards
        x1, y1 = source.cx, source.y + source.h
        x2, y2 = target.cx, target.y
        bend = max((y2 - y1) / 2, 12.0)
        d = f"M{x1:.1f},{y1:.1f} C{x1:.1f},{y1 + bend:.1f} {x2:.1f},{y2 - bend:.1f} {x2:.1f},{y2:.1f}"  # noqa: E501
        label_at = ((x1 + x2) / 2, (y1 + y2) / 2)
    else:  # back up (or across): round the right side of everything in between
        x1, y1 = source.x + source.w, source.y + source.h / 2
        x2, y2 = target.x + target.w, target.y + target.h / 2
        side = min(right + LOOP, max(x1, x2) + GAP_X)
        d = f"M{x1:.1f},{y1:.1f} C{side:.1f},{y1:.1f} {side:.1f},{y2:.1f} {x2:.1f},{y2:.1f}"
        label_at = (side - 4, (y1 + y2) / 2)
    what = f"{edge.source} -> {edge.target} ({edge.kind}{': ' + edge.label if edge.label else ''})"
    shown = status if status != "pseudo" else ""
    parts = [
        f'<path class="edge {edge.kind} {status}" data-source="{escape(edge.source)}" '
        f'data-target="{escape(edge.target)}" data-kind="{edge.kind}" '
        f'data-label="{escape(edge.label)}" d="{d}" marker-end="url(#arrow)">'
        f"<title>{escape(what)}{': ' + shown if shown else ''}</title></path>"
    ]
    if edge.kind in ("choice", "default", "catch", "retry") and edge.label:
        x, y = label_at
        parts.append(
            f'<text class="edge-label {status}" x="{x + 4:.1f}" y="{y:.1f}">'
            f"{escape(_fit(edge.label, 160))}</text>"
        )
    return "".join(parts)


def _clock(box: Placed, state: str, kind: str, index: int, hit: bool) -> str:
    """A small clock on a state's top right corner (beside the start circle for the
    execution), one per timer: its TimeoutSeconds, then its HeartbeatSeconds."""
    r = CLOCK
    if state:
        x, y = box.x + box.w - r - 3 - index * (2 * r + 3), box.y
    else:
        x, y = box.x + box.w + r + 6, box.y + box.h / 2
    field = "TimeoutSeconds" if kind == "timeout" else "HeartbeatSeconds"
    who = state or "execution"
    said = "fired" if hit else "never fired"
    return (
        f'<g class="timer {kind} {_mark(hit)}" data-for="{escape(state)}" data-timer="{kind}">'
        f"<title>{escape(who)} {kind} ({field}): {said}</title>"
        f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}"/>'
        f'<path d="M{x:.1f},{y - r + 2:.1f} V{y:.1f} H{x + r - 2:.1f}" fill="none"/></g>'
    )


def _fit(text: str, width: float) -> str:
    """Shorten ``text`` to about what fits in ``width`` pixels at the report's font size."""
    limit = max(int(width / 7), 4)
    return text if len(text) <= limit else text[: limit - 1] + "…"
