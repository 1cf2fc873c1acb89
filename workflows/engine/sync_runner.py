"""One event loop per thread for ``StateMachine.run``, kept between calls.

``asyncio.run`` creates an event loop and, on its first handler in a thread, a thread
pool, and tears both down (joining the pool's threads) at the end of every call:
most of what one ``run()`` of a short workflow cost. A thread keeps its loop here and
every loop shares one handler thread pool; after each call, whatever the execution
left behind (a clock's timers, cancelled waits) is cancelled as ``asyncio.run``
would, so one call cannot leak into the next.

A call drives the loop with ``run_until_complete`` rather than ``Runner.run``: the
latter installs and restores a SIGINT handler on every call, and ``signal.signal``
formats the handler's repr (with the task's) while converting it to an enum, which
cost ~0.15 ms per ``run()``, eight times the execution of a one-state machine.
Ctrl-C then raises ``KeyboardInterrupt`` out of the loop as it does for any
``run_until_complete``; the leftovers are cancelled all the same.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import threading
from collections.abc import Coroutine, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

__all__ = ["alone_on_own_loop", "handler_on_loop", "in_handler_on_loop", "run_sync"]

T = TypeVar("T")

_local = threading.local()
_pool_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None
_runners: list[asyncio.Runner] = []


def _shared_pool() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(
                max_workers=min(32, (os.cpu_count() or 1) + 4), thread_name_prefix="handler"
            )
        return _pool


def alone_on_own_loop() -> bool:
    """True when the running loop is one of ``run()``'s and nothing else runs on it.

    Then a plain handler may run on the loop itself: no other execution, Parallel
    branch, Map iteration or timeout (each of those is a task of its own) is there to
    be held up, and no service can be served by a loop that only ``run()`` drives.
    """
    loop = asyncio.get_running_loop()
    runner: asyncio.Runner | None = getattr(_local, "runner", None)
    if runner is None or runner.get_loop() is not loop:
        return False
    return len(asyncio.all_tasks(loop)) == 1


def _runner() -> asyncio.Runner:
    runner: asyncio.Runner | None = getattr(_local, "runner", None)
    if runner is None:
        runner = asyncio.Runner()
        runner.get_loop().set_default_executor(_shared_pool())
        _local.runner = runner
        with _pool_lock:
            _runners.append(runner)
    return runner


@contextlib.contextmanager
def handler_on_loop() -> Iterator[None]:
    """While a plain handler runs directly on this thread's ``run()`` loop.

    The handler sees what it would see on a pool thread: no running event loop, so
    that it may call ``asyncio.run`` or ``StateMachine.run`` itself.
    """
    loop = asyncio.get_running_loop()
    _local.handler_depth = getattr(_local, "handler_depth", 0) + 1
    asyncio._set_running_loop(None)
    try:
        yield
    finally:
        asyncio._set_running_loop(loop)
        _local.handler_depth -= 1


def in_handler_on_loop() -> bool:
    return bool(getattr(_local, "handler_depth", 0))


def run_sync(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` to its end on this thread's loop (not from inside a running loop).

    A handler that ``alone_on_own_loop`` let run on the loop may call ``run()`` itself,
    as it could from the pool thread it would otherwise have run on: that execution
    then runs on a pool thread's loop, and this thread waits for it.
    """
    if in_handler_on_loop():
        elsewhere: Future[T] = _shared_pool().submit(run_sync, coroutine)
        return elsewhere.result()
    loop = _runner().get_loop()
    try:
        # a task of its own copies the caller's context, so context variables set by
        # one execution do not leak into the next (Runner.run shares one context)
        return loop.run_until_complete(loop.create_task(coroutine))
    finally:
        _cancel_leftovers(loop)


def _cancel_leftovers(loop: asyncio.AbstractEventLoop) -> None:
    tasks = [task for task in asyncio.all_tasks(loop) if not task.done()]
    if not tasks:
        return
    for task in tasks:
        task.cancel()
    loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))


@atexit.register
def _close() -> None:
    with _pool_lock:
        runners = list(_runners)
        _runners.clear()
    for runner in runners:
        with contextlib.suppress(RuntimeError):  # still running in another thread: leave it
            runner.close()
