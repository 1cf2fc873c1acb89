"""VirtualClock: idle time is skipped, time under work flows at real speed."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from workflows.engine import Clock, RealClock, StateMachine, TaskRequest, VirtualClock
from workflows.engine.clock import held_still


def test_both_clocks_satisfy_the_clock_protocol() -> None:
    assert isinstance(VirtualClock(), Clock)
    assert isinstance(RealClock(), Clock)


def test_virtual_clock_starts_where_it_is_told() -> None:
    assert VirtualClock(1000.0).now() == 1000.0
    start = datetime(2024, 5, 1, 12, tzinfo=UTC)
    assert VirtualClock(start).now() == start.timestamp()
    # a naive datetime is read as UTC
    assert VirtualClock(datetime(2024, 5, 1, 12)).now() == start.timestamp()


async def test_concurrent_sleeps_wake_in_deadline_order_at_their_deadlines() -> None:
    clock = VirtualClock(0)
    woke: list[tuple[str, float]] = []

    async def sleeper(name: str, seconds: float) -> None:
        await clock.sleep(seconds)
        woke.append((name, clock.now()))

    await asyncio.gather(
        sleeper("c", 30), sleeper("a", 10), sleeper("b", 20), sleeper("a2", 10), sleeper("z", 0)
    )
    assert woke == [("z", 0), ("a", 10), ("a2", 10), ("b", 20), ("c", 30)]
    assert clock.now() == 30


async def test_sleeps_chained_after_waking_accumulate() -> None:
    clock = VirtualClock(0)

    async def chain() -> list[float]:
        seen = []
        for seconds in (5, 5, 90):
            await clock.sleep(seconds)
            seen.append(clock.now())
        return seen

    first, second = await asyncio.gather(chain(), chain())
    assert first == second == [5, 10, 100]


async def test_a_long_sleep_is_instant_in_real_time() -> None:
    clock = VirtualClock(0)
    loop = asyncio.get_running_loop()
    began = loop.time()
    await clock.sleep(10 * 365 * 86_400)
    assert clock.now() == 10 * 365 * 86_400
    assert loop.time() - began < 30


async def test_time_does_not_jump_while_other_coroutines_can_run() -> None:
    clock = VirtualClock(0)
    steps: list[float] = []

    async def busy_coroutine() -> None:
        for _ in range(50):
            steps.append(clock.now())
            await asyncio.sleep(0)

    await asyncio.gather(clock.sleep(100), busy_coroutine())
    assert steps == [0] * 50
    assert clock.now() == 100


async def test_a_cancelled_sleep_does_not_move_time() -> None:
    clock = VirtualClock(0)
    long = asyncio.ensure_future(clock.sleep(1000))
    await asyncio.sleep(0)
    long.cancel()
    await asyncio.gather(long, return_exceptions=True)
    await clock.sleep(5)
    assert clock.now() == 5


async def test_manual_mode_moves_only_with_advance() -> None:
    clock = VirtualClock(0, auto_advance=False)
    woke: list[float] = []

    async def sleeper(seconds: float) -> None:
        await clock.sleep(seconds)
        woke.append(clock.now())

    tasks = [asyncio.ensure_future(sleeper(s)) for s in (5, 15)]
    for _ in range(20):
        await asyncio.sleep(0)
    assert clock.now() == 0
    assert woke == []

    await clock.advance(3)
    assert clock.now() == 3
    assert woke == []

    await clock.advance(2)
    assert woke == [5]
    assert clock.now() == 5

    await clock.advance(100)
    assert woke == [5, 15]
    assert clock.now() == 105
    await asyncio.gather(*tasks)


async def test_advance_fires_timers_created_on_the_way() -> None:
    clock = VirtualClock(0, auto_advance=False)
    woke: list[float] = []

    async def two_sleeps() -> None:
        await clock.sleep(5)
        woke.append(clock.now())
        await clock.sleep(3)
        woke.append(clock.now())

    task = asyncio.ensure_future(two_sleeps())
    await asyncio.sleep(0)
    await clock.advance(10)
    assert woke == [5, 8]
    assert clock.now() == 10
    await task


async def test_time_flows_at_real_speed_while_work_runs_and_skips_once_it_ends() -> None:
    clock = VirtualClock(0)
    release = threading.Event()
    seen_in_thread: list[float] = []

    def work() -> None:
        release.wait(30)
        seen_in_thread.append(clock.now())

    sleeper = asyncio.ensure_future(clock.sleep(1000))
    await asyncio.sleep(0)  # the sleep starts (its deadline is 1000) before the work does
    loop = asyncio.get_running_loop()
    with clock.busy():
        in_thread = loop.run_in_executor(None, work)
        for _ in range(200):  # every chance for the clock to (wrongly) skip to the timer
            await asyncio.sleep(0)
        assert not sleeper.done(), "idle time is skipped, time under work is not"
        release.set()
        await in_thread
    assert 0 < seen_in_thread[0] < 1000, "the thread saw time that had flowed, not a jump"
    await sleeper
    assert clock.now() == 1000, "once the work ended, the rest of the wait was skipped"


async def test_a_timer_falls_due_while_work_still_blocks() -> None:
    # what lets TimeoutSeconds stop a handler that blocks: the timer fires in real time
    clock = VirtualClock(0)
    release = threading.Event()
    loop = asyncio.get_running_loop()
    with clock.busy():
        in_thread = loop.run_in_executor(None, release.wait, 30)
        await asyncio.wait_for(clock.sleep(0.05), timeout=20)
        assert not release.is_set(), "the timer fired while the work was still running"
        assert clock.now() >= 0.05
        release.set()
        await in_thread


async def test_an_earlier_timer_added_during_work_is_not_held_up_by_a_later_one() -> None:
    clock = VirtualClock(0)
    release = threading.Event()
    loop = asyncio.get_running_loop()
    late = asyncio.ensure_future(clock.sleep(3600))
    await asyncio.sleep(0)
    with clock.busy():
        in_thread = loop.run_in_executor(None, release.wait, 30)
        await asyncio.sleep(0)  # the driver now waits (in real time) for the 3600 s timer
        await asyncio.wait_for(clock.sleep(0.05), timeout=20)
        assert not late.done()
        release.set()
        await in_thread
    await late
    assert clock.now() == 3600


async def test_nested_busy_sections_let_time_flow_until_the_last_ends() -> None:
    clock = VirtualClock(0)
    sleeper = asyncio.ensure_future(clock.sleep(1000))
    await asyncio.sleep(0)
    with clock.busy():
        with clock.busy():
            await asyncio.sleep(0)
        for _ in range(50):
            await asyncio.sleep(0)
        assert not sleeper.done()
        assert clock.now() > 0, "time flows while the outer section still runs"
    held = clock.now()
    assert clock.now() == held, "outside work, time stands until it is skipped"
    await sleeper
    assert clock.now() == 1000


async def test_hold_keeps_time_still_without_skipping_while_a_chore_runs() -> None:
    # the local runtime's own bookkeeping (storing history) takes no time on the timeline
    clock = VirtualClock(0)
    release = threading.Event()
    sleeper = asyncio.ensure_future(clock.sleep(60))
    await asyncio.sleep(0)
    loop = asyncio.get_running_loop()
    with clock.hold():
        chore = loop.run_in_executor(None, release.wait, 30)
        for _ in range(200):
            await asyncio.sleep(0)
        assert not sleeper.done(), "no skip while the chore runs"
        assert clock.now() == 0, "and no time flows either"
        release.set()
        await chore
    await sleeper
    assert clock.now() == 60


def test_held_still_holds_a_virtual_clock_and_is_busy_on_others() -> None:
    virtual, real = VirtualClock(0), RealClock()
    with held_still(virtual):
        assert virtual.now() == 0
    with held_still(real):
        pass


async def test_real_time_passes_moves_with_the_wall_clock_even_when_idle() -> None:
    clock = VirtualClock(0, real_time_passes=True)
    first = clock.now()
    threading.Event().wait(0.01)
    assert clock.now() > first
    with clock.busy():
        pass
    await clock.sleep(3600)  # waits are still skipped
    assert clock.now() >= 3600


async def test_real_clock_sleeps_for_real_and_reports_wall_time() -> None:
    clock = RealClock()
    before = clock.now()
    await clock.sleep(0)
    await clock.sleep(-1)  # a negative wait is no wait
    assert clock.now() >= before
    with clock.busy():
        pass


@pytest.mark.parametrize("seconds", [0, -5])
async def test_a_non_positive_sleep_returns_at_once(seconds: float) -> None:
    clock = VirtualClock(7)
    await clock.sleep(seconds)
    assert clock.now() == 7


# ------------------------------------------- a handler that blocks, on either clock
#
# AWS stops a Task whose handler outlives TimeoutSeconds, and a branch that misses its
# heartbeat, while the handler still runs. On a VirtualClock that holds only idle time
# still, so both fire after their seconds of real time, as on the RealClock.

START = datetime(2024, 1, 1, tzinfo=UTC)


@pytest.fixture(params=["virtual", "real"])
def clock(request: pytest.FixtureRequest) -> Clock:
    return VirtualClock(START) if request.param == "virtual" else RealClock()


class BlockingHandler:
    """A plain handler that works (blocks its thread) until released, for up to 30 s."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.finished = threading.Event()

    def __call__(self, event: Any, context: Any) -> Any:
        self.release.wait(30)
        self.finished.set()
        return {"done": True}


@pytest.fixture
async def blocking() -> AsyncIterator[BlockingHandler]:
    # async, so it is torn down before the test's event loop, whose closing waits for
    # the handler's thread: released first, that thread ends at once (not after 30 s)
    handler = BlockingHandler()
    yield handler
    handler.release.set()  # let the thread end whatever the test saw


def seconds_between(result: Any, first: str, last: str) -> float:
    stamps = {event["type"]: event["timestamp"] for event in result.history}
    return float((stamps[last] - stamps[first]).total_seconds())


@pytest.mark.parametrize(
    ("resource", "started", "timed_out"),
    [
        ("arn:aws:states:::lambda:invoke", "TaskStarted", "TaskTimedOut"),
        (
            "arn:aws:lambda:us-east-1:123456789012:function:Slow",
            "LambdaFunctionStarted",
            "LambdaFunctionTimedOut",
        ),
    ],
)
async def test_timeout_seconds_stops_a_handler_that_blocks(
    clock: Clock, blocking: BlockingHandler, resource: str, started: str, timed_out: str
) -> None:
    state: dict[str, Any] = {"Type": "Task", "Resource": resource, "TimeoutSeconds": 1}
    if resource.endswith(":invoke"):
        state["Parameters"] = {"FunctionName": "Slow"}
    machine = StateMachine({"StartAt": "T", "States": {"T": {**state, "End": True}}})

    result = await machine.execute({}, lambdas={"Slow": blocking}, clock=clock)

    assert result.status == "FAILED"
    assert result.error == "States.Timeout"
    assert not blocking.finished.is_set(), "the timeout fired while the handler still worked"
    assert timed_out in [event["type"] for event in result.history]
    assert seconds_between(result, started, timed_out) >= 1


async def test_heartbeat_seconds_fires_while_a_handler_in_another_branch_blocks(
    clock: Clock, blocking: BlockingHandler
) -> None:
    async def send_message(request: TaskRequest) -> Any:
        return {"MessageId": "m-1"}  # the token goes out; nobody ever heartbeats it

    machine = StateMachine(
        {
            "StartAt": "Both",
            "States": {
                "Both": {
                    "Type": "Parallel",
                    "End": True,
                    "Branches": [
                        {
                            "StartAt": "Work",
                            "States": {
                                "Work": {
                                    "Type": "Task",
                                    "Resource": "arn:aws:states:::lambda:invoke",
                                    "Parameters": {"FunctionName": "Slow"},
                                    "End": True,
                                }
                            },
                        },
                        {
                            "StartAt": "Approve",
                            "States": {
                                "Approve": {
                                    "Type": "Task",
                                    "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                                    "Parameters": {
                                        "QueueUrl": "q",
                                        "MessageBody.$": "$$.Task.Token",
                                    },
                                    "HeartbeatSeconds": 1,
                                    "End": True,
                                }
                            },
                        },
                    ],
                }
            },
        }
    )

    result = await machine.execute(
        {},
        lambdas={"Slow": blocking},
        integrations={"sqs:sendMessage": send_message},
        clock=clock,
    )

    assert result.status == "FAILED"
    assert result.error == "States.Timeout"  # what AWS reports for a missed heartbeat
    assert "TaskTimedOut" in [event["type"] for event in result.history]
    assert not blocking.finished.is_set(), "the heartbeat was missed while the handler worked"


async def test_a_handler_sees_its_remaining_time_run_down_while_it_works() -> None:
    # context.get_remaining_time_in_millis() counts down in real time, as on Lambda,
    # also on the virtual clock (which used to stand still under a handler)
    seen: list[int] = []

    def handler(event: Any, context: Any) -> Any:
        seen.append(context.get_remaining_time_in_millis())
        threading.Event().wait(0.05)
        seen.append(context.get_remaining_time_in_millis())
        return None

    machine = StateMachine(
        {
            "StartAt": "T",
            "States": {
                "T": {
                    "Type": "Task",
                    "Resource": "arn:aws:lambda:us-east-1:123456789012:function:F",
                    "End": True,
                }
            },
        }
    )
    result = await machine.execute({}, lambdas={"F": handler}, clock=VirtualClock(START))
    assert result.status == "SUCCEEDED"
    assert seen[1] < seen[0]
