"""What waiting means: real time, or virtual time that tests can skip.

Every wait in the engine (Wait states, Retry back-off, TimeoutSeconds,
HeartbeatSeconds) goes through a ``Clock``. ``RealClock`` sleeps. ``VirtualClock``
keeps a timeline of its own that skips only idle time: a sleep registers a timer,
and when nothing in the event loop can make progress the clock jumps to the
earliest timer; while work runs outside the loop (a handler in a thread, an SDK
call: ``busy()``) the timeline flows at real speed and timers fire when their
moment really comes. A 24-hour approval timeout then takes no real time, while a
handler that blocks for 3 s under ``TimeoutSeconds: 1`` times out after 1 s, as on
AWS (and as in Temporal's time-skipping test server). History timestamps and ``$$``
follow the timeline.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext, suppress
from datetime import UTC, datetime
from typing import Final, Protocol, runtime_checkable

__all__ = ["Clock", "RealClock", "VirtualClock", "held_still"]


@runtime_checkable
class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the epoch, as the execution sees them."""
        ...

    async def sleep(self, seconds: float) -> None: ...

    def busy(self) -> AbstractContextManager[None]:
        """Marks work outside the event loop (a handler in a thread) as in progress."""
        ...


_NOTHING: Final = nullcontext()


class RealClock:
    """Wall-clock time; ``sleep`` really sleeps."""

    def now(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))

    def busy(self) -> AbstractContextManager[None]:
        return _NOTHING  # real time flows anyway (one shared context: this is per call)


class VirtualClock:
    """Time that skips what is idle and flows while work is being done.

    ``start`` fixes where the timeline begins (default: now). With ``auto_advance``
    (the default) the clock skips ahead by itself whenever the event loop is idle;
    without it, idle time is skipped only through ``advance``. Inside ``busy()``
    (work outside the event loop: a handler thread, an SDK call) the clock moves with
    the wall clock, and the timers that fall due meanwhile fire on time. With
    ``real_time_passes`` the clock always moves with the wall clock (a handler that
    works for 40 ms takes 40 ms), while idle waits are still skipped: what
    ``workflows run`` shows.
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
        base = time.time() if start is None else float(start)
        # (virtual seconds at the anchor, real monotonic moment it began to flow or None):
        # one tuple, replaced whole, so that a handler thread reading now() sees a pair
        # that belongs together
        self._state: tuple[float, float | None] = (
            base,
            time.monotonic() if real_time_passes else None,
        )
        self._timers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._sequence = itertools.count()
        self._busy = 0
        self._held = 0
        self._auto = auto_advance
        self._driver: asyncio.Task[None] | None = None
        self._wake: asyncio.Event | None = None

    def now(self) -> float:
        base, anchor = self._state
        if anchor is None:
            return base
        return base + (time.monotonic() - anchor)

    @property
    def flowing(self) -> bool:
        """Whether the timeline is moving with the wall clock right now."""
        return self._state[1] is not None

    def _jump_to(self, moment: float) -> None:
        """Skip ahead so that ``now()`` is at least ``moment``."""
        base, anchor = self._state
        gap = moment - self.now()
        if gap > 0:
            self._state = (base + gap, anchor)

    def _poke(self) -> None:
        if self._wake is not None:
            self._wake.set()

    async def sleep(self, seconds: float) -> None:
        loop = asyncio.get_running_loop()
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = loop.create_future()
        heapq.heappush(self._timers, (self.now() + seconds, next(self._sequence), future))
        if self._auto and (self._driver is None or self._driver.done()):
            self._driver = loop.create_task(self._drive())
        else:
            self._poke()  # a driver waiting in real time recomputes its next deadline
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
        """Work outside the event loop is in progress: time flows at real speed."""
        self._busy += 1
        if self._busy == 1 and not self._real:
            self._state = (self._state[0], time.monotonic())
            self._poke()
        try:
            yield
        finally:
            self._busy -= 1
            if not self._busy:
                if not self._real:
                    self._state = (self.now(), None)
                self._poke()

    @contextmanager
    def hold(self) -> Iterator[None]:
        """Bookkeeping outside the event loop is in progress: time neither skips nor flows.

        For the runtime's own chores (storing history before an effect), which take
        real time on no execution's timeline: a wait must not be skipped over while
        they run, and they must not lengthen it either.
        """
        self._held += 1
        try:
            yield
        finally:
            self._held -= 1
            self._poke()

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

    async def _wait_real(self, seconds: float | None) -> None:
        """Wait up to ``seconds`` of real time, or less if poked (work ended, new timer)."""
        wake = self._wake
        if wake is None:
            wake = self._wake = asyncio.Event()
        wake.clear()
        with suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), seconds)

    async def _drive(self) -> None:
        loop = asyncio.get_running_loop()
        ready = getattr(loop, "_ready", None)  # CPython's run queue: the cheapest idleness test
        while self._timers:
            if self._timers[0][2].cancelled():
                heapq.heappop(self._timers)
                continue
            if self._busy:
                # work is running: the timeline flows, the earliest timer fires on time
                due = self._timers[0][0] - self.now()
                if due <= 0:
                    await self._fire_next()
                else:
                    await self._wait_real(due)
                continue
            if self._held:
                await self._wait_real(None)  # until the chore ends (or a timer arrives)
                continue
            await asyncio.sleep(0)
            if self._busy or self._held or (ready is not None and len(ready) > 0):
                continue
            if self._timers and self._timers[0][2].cancelled():
                heapq.heappop(self._timers)
                continue
            if self._timers:
                await self._fire_next()


def held_still(clock: Clock) -> AbstractContextManager[None]:
    """``clock.hold()`` where the clock has it (a VirtualClock), else ``clock.busy()``."""
    hold = getattr(clock, "hold", None)
    return hold() if callable(hold) else clock.busy()
