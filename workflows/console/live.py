"""Who is waiting for news of an execution: the console's server push.

``LiveHub`` listens to every execution the app runs (``LocalApp.execution_listeners``,
registered after the ExecutionService's own listener, so the store holds an event
before the hub hears of it) and wakes the pages that follow that execution or the
list of executions. It only says *that* something changed: the page's stream then
reads what changed from the service, so the service stays the one source of truth.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict

from workflows.engine.history import RawEvent
from workflows.local.app import ExecutionStarting, LocalApp

__all__ = ["LiveHub"]

ANY = "*"  # the key of those following every execution (the executions list)


class LiveHub:
    def __init__(self, app: LocalApp) -> None:
        self.app = app
        self._waiters: dict[str, set[asyncio.Event]] = defaultdict(set)
        app.execution_listeners.append(self._on_execution)

    def close(self) -> None:
        if self._on_execution in self.app.execution_listeners:
            self.app.execution_listeners.remove(self._on_execution)
        for waiters in self._waiters.values():
            for waiter in waiters:
                waiter.set()

    def follow(self, key: str) -> asyncio.Event:
        """An event set whenever ``key`` (an execution ARN, or ``ANY``) changes."""
        waiter = asyncio.Event()
        self._waiters[key].add(waiter)
        return waiter

    def unfollow(self, key: str, waiter: asyncio.Event) -> None:
        waiters = self._waiters.get(key)
        if waiters is not None:
            waiters.discard(waiter)
            if not waiters:
                del self._waiters[key]

    def changed(self, key: str) -> None:
        for waiter in self._waiters.get(key, ()):
            waiter.set()
        for waiter in self._waiters.get(ANY, ()):
            waiter.set()

    def _on_execution(self, starting: ExecutionStarting) -> None:
        arn = starting.execution_arn

        def on_event(_event_id: int, _raw: RawEvent) -> None:
            if self._waiters:  # nobody watching: nothing to do on the hot path
                self.changed(arn)

        starting.history.subscribe_raw(on_event)
        self.changed(arn)
