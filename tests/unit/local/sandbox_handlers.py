"""Handlers of the sandbox tests: they meet each other, and count who runs at once."""

from __future__ import annotations

import threading
import time
from typing import Any

met = threading.Event()
running = 0
most = 0
_count = threading.Lock()


def reset() -> None:
    global running, most
    met.clear()
    running = most = 0


def waits_for_the_other(event: Any, context: Any) -> str:
    if not met.wait(10):
        raise TimeoutError("the other function never ran alongside")
    return "met"


def meets(event: Any, context: Any) -> str:
    met.set()
    return "meets"


def counted(event: Any, context: Any) -> int:
    global running, most
    with _count:
        running += 1
        most = max(most, running)
    time.sleep(0.01)  # long enough for a second invocation to overlap if it could
    with _count:
        running -= 1
    return int(event["n"])


def remaining(event: Any, context: Any) -> int:
    return int(context.get_remaining_time_in_millis())
