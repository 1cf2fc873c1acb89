"""The local runtime's own clocks and pollers: SQS event sources and schedules.

Under ``workflows up`` messages can reach a queue from anywhere (a handler, the AWS
CLI, another service), so each SQS event source of the template is polled, as the
Lambda service polls queues. Each schedule of the template starts its state machine
when its expression says, with the event EventBridge Scheduler would send.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from workflows.local.app import LocalApp
from workflows.local.schedules import next_fire
from workflows.local.template import ACCOUNT, REGION, FunctionSpec, Schedule, StateMachineSpec

__all__ = ["poll_queues", "run_schedules", "scheduler_event"]

log = logging.getLogger("workflows.local")

StartExecution = Callable[[StateMachineSpec, Any, str], Awaitable[Any]]


async def poll_queues(app: LocalApp, *, wait_seconds: int = 20) -> None:
    """Deliver every queue's messages to its consumer functions until cancelled.

    Each event source long-polls its queue (``WaitTimeSeconds``, as Lambda's poller
    does) on a thread of its own, so an idle runtime waits instead of asking twice
    a second, and a poll never takes a thread the executions need.
    """
    sources = [
        (function, source)
        for function in app.template.functions.values()
        for source in function.sqs_sources
    ]
    if not sources:
        return
    sqs = app.sqs()
    receivers = ThreadPoolExecutor(max_workers=len(sources), thread_name_prefix="sqs-poller")
    try:
        urls = {
            source.queue: (await asyncio.to_thread(sqs.get_queue_url, QueueName=source.queue))[
                "QueueUrl"
            ]
            for _, source in sources
        }
        await asyncio.gather(
            *(
                _poll(app, function, urls[source.queue], source.batch_size, wait_seconds, receivers)
                for function, source in sources
            )
        )
    finally:
        receivers.shutdown(wait=False, cancel_futures=True)


async def _poll(
    app: LocalApp,
    function: FunctionSpec,
    queue_url: str,
    batch_size: int,
    wait_seconds: int,
    receivers: ThreadPoolExecutor,
) -> None:
    while True:
        try:
            await app.deliver(
                function, queue_url, batch_size, wait_seconds=wait_seconds, receiver=receivers
            )
        except Exception:  # one failing consumer must not stop the others
            log.exception("delivering %s to %s failed", queue_url, function.logical_id)
            await asyncio.sleep(1.0)  # e.g. the services are restarting: do not spin


def scheduler_event(spec: StateMachineSpec, schedule: Schedule, moment: datetime) -> dict[str, Any]:
    """What EventBridge Scheduler passes as input when no Input is configured."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.scheduler",
        "account": ACCOUNT,
        "time": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": REGION,
        "resources": [f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule/default/{schedule.name}"],
        "detail": {},
    }


async def run_schedules(
    app: LocalApp, start: StartExecution, *, now: Callable[[], datetime] | None = None
) -> None:
    """Start each scheduled state machine whenever its schedule fires, until cancelled."""
    clock = now or (lambda: datetime.fromtimestamp(app.clock.now(), UTC))
    plans = [
        (spec, schedule)
        for spec in app.template.state_machines.values()
        for schedule in spec.schedules
    ]
    await asyncio.gather(*(_one_schedule(spec, s, start, clock, app) for spec, s in plans))


async def _one_schedule(
    spec: StateMachineSpec,
    schedule: Schedule,
    start: StartExecution,
    now: Callable[[], datetime],
    app: LocalApp,
) -> None:
    while True:
        moment = next_fire(schedule.expression, now(), schedule.timezone)
        if moment is None:
            return
        await app.clock.sleep(max(0.0, (moment - now()).total_seconds()))
        log.info("schedule %s starts %s", schedule.name, spec.logical_id)
        await start(spec, scheduler_event(spec, schedule, moment), f"schedule {schedule.name}")
