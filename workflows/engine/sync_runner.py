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
import collections
import contextlib
import contextvars
import os
import threading
import time
from collections.abc import Callable, Coroutine, Generator, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Final, TypeVar

__all__ = [
    "Turns",
    "alone_on_own_loop",
    "handler_on_loop",
    "in_handler_on_loop",
    "own_loop_turns",
    "run_sync",
    "start_eagerly",
    "waiting_for_branches",
]

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
    A branch started eagerly (``start_eagerly``) runs in its parent's task, with its
    siblings still to come: it is not alone.
    """
    return (
        own_loop_turns() is not None
        and not getattr(_local, "eager", 0)
        and len(asyncio.all_tasks()) == 1
    )


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


# ------------------------------------------------- plain handlers of branches on run()'s loop

# Tasks blocked in a Parallel's or Map's wait for its branches (``waiting_for_branches``).
_gathering: set[asyncio.Task[Any]] = set()


@contextlib.contextmanager
def waiting_for_branches() -> Iterator[None]:
    """While the current task waits for the branches or iterations it started.

    Such a task needs nothing from the loop but its branches: ``Turns`` may call their
    handlers on the loop thread meanwhile.
    """
    task = asyncio.current_task()
    if task is None:
        yield
        return
    _gathering.add(task)
    try:
        yield
    finally:
        _gathering.discard(task)


# How long a handler runs on the loop thread before the handlers queued behind it move
# to the pool (so blocking branches still overlap, and one may wait for another).
HANDOFF_SECONDS: Final = 0.002
# Loop passes queued handlers wait for other ready work before they are judged.
_READY_PASSES: Final = 16


class Turns:
    """Plain handlers of Parallel branches and Map iterations on one of ``run()``'s loops.

    Each would hop into the handler pool and back (~70 us each way on a quiet machine,
    several times that on a busy one). Instead a handler is queued here and, once the
    loop has run everything that was ready, the loop thread calls the queued handlers
    one after another, provided nothing else is on the loop: every task is either
    waiting for a queued handler or waiting for its branches (``waiting_for_branches``),
    and no timer is pending (a TimeoutSeconds, a heartbeat, a Wait in another branch, an
    execution timeout). Otherwise the queue goes to the pool as before.

    Handlers that block must still overlap, as on AWS, and a branch may wait for
    another (a rendezvous): when a handler has been running on the loop thread for
    ``HANDOFF_SECONDS``, the ``_Watchdog`` thread moves the handlers still queued to
    the pool.
    """

    __slots__ = ("_jobs", "_loop", "_passes", "_scheduled", "_waiting", "running_since")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._jobs: collections.deque[_Job] = collections.deque()
        self._waiting: set[asyncio.Future[Any]] = set()
        self._scheduled = False
        self._passes = 0  # loop passes the drain has waited for ready work
        # when the handler now running on the loop thread began (monotonic), or None
        self.running_since: float | None = None

    async def call(self, function: Callable[..., T], *args: Any) -> T:
        """``function(*args)`` on the loop thread when it can be, else on a pool thread."""
        loop = self._loop
        future: asyncio.Future[T] = loop.create_future()
        job = _Job(future, function, args)
        self._jobs.append(job)
        self._waiting.add(future)
        if not self._scheduled:
            self._scheduled = True
            loop.call_soon(self._drain)
        try:
            return await future
        except asyncio.CancelledError:
            job.cancel()
            raise
        finally:
            self._waiting.discard(future)

    def pending(self) -> bool:
        return bool(self._jobs)

    def _quiet(self) -> bool:
        """Nothing on the loop needs it while a handler runs on its thread."""
        loop = self._loop
        timers = getattr(loop, "_scheduled", None)
        if timers is None or any(not timer.cancelled() for timer in timers):
            return False
        waiting = self._waiting
        for task in asyncio.all_tasks(loop):
            if task not in _gathering and getattr(task, "_fut_waiter", None) not in waiting:
                return False
        return True

    def _drain(self) -> None:
        ready = getattr(self._loop, "_ready", None)
        if ready and self._passes < _READY_PASSES:
            # what is ready first (branches reaching their handlers) runs first
            self._passes += 1
            self._loop.call_soon(self._drain)
            return
        self._scheduled = False
        self._passes = 0
        jobs = self._jobs
        while jobs:
            if not self._quiet():
                self.hand_off()
                return
            try:
                job = jobs.popleft()
            except IndexError:  # the watchdog handed it off meanwhile
                return
            if job.future.cancelled():
                continue
            self.running_since = time.monotonic()
            if jobs:
                _watchdog.watch(self)
            try:
                with handler_on_loop():
                    result = job.function(*job.args)
            except (KeyboardInterrupt, SystemExit):
                raise
            except BaseException as exc:
                if not job.future.cancelled():
                    job.future.set_exception(exc)
            else:
                if not job.future.cancelled():
                    job.future.set_result(result)
            finally:
                self.running_since = None

    def hand_off(self) -> None:
        """Send every queued handler to the pool (from the loop thread or the watchdog)."""
        pool = _shared_pool()
        while True:
            try:
                job = self._jobs.popleft()
            except IndexError:
                return
            job.submit(pool, self._loop)


class _Job:
    __slots__ = ("args", "function", "future", "submitted")

    def __init__(
        self, future: asyncio.Future[Any], function: Callable[..., Any], args: tuple[Any, ...]
    ) -> None:
        self.future = future
        self.function = function
        self.args = args
        self.submitted: Future[Any] | None = None

    def submit(self, pool: ThreadPoolExecutor, loop: asyncio.AbstractEventLoop) -> None:
        submitted = pool.submit(self.function, *self.args)
        self.submitted = submitted
        future = self.future

        def settle(done: Future[Any]) -> None:
            if future.cancelled():
                return
            if done.cancelled():
                future.cancel()
            elif (exc := done.exception()) is not None:
                future.set_exception(exc)
            else:
                future.set_result(done.result())

        def deliver(done: Future[Any]) -> None:
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits
                loop.call_soon_threadsafe(settle, done)

        submitted.add_done_callback(deliver)

    def cancel(self) -> None:
        submitted = self.submitted
        if submitted is not None:
            submitted.cancel()  # not started yet: never runs (as run_in_executor does)


class _Watchdog:
    """One thread that hands queued handlers off to the pool when the one running on a
    loop thread takes long; it sleeps for good when there is nothing to watch."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._watched: set[Turns] = set()
        self._thread: threading.Thread | None = None

    def watch(self, turns: Turns) -> None:
        with self._lock:
            self._watched.add(turns)
        if not self._wake.is_set():
            with self._lock:
                if self._thread is None:
                    self._thread = threading.Thread(
                        target=self._run, name="handler-watchdog", daemon=True
                    )
                    self._thread.start()
            self._wake.set()

    def _run(self) -> None:
        idle = 0
        while True:
            self._wake.wait()
            time.sleep(HANDOFF_SECONDS)
            busy = False
            now = time.monotonic()
            with self._lock:
                watched = list(self._watched)
            for turns in watched:
                since = turns.running_since
                if since is None or not turns.pending():
                    with self._lock:
                        self._watched.discard(turns)
                    continue
                busy = True
                if now - since >= HANDOFF_SECONDS:
                    turns.hand_off()
            idle = 0 if busy else idle + 1
            if idle > 50:
                # nothing watched for a while: sleep until the next watch()
                self._wake.clear()
                with self._lock:
                    if self._watched:  # one arrived meanwhile
                        self._wake.set()


_watchdog: Final = _Watchdog()


def _forget_watchdog_thread() -> None:
    # a forked child has none of its parent's threads: the next watch() starts one
    _watchdog.__init__()  # type: ignore[misc]


os.register_at_fork(after_in_child=_forget_watchdog_thread)


def own_loop_turns() -> Turns | None:
    """The ``Turns`` of the running loop when it is one of ``run()``'s, else None."""
    loop = asyncio.get_running_loop()
    runner: asyncio.Runner | None = getattr(_local, "runner", None)
    if runner is None or runner.get_loop() is not loop:
        return None
    turns: Turns | None = getattr(_local, "turns", None)
    if turns is None:
        turns = _local.turns = Turns(loop)
    return turns


# ----------------------------------------------------------- branches started without a task


def start_eagerly(coroutine: Coroutine[Any, Any, T]) -> asyncio.Future[T]:
    """Run ``coroutine`` now, up to where it first waits; a task only for what is left.

    A branch made of states that never wait (inline or mocked handlers, Pass, Choice)
    then costs no task, no loop pass and no wait for it. It runs in a context of its own,
    as a task would, and the task that continues it keeps that context. What a branch
    does before it first waits happens in the order tasks would have done it: branches
    are started one after another, each up to its first wait.
    """
    loop = asyncio.get_running_loop()
    context = contextvars.copy_context()
    _local.eager = getattr(_local, "eager", 0) + 1  # not alone on the loop: see own_loop_alone
    try:
        waits_on = context.run(coroutine.send, None)
    except StopIteration as stop:
        done: asyncio.Future[T] = loop.create_future()
        done.set_result(stop.value)
        return done
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:
        failed: asyncio.Future[T] = loop.create_future()
        failed.set_exception(exc)
        return failed
    finally:
        _local.eager -= 1
    return loop.create_task(_continued(coroutine, waits_on), context=context)


async def _continued(coroutine: Coroutine[Any, Any, T], waits_on: Any) -> T:
    result: T = await _Resumed(coroutine, waits_on)
    return result


class _Resumed:
    """Awaiting it continues a coroutine that was suspended outside any task."""

    __slots__ = ("coroutine", "waits_on")

    def __init__(self, coroutine: Coroutine[Any, Any, Any], waits_on: Any) -> None:
        self.coroutine = coroutine
        self.waits_on = waits_on

    def __await__(self) -> Generator[Any, Any, Any]:
        coroutine = self.coroutine
        waits_on = self.waits_on
        while True:
            try:
                yield waits_on
            except GeneratorExit:
                coroutine.close()
                raise
            except BaseException as exc:  # thrown in by the task: a cancellation
                try:
                    waits_on = coroutine.throw(exc)
                except StopIteration as stop:
                    return stop.value
            else:
                try:
                    waits_on = coroutine.send(None)
                except StopIteration as stop:
                    return stop.value


@atexit.register
def _close() -> None:
    with _pool_lock:
        runners = list(_runners)
        _runners.clear()
    for runner in runners:
        with contextlib.suppress(RuntimeError):  # still running in another thread: leave it
            runner.close()
