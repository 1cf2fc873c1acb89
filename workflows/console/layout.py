"""ELK's layout of a definition's graph, made once on the server and kept.

The page used to lay out the graph itself, with ELK, on every open: for a definition
of 200 states that was most of a second of a cold browser's time (more on a busy
machine). Here the same ELK file the page ships (``static/elk-0.12.1.bundled.js``)
and the same input builder (``static/elk-input.js``) run in an embedded V8
(mini-racer), once per graph: the console lays out a definition when an execution of
it starts, the page then arrives with its layout, and ``workflows run --report``
writes it into the file. Without mini-racer (or if ELK fails) ``layout`` answers
``None`` and the page lays the graph out itself, as before.

The key is the graph (graph.py's dict) itself, so two machines with the same
definition share a layout, and a new definition is never drawn with an old layout.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

__all__ = ["Layouts", "graph_key", "layouts"]

log = logging.getLogger("workflows.console")

STATIC: Final = Path(__file__).parent / "static"
ELK: Final = "elk-0.12.1.bundled.js"
INPUT: Final = "elk-input.js"
KEPT: Final = 256
TIMEOUT_S: Final = 120.0

# ELK's bundled build hands work to a stand-in worker with setTimeout; V8 alone has
# no timers, so a timer here is a microtask (ELK only uses it to go asynchronous)
_PRELUDE: Final = """
var self = globalThis, window = globalThis;
globalThis.setTimeout = function (f) {
  var args = Array.prototype.slice.call(arguments, 2);
  Promise.resolve().then(function () { f.apply(null, args); });
  return 0;
};
globalThis.clearTimeout = function () {};
function workflowsLayout(text) {
  return new ELK().layout(workflowsElkInput(JSON.parse(text))).then(JSON.stringify);
}
"""


def graph_key(graph: Mapping[str, Any]) -> str:
    """What a layout is kept under: the graph and the files that lay it out."""
    text = json.dumps(graph, sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(text.encode())
    digest.update(_input_builder())
    return digest.hexdigest()


@functools.cache
def _input_builder() -> bytes:
    return (STATIC / INPUT).read_bytes()


class Layouts:
    """Layouts made with ELK in an embedded V8, one at a time, the last ``KEPT`` kept."""

    def __init__(self) -> None:
        self._kept: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._lock = threading.Lock()  # the kept layouts (held for a moment only)
        self._making = threading.Lock()  # one V8 context, used by one thread at a time
        self._context: Any = None
        self._broken = False

    def kept(self, graph: Mapping[str, Any], key: str | None = None) -> dict[str, Any] | None:
        """The layout of ``graph`` if it was made already (never waits); ``key``: its
        ``graph_key`` when the caller has it already."""
        key = graph_key(graph) if key is None else key
        with self._lock:
            found = self._kept.get(key)
            if found is not None:
                self._kept.move_to_end(key)
            return found

    def layout(self, graph: Mapping[str, Any]) -> dict[str, Any] | None:
        """The layout of ``graph``, made now if need be (blocking: call it off the loop)."""
        key = graph_key(graph)
        with self._making:  # a page asking for kept() meanwhile is never held up
            with self._lock:
                found = self._kept.get(key)
            if found is not None or self._broken:
                return found
            made = self._make(graph)
            if made is not None:
                with self._lock:
                    self._kept[key] = made
                    while len(self._kept) > KEPT:
                        self._kept.popitem(last=False)
            return made

    def _make(self, graph: Mapping[str, Any]) -> dict[str, Any] | None:
        try:
            if self._context is None:
                self._context = _context()
            # the graph goes in as a JSON string literal: data, never code
            argument = json.dumps(json.dumps(graph))
            promise = self._context.eval(f"workflowsLayout({argument})")
            laid_out: dict[str, Any] = json.loads(promise.get(timeout=TIMEOUT_S))
            return laid_out
        except ImportError:
            log.info("mini-racer is not installed: the console's pages lay out their graphs")
            self._broken = True
        except Exception:  # a layout that fails is drawn by the page instead
            log.exception("laying out a graph with ELK failed; the page will lay it out")
        return None


def _context() -> Any:
    from py_mini_racer import MiniRacer

    context = MiniRacer()
    context.eval(_PRELUDE)
    context.eval((STATIC / ELK).read_text(encoding="utf-8"))
    context.eval((STATIC / INPUT).read_text(encoding="utf-8"))
    return context


# one per process: `workflows up`'s console and `workflows run --report` share it
layouts: Final = Layouts()
