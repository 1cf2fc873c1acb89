"""Where a request's time goes under ``workflows up``: opt-in marks from every process.

With ``WORKFLOWS_SPANS=FILE`` in its environment, the runtime, its sandboxes and its
store's writer append one line per mark to FILE: ``<monotonic seconds> <CPU seconds of
the marking thread> <mark> <key> [<value>]``. ``time.monotonic`` is the system's
CLOCK_MONOTONIC, the same clock in every process of the machine, so marks of one request
made by different processes line up; the CPU time tells a leg that computed from one
that waited (for a core, or for an answer).
``bench.local_load --spans`` sets the variable and reads the file back: for each order,
the time in each leg of the accept path (waiting for an API sandbox, in the sandbox,
StartExecution's commit, ...), and what the runtime's loop and collector did meanwhile.

The marks are written with ``os.write`` on a file opened ``O_APPEND``: one line is one
write, so lines from several processes never interleave, and nothing is buffered that a
``kill -9`` would lose. Without the variable, ``mark`` returns at its first test, and
nothing else here runs. Written here rather than taken from a tracing library
(OpenTelemetry) because what is wanted is a few timestamps shared across processes
with no collector to run, at a cost too small to move the latencies measured.
"""

from __future__ import annotations

import asyncio
import contextvars
import gc
import os
import time
from typing import Any, Final

__all__ = [
    "SPANS_VARIABLE",
    "active",
    "current",
    "enabled",
    "mark",
    "watch_collections",
    "watch_loop",
]

SPANS_VARIABLE: Final = "WORKFLOWS_SPANS"

# the key of the request the running task serves (the API's trace id), for the marks of
# code that does not know it (the sandbox pool)
current: contextvars.ContextVar[str] = contextvars.ContextVar("workflows_span", default="-")
# the invocation a sandbox serves (one at a time; its handler may run on another thread)
invocation = "-"

_fd: int | None = None


def _forget() -> None:
    global _fd
    _fd = None  # a forked child opens the file again if it marks (``enabled``)


os.register_at_fork(after_in_child=_forget)


def enabled() -> bool:
    """Whether marks are written (``WORKFLOWS_SPANS`` set); opens the file in this process
    on the first call."""
    global _fd
    path = os.environ.get(SPANS_VARIABLE)
    if not path:
        return False
    if _fd is None:
        _fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    return True


def active() -> bool:
    """Whether this process writes marks (``enabled()`` said yes), without looking again."""
    return _fd is not None


def mark(name: str, key: object, value: Any = "") -> None:
    """Write ``name`` for ``key`` now, with the CPU time of the calling thread so far
    (nothing unless ``enabled()`` said yes before)."""
    if _fd is None:
        return
    line = f"{time.monotonic():.6f} {time.thread_time():.6f} {name} {key} {value}\n"
    os.write(_fd, line.encode())


def watch_loop(interval: float = 0.005, threshold: float = 0.005) -> asyncio.TimerHandle | None:
    """Mark ``loop.late`` whenever a timer of the running loop fires more than ``threshold``
    seconds after it was due (how long a callback that became ready waited for the loop),
    with the CPU time the loop's thread used meanwhile (the rest it waited for a core, or
    for the GIL); and ``loop.slow`` for each callback that ran longer than ``threshold``."""
    if not enabled():
        return None
    loop = asyncio.get_running_loop()
    _watch_callbacks(threshold)

    def tick(due: float, cpu: float) -> None:
        now, used = loop.time(), time.thread_time()
        if now - due > threshold:
            mark("loop.late", "-", f"{now - due:.6f} {used - cpu:.6f}")
        loop.call_at(now + interval, tick, now + interval, used)

    start = loop.time() + interval
    return loop.call_at(start, tick, start, time.thread_time())


def _watch_callbacks(threshold: float) -> None:
    run = asyncio.Handle._run

    def timed(handle: asyncio.Handle) -> None:
        began, cpu = time.monotonic(), time.thread_time()
        run(handle)
        took = time.monotonic() - began
        if took > threshold:
            text = repr(handle).replace(" ", "_")[:300]
            mark("loop.slow", "-", f"{took:.6f} {time.thread_time() - cpu:.6f} {text}")

    asyncio.Handle._run = timed  # type: ignore[method-assign,assignment]


def watch_collections() -> None:
    """Mark each garbage collection of this process (``gc.start``/``gc.stop`` with its
    generation and what it collected)."""
    if not enabled():
        return

    def callback(phase: str, info: dict[str, int]) -> None:
        mark(f"gc.{phase}", str(info.get("generation", "-")), info.get("collected", ""))

    gc.callbacks.append(callback)
