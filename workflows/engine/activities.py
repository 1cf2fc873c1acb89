"""Activities: Task states whose work is done by workers that poll for it.

A Task state whose Resource is an activity ARN schedules its input here; a worker
takes it with GetActivityTask (``poll``) and answers with SendTaskSuccess/Failure/
Heartbeat on the task token, which ``TaskTokens`` resolves as for callbacks. Work
that nobody took before its Task ended (timeout, stop) is withdrawn, so a late
worker never receives a task whose state has moved on.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["Activities"]


@dataclass
class _Work:
    token: str
    input: Any
    on_start: Callable[[str], None]


class Activities:
    """Work waiting for activity workers, per activity ARN (first in, first out)."""

    def __init__(self) -> None:
        self._waiting: dict[str, deque[_Work]] = {}
        self._arrived: dict[str, asyncio.Event] = {}
        # the activities created through the API: ARN -> (name, creation time)
        self.declared: dict[str, tuple[str, float]] = {}

    def schedule(
        self, activity_arn: str, token: str, input: Any, on_start: Callable[[str], None]
    ) -> None:
        self._waiting.setdefault(activity_arn, deque()).append(_Work(token, input, on_start))
        self._event(activity_arn).set()

    def withdraw(self, token: str) -> None:
        for queue in self._waiting.values():
            for work in list(queue):
                if work.token == token:
                    queue.remove(work)

    def waiting(self, activity_arn: str) -> int:
        return len(self._waiting.get(activity_arn, ()))

    async def poll(
        self, activity_arn: str, worker_name: str, timeout: float
    ) -> tuple[str, Any] | None:
        """The next task of the activity (token, input), or None after ``timeout`` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            queue = self._waiting.get(activity_arn)
            if queue:
                work = queue.popleft()
                work.on_start(worker_name)
                return work.token, work.input
            remaining = deadline - loop.time()
            if remaining <= 0:
                return None
            event = self._event(activity_arn)
            event.clear()
            try:
                await asyncio.wait_for(event.wait(), remaining)
            except TimeoutError:
                return None

    def _event(self, activity_arn: str) -> asyncio.Event:
        event = self._arrived.get(activity_arn)
        if event is None:
            event = self._arrived[activity_arn] = asyncio.Event()
        return event
