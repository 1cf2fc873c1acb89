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
``run_until_complete``; the leftovers are cancelled all the same. The task's first
step is taken directly, from the handle the loop queued for it (``_first_step_now``):
an execution that never waits (its handlers all run on the loop thread) ends there,
and the loop is not started at all.
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
import weakref
from collections.abc import Callable, Coroutine, Generator, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Final, TypeVar

__all__ = [
    "QueuedCall",
    "Turns",
    "alone_on_own_loop",
    "ensure_task",
    "own_loop_turns",
    "run_sync",
    "start_branches",
    "waiting_for_branches",
]

T = TypeVar("T")


class _Local(threading.local):
    gathering_pending = False  # a taskless first step waits for its branches (run_sync)
    runner: asyncio.Runner | None = None
    turns: Turns | None = None


_local = _Local()
# The Turns of each of run()'s loops, found from the running loop: what the hot path asks
# per handler call (own_loop_turns), and a threading.local attribute costs ~1.3k
# instructions a read (its per-thread dict, then a generic attribute lookup) where this
# costs a dict lookup. The per-thread counters (Turns.eager, Turns.handler_depth) live on
# the Turns for the same reason: a thread's loop has one.
_TURNS: dict[asyncio.AbstractEventLoop, Turns] = {}
# CPython 3.11: the WeakSet of every live task, one object for the process's life (None
# where asyncio keeps them otherwise; the callers then ask all_tasks)
_ALL_TASKS: Final[Any] = getattr(asyncio.tasks, "_all_tasks", None)
# Its set of weak references, read without WeakSet's Python-level __len__/__contains__:
# it holds at least the live tasks (a dead one's entry may wait while someone iterates),
# so "one entry, and it is ours" still proves that ours is the only task.
_TASK_REFS: Final[Any] = getattr(_ALL_TASKS, "data", None)
# CPython 3.11: the dict of each loop's running task, which asyncio.current_task (Python
# code there) reads; its get is a C call where current_task is a Python frame, and the
# tests for being alone on the loop ask it per handler call
_CURRENT_TASK: Final[Callable[[asyncio.AbstractEventLoop], asyncio.Task[Any] | None]] = (
    asyncio.tasks._current_tasks.get  # type: ignore[attr-defined]
    if isinstance(getattr(asyncio.tasks, "_current_tasks", None), dict)
    else asyncio.current_task
)
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
    A branch started by ``start_branches`` runs in its parent's task, with its
    siblings beside it: it is not alone.
    """
    turns = own_loop_turns()
    return turns is not None and turns.alone()


def _runner() -> asyncio.Runner:
    runner = _local.runner
    if runner is None:
        runner = asyncio.Runner()
        loop = runner.get_loop()
        loop.set_default_executor(_shared_pool())
        _local.runner = runner
        _local.turns = _TURNS[loop] = Turns(loop)
        with _pool_lock:
            _runners.append(runner)
    return runner


def run_sync(coroutine: Coroutine[Any, Any, T], taskless: bool = False) -> T:
    """Run ``coroutine`` to its end on this thread's loop (not from inside a running loop).

    A handler that ``alone_on_own_loop`` let run on the loop may call ``run()`` itself,
    as it could from the pool thread it would otherwise have run on: that execution
    then runs on a pool thread's loop, and this thread waits for it.

    ``taskless``: the caller knows that no code of its users' runs on the loop (plain
    handlers, no service integrations, the engine's own clocks): the coroutine's first
    step is taken without a task (``_first_step_taskless``).
    """
    turns = _local.turns  # (one threading.local read: is a handler running here? the loop)
    if turns is None:
        _runner()
        turns = _local.turns
        assert turns is not None
    elif turns.handler_depth:
        elsewhere: Future[T] = _shared_pool().submit(run_sync, coroutine)
        return elsewhere.result()
    loop = turns.loop
    task: asyncio.Task[T] | None = None
    if taskless:
        try:
            context = contextvars.copy_context()
            ended, value = _first_step_taskless(loop, context, coroutine)
            if ended:
                return value  # type: ignore[no-any-return]
            # it waits: a task goes on from where it stopped, in the same context
            task = loop.create_task(_continued(coroutine, value), context=context)
            if _local.gathering_pending:
                _local.gathering_pending = False
                _gathering.add(task)
            return loop.run_until_complete(task)
        finally:
            _cancel_leftovers(loop, task)
    try:
        # a task of its own copies the caller's context, so context variables set by
        # one execution do not leak into the next (Runner.run shares one context)
        task = loop.create_task(coroutine)
        if _first_step_now(loop, task):
            return task.result()
        return loop.run_until_complete(task)
    finally:
        _cancel_leftovers(loop, task)


def _first_step_taskless(
    loop: asyncio.AbstractEventLoop, context: contextvars.Context, coroutine: Coroutine[Any, Any, T]
) -> tuple[bool, Any]:
    """The coroutine's first step on ``loop`` in ``context``, without a task: (True, the
    value it returned) when it ended, else (False, what it waits on).

    A task costs ``run()`` more than a one-state execution's own work (the task, its
    handle in the ready queue, its entry in the weak set of all tasks, the loop pass
    that runs it); an execution whose handlers all run on the loop thread never waits
    and so never needs one. What reads the current task meanwhile finds none: the
    engine's tests for being alone on the loop count the tasks for that, code of its
    users' that needs a task (an ``async def`` handler, a plain one's awaitable) first
    waits a loop pass (``ensure_task``), and a Parallel that waits for its branches
    marks the task that continues it (``waiting_for_branches``).
    """
    asyncio._set_running_loop(loop)
    try:
        waits_on = context.run(coroutine.send, None)
    except StopIteration as stop:
        return True, stop.value
    finally:
        asyncio._set_running_loop(None)
    return False, waits_on


async def ensure_task() -> None:
    """Return inside a task: one loop pass first when the caller runs without one
    (``run_sync``'s taskless first step), so that code needing the current task
    (``asyncio.timeout``, sniffio's detection of asyncio) finds it."""
    if asyncio.current_task() is None:
        await asyncio.sleep(0)


def _first_step_now(loop: asyncio.AbstractEventLoop, task: asyncio.Task[Any]) -> bool:
    """Take ``task``'s first step here, as the loop would, and tell whether it ended.

    An execution whose handlers all run on the loop thread (``alone_on_own_loop``,
    ``Turns`` called by ``start_branches``) never waits: it ends in that step, and
    ``run_until_complete`` (starting the loop, two loop passes, each polling for I/O,
    and stopping it) would be all that is left of the call. The step runs from the
    handle the loop queued for it, so the task is the current one, in its own context,
    exactly as in a loop pass; a task that waits goes on in ``run_until_complete``.
    """
    ready: collections.deque[asyncio.Handle] | None = getattr(loop, "_ready", None)
    if not ready:
        return False
    while len(ready) > 1 and ready[0].cancelled():
        ready.popleft()  # a loop pass would skip it
    if len(ready) != 1:
        return False  # something else is queued: the loop keeps its order
    handle = ready[0]
    if getattr(handle._callback, "__self__", None) is not task:  # type: ignore[attr-defined]
        return False
    ready.popleft()
    asyncio._set_running_loop(loop)
    try:
        handle._run()
    finally:
        asyncio._set_running_loop(None)
    return bool(task.done())


def _cancel_leftovers(loop: asyncio.AbstractEventLoop, ended: asyncio.Task[Any] | None) -> None:
    refs = _TASK_REFS
    if refs is not None and not refs:
        return  # no task in the process (a taskless run_sync that ended): no scan
    if (
        refs is not None
        and ended is not None
        and len(refs) == 1
        and ended.done()
        and weakref.ref(ended) in refs
    ):
        return  # the call's own task, ended, is the only one in the process: no scan
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
        # run_sync's taskless first step: the task that continues it waits for them
        _local.gathering_pending = True
        try:
            yield
        finally:
            current = asyncio.current_task()
            if current is not None:
                _gathering.discard(current)
        return
    _gathering.add(task)
    try:
        yield
    finally:
        _gathering.discard(task)


# How long a handler runs on the loop thread before the handlers queued behind it move
# to the pool (so blocking branches still overlap, and one may wait for another).
HANDOFF_SECONDS: Final = 0.002
# How long the watchdog keeps looking after the last handler it watched.
_WATCH_AFTER_SECONDS: Final = 1.0
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

    __slots__ = (
        "_drain_handle",
        "_jobs",
        "_passes",
        "eager",
        "handler_depth",
        "loop",
        "running_since",
    )

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._jobs: collections.deque[QueuedCall] = collections.deque()
        self._drain_handle: asyncio.Handle | None = None  # the drain queued on the loop
        self._passes = 0  # loop passes the drain has waited for ready work
        # when the handler now running on the loop thread began (monotonic), or None
        self.running_since: float | None = None
        # branches started by start_branches running now (nested), and plain handlers
        # running on the loop thread (call_here, _drain): both on this loop's thread
        self.eager = 0
        self.handler_depth = 0

    def queue(self, function: Callable[..., Any], *args: Any) -> QueuedCall:
        """``function(*args)`` on the loop thread when it can be, else on a pool thread:
        the future of its result, which is the queued call itself (no coroutine, no
        second future: a Parallel's branch handlers on ``run()`` each take this path)."""
        job = QueuedCall(loop=self.loop)
        job.function = function
        job.args = args
        job.submitted = None
        self._jobs.append(job)
        if self._drain_handle is None and not self.eager:
            # (within start_branches, the outermost one queues the drain when it ends)
            self._drain_handle = self.loop.call_soon(self._drain)
        return job

    async def call(self, function: Callable[..., T], *args: Any) -> T:
        """``await queue(function, *args)``."""
        result: T = await self.queue(function, *args)
        return result

    def alone(self) -> bool:
        """``alone_on_own_loop``, for a caller that knows this is the running loop's."""
        if self.eager:
            return False
        refs = _TASK_REFS
        # (no current task: run_sync's taskless first step, then none may be on the loop)
        ours = 0 if _CURRENT_TASK(self.loop) is None else 1
        if refs is not None and len(refs) == ours:
            return True  # the running task is the only one in the process (or none is)
        return len(asyncio.all_tasks(self.loop)) == ours

    def call_here(self, function: Callable[..., T], *args: Any) -> T:
        """``function(*args)`` on the loop thread, seeing what it would see on a pool
        thread: no running loop, so that it may call ``asyncio.run`` or
        ``StateMachine.run`` itself (``run_sync`` then hands that to the pool)."""
        self.handler_depth += 1
        asyncio._set_running_loop(None)
        try:
            return function(*args)
        finally:
            asyncio._set_running_loop(self.loop)
            self.handler_depth -= 1

    def pending(self) -> bool:
        return bool(self._jobs)

    def _quiet(self, running: asyncio.Task[Any] | None = None) -> bool:
        """Nothing on the loop needs it while a handler runs on its thread (``running``:
        the task that asks, which is running the branches itself)."""
        loop = self.loop
        timers = getattr(loop, "_scheduled", None)
        if timers is None:
            return False
        for timer in timers:
            if not timer.cancelled():
                return False
        refs = _TASK_REFS
        if (
            refs is not None
            and len(refs) == (0 if running is None else 1)
            and (running is None or weakref.ref(running) in refs)
        ):
            return True  # the asking task is the only one in the process (or none is)
        for task in asyncio.all_tasks(loop):
            if (
                task is not running
                and task not in _gathering
                # (a task waits for a queued call until it resumes, even once it was made)
                and type(getattr(task, "_fut_waiter", None)) is not QueuedCall
            ):
                return False
        return True

    @staticmethod
    def all_queued(futures: list[Any]) -> bool:
        """Whether every one of ``futures`` is a handler call queued (on the running
        loop's Turns: the only one its branches reach) and not yet made."""
        return all(type(future) is QueuedCall and not future.done() for future in futures)

    def _drain(self) -> None:
        if not self._jobs:  # called already, by the branches' parent (start_branches)
            self._drain_handle = None
            self._passes = 0
            return
        ready = getattr(self.loop, "_ready", None)
        if ready and self._passes < _READY_PASSES:
            # what is ready first (branches reaching their handlers) runs first
            self._passes += 1
            self._drain_handle = self.loop.call_soon(self._drain)
            return
        self._drain_handle = None
        self._passes = 0
        self.call_queued()

    def ensure_drain(self) -> None:
        """Queue the drain for handlers queued without one (from within start_branches)."""
        if self._jobs and self._drain_handle is None:
            self._drain_handle = self.loop.call_soon(self._drain)

    def drop_drain(self) -> None:
        """The queue is empty (the branches' parent called it): the drain queued for it
        would find nothing to do, so it does not wait in the loop's ready queue (where it
        would cost ``run()`` a loop pass)."""
        handle = self._drain_handle
        if handle is not None and not self._jobs:
            handle.cancel()
            self._drain_handle = None
            self._passes = 0

    def call_queued(self, running: asyncio.Task[Any] | None = None) -> None:
        """Call the queued handlers on this thread while the loop stays quiet; hand the
        queue to the pool as soon as it is not."""
        jobs = self._jobs
        # as in call_here: the handlers see no running loop (nothing between them needs
        # one: the quiet test names the loop, a result's callbacks are queued by call_soon)
        self.handler_depth += 1
        asyncio._set_running_loop(None)
        try:
            while jobs:
                if not self._quiet(running):
                    self.hand_off()
                    return
                try:
                    job = jobs.popleft()
                except IndexError:  # the watchdog handed it off meanwhile
                    return
                if job.cancelled():
                    continue
                self.running_since = time.monotonic()
                if jobs:
                    _watchdog.watch(self)
                try:
                    result = job.function(*job.args)
                except (KeyboardInterrupt, SystemExit):
                    raise
                except BaseException as exc:
                    if not job.cancelled():
                        job.set_exception(exc)
                else:
                    if not job.cancelled():
                        job.set_result(result)
                finally:
                    self.running_since = None
        finally:
            asyncio._set_running_loop(self.loop)
            self.handler_depth -= 1

    def hand_off(self) -> None:
        """Send every queued handler to the pool (from the loop thread or the watchdog)."""
        pool = _shared_pool()
        while True:
            try:
                job = self._jobs.popleft()
            except IndexError:
                return
            job.submit(pool, self.loop)


class QueuedCall(asyncio.Future[Any]):
    """A handler call queued on a ``Turns`` and the future of its result, in one object.
    Cancelled (its awaiting task was) before its turn, ``call_queued`` skips it; once
    submitted to the pool, its submission is cancelled with it."""

    __slots__ = ("args", "function", "submitted")

    function: Callable[..., Any]
    args: tuple[Any, ...]
    submitted: Future[Any] | None

    def cancel(self, msg: Any = None) -> bool:
        submitted = self.submitted
        if submitted is not None:
            submitted.cancel()  # not started yet: never runs (as run_in_executor does)
        return super().cancel(msg)

    def submit(self, pool: ThreadPoolExecutor, loop: asyncio.AbstractEventLoop) -> None:
        submitted = pool.submit(self.function, *self.args)
        self.submitted = submitted

        def settle(done: Future[Any]) -> None:
            if self.cancelled():
                return
            if done.cancelled():
                self.cancel()
            elif (exc := done.exception()) is not None:
                self.set_exception(exc)
            else:
                self.set_result(done.result())

        def deliver(done: Future[Any]) -> None:
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits
                loop.call_soon_threadsafe(settle, done)

        submitted.add_done_callback(deliver)


class _Watchdog:
    """One thread that hands queued handlers off to the pool when the one running on a
    loop thread takes long. It looks every ``HANDOFF_SECONDS`` while handlers take turns
    and for a second after; then it sleeps until the next ``watch``, so that arming it
    costs a counter increment, not a thread wake-up, while turns come often."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._wake = threading.Event()
        # every Turns that ever asked (one per thread that calls run(), as the runners)
        self._watched: set[Turns] = set()
        self._watches = 0  # how many watch() calls: the watchdog sees whether any came
        self._thread: threading.Thread | None = None
        self._active = False  # looking now (no wake-up needed)

    def watch(self, turns: Turns) -> None:
        self._watches += 1
        if turns not in self._watched:
            self._watched.add(turns)
        if not self._active:
            with self._lock:
                self._active = True
                if self._thread is None:
                    self._thread = threading.Thread(
                        target=self._run, name="handler-watchdog", daemon=True
                    )
                    self._thread.start()
            self._wake.set()

    def _run(self) -> None:
        seen = self._watches
        last_seen = time.monotonic()
        while True:
            if time.monotonic() - last_seen > _WATCH_AFTER_SECONDS:
                self._active = False
                self._wake.clear()
                if self._watches == seen:  # a watch() that saw it active came before this
                    self._wake.wait()
                self._active = True
                last_seen = time.monotonic()
            time.sleep(HANDOFF_SECONDS)
            now = time.monotonic()
            if self._watches != seen:
                seen = self._watches
                last_seen = now
            for turns in list(self._watched):
                since = turns.running_since
                if since is not None and now - since >= HANDOFF_SECONDS and turns.pending():
                    last_seen = now
                    turns.hand_off()


_watchdog: Final = _Watchdog()


def _forget_watchdog_thread() -> None:
    # a forked child has none of its parent's threads: the next watch() starts one
    _watchdog.__init__()  # type: ignore[misc]


os.register_at_fork(after_in_child=_forget_watchdog_thread)


def own_loop_turns() -> Turns | None:
    """The ``Turns`` of the running loop when it is one of ``run()``'s, else None."""
    loop = asyncio._get_running_loop()
    return None if loop is None else _TURNS.get(loop)


# ----------------------------------------------------------- branches started without a task


def start_branches(
    coroutines: list[Coroutine[Any, Any, T]],
) -> tuple[list[T] | None, list[asyncio.Future[T]]]:
    """Run branches now, in the parent's task; tasks only for those that wait.

    Each branch runs up to where it first waits, one after another, as tasks would
    take their first steps. When every branch still running waits only for a plain
    handler queued on ``run()``'s loop (``Turns``) and the loop is otherwise quiet,
    the queued handlers are called here and the branches go on, round after round, as
    tasks would after their handlers returned. A branch made of states that never wait
    (inline or mocked handlers, Pass, Choice) or of such handlers costs no task, no
    loop pass and no ``asyncio.wait``. Each branch runs in a context of its own, as a
    task would, and the task that continues a branch that waits keeps it.

    Returns the results, in order, when every branch ended here without failing (and
    no future then); else None and a future per branch: ended, or the task going on.
    """
    count = len(coroutines)
    contexts = [contextvars.copy_context() for _ in range(count)]
    values: list[Any] = [_RUNNING] * count  # a branch's result, or its exception
    waits_on: list[Any] = [None] * count
    live = list(range(count))
    failed = False
    parent = _CURRENT_TASK(asyncio.get_running_loop())
    own = own_loop_turns()
    outer = 0
    if own is not None:
        outer = own.eager
        own.eager = outer + 1  # not alone on the loop: alone_on_own_loop
    # Only the outermost branches call queued handlers: a Parallel nested in a branch
    # that runs here has siblings of that branch still to start, which must be able to
    # run beside its handlers (a handler may wait for one of theirs).
    turns = own if not outer else None
    try:
        while True:
            ended = False
            for index in live:
                try:
                    waits_on[index] = contexts[index].run(coroutines[index].send, None)
                except StopIteration as stop:
                    values[index] = stop.value
                    ended = True
                except (KeyboardInterrupt, SystemExit):
                    raise
                except BaseException as exc:
                    values[index] = _Failed(exc)
                    ended = failed = True
            if ended:
                live = [index for index in live if values[index] is _RUNNING]
            if failed or not live or turns is None:
                break
            if not turns.all_queued([waits_on[index] for index in live]):
                break
            turns.call_queued(parent)
            turns.drop_drain()
            if not all(waits_on[index].done() for index in live):
                break  # handed to the pool: the rest waits as tasks
    finally:
        if own is not None:
            own.eager -= 1
        if turns is not None:
            # handlers queued in these branches (or in branches nested in them) that
            # were not called here: the drain calls them, as Turns.call would have queued it
            turns.ensure_drain()
    if not live and not failed:
        return values, []
    loop = asyncio.get_running_loop()
    outcomes: list[asyncio.Future[T]] = []
    for index, value in enumerate(values):
        if value is _RUNNING:
            outcome: asyncio.Future[T] = loop.create_task(
                _continued(coroutines[index], waits_on[index]), context=contexts[index]
            )
        else:
            outcome = loop.create_future()
            if type(value) is _Failed:
                outcome.set_exception(value.exception)
            else:
                outcome.set_result(value)
        outcomes.append(outcome)
    return None, outcomes


# a branch still running, in start_branches
_RUNNING: Final = object()


class _Failed:
    """A branch's exception, among the results of the others (start_branches)."""

    __slots__ = ("exception",)

    def __init__(self, exception: BaseException) -> None:
        self.exception = exception


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
