"""What waiting means: real time, or virtual time that tests can skip.

Every wait in the engine (Wait states, Retry back-off, TimeoutSeconds,
HeartbeatSeconds) goes through a ``Clock``. ``RealClock`` sleeps. ``VirtualClock``
keeps a timeline of its own: a sleep registers a timer, and when nothing else in
the event loop can make progress (no ready callback, no handler running in a
thread) the clock jumps to the earliest timer. A 24-hour approval timeout then
takes no real time, while history timestamps and ``$$`` advance as if it had.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "RealClock", "VirtualClock"]


@runtime_checkable
class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the epoch, as the execution sees them."""
        ...

    async def sleep(self, seconds: float) -> None: ...

    @contextmanager
    def busy(self) -> Iterator[None]:
        """Marks work outside the event loop (a handler in a thread) as in progress."""
        ...


class RealClock:
    """Wall-clock time; ``sleep`` really sleeps."""

    def now(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))

    @contextmanager
    def busy(self) -> Iterator[None]:
        yield


class VirtualClock:
    """Time that moves only when everything is waiting for it.

    ``start`` fixes where the timeline begins (default: now). With ``auto_advance``
    (the default) the clock skips ahead by itself whenever the event loop is idle;
    without it, time moves only through ``advance``. With ``real_time_passes`` the
    clock also moves with the wall clock in between (a handler that works for 40 ms
    takes 40 ms), while waits are still skipped: what ``workflows run`` shows.
    """

    def __init__(
        self,
        start: datetime | float | None = None,
        *,
        auto_advance: bool = True,
        real_time_passes: bool = False,
    ) -> None:
        if isinstance(start, datetime):
            start = start.replace(tzinfo=start.tzinfo or UTC).timestamp()
        self._real = real_time_passes
        self._origin = time.time()
        self._now = self._origin if start is None else float(start)
        self._timers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._sequence = itertools.count()
        self._busy = 0
        self._auto = auto_advance
        self._driver: asyncio.Task[None] | None = None
        self._not_busy: asyncio.Event | None = None

    def now(self) -> float:
        if self._real:
            return self._now + (time.time() - self._origin)
        return self._now

    def _jump_to(self, moment: float) -> None:
        """Skip ahead so that ``now()`` is at least ``moment``."""
        self._now += max(0.0, moment - self.now())

    async def sleep(self, seconds: float) -> None:
        loop = asyncio.get_running_loop()
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = loop.create_future()
        heapq.heappush(self._timers, (self.now() + seconds, next(self._sequence), future))
        if self._auto and (self._driver is None or self._driver.done()):
            self._driver = loop.create_task(self._drive())
        await future

    async def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds``, firing every timer due on the way."""
        await self._settle()
        target = self.now() + seconds
        while self._timers and self._timers[0][0] <= target:
            await self._fire_next()
            await self._settle()
        self._jump_to(target)
        await asyncio.sleep(0)

    @contextmanager
    def busy(self) -> Iterator[None]:
        self._busy += 1
        try:
            yield
        finally:
            self._busy -= 1
            if not self._busy and self._not_busy is not None:
                self._not_busy.set()

    async def _settle(self, limit: int = 100) -> None:
        """Let everything that is ready run (and register its timers) before time moves."""
        ready = getattr(asyncio.get_running_loop(), "_ready", None)
        for _ in range(limit):
            await asyncio.sleep(0)
            if ready is None or not ready:
                return

    async def _fire_next(self) -> None:
        deadline, _, future = heapq.heappop(self._timers)
        self._jump_to(deadline)
        due = [future]
        # timers due at the same instant fire together, as they would in real time
        while self._timers and self._timers[0][0] <= deadline:
            due.append(heapq.heappop(self._timers)[2])
        for each in due:
            if not each.done():
                each.set_result(None)
        # let the woken coroutines run before the next timer fires
        await asyncio.sleep(0)

    async def _drive(self) -> None:
        loop = asyncio.get_running_loop()
        ready = getattr(loop, "_ready", None)  # CPython's run queue: the cheapest idleness test
        while self._timers:
            if self._busy:
                self._not_busy = self._not_busy or asyncio.Event()
                self._not_busy.clear()
                await self._not_busy.wait()
                continue
            await asyncio.sleep(0)
            if self._busy or (ready is not None and len(ready) > 0):
                continue
            if self._timers and self._timers[0][2].cancelled():
                heapq.heappop(self._timers)
                continue
            if self._timers:
                await self._fire_next()
