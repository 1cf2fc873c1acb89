"""Schedules fire on the application's clock, as EventBridge Scheduler would."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from workflows.engine import VirtualClock
from workflows.local.app import LocalApp
from workflows.local.background import run_schedules
from workflows.local.template import StateMachineSpec, load_template

REPO = Path(__file__).resolve().parents[3]


async def test_nightly_sweep_fires_every_night_at_three() -> None:
    clock = VirtualClock(datetime(2026, 11, 25, 12, 0, tzinfo=UTC), auto_advance=False)
    app = LocalApp(load_template(REPO / "infra" / "sam" / "template.yaml"), clock=clock)
    started: list[tuple[str, Any, str]] = []

    async def start(spec: StateMachineSpec, event: Any, by: str) -> None:
        started.append((spec.logical_id, event, by))

    task = asyncio.ensure_future(run_schedules(app, start))
    await asyncio.sleep(0)
    await clock.advance(2 * 86400)  # two days: two nights
    task.cancel()
    assert [s[0] for s in started] == ["StuckOrderSweepStateMachine"] * 2
    times = [s[1]["time"] for s in started]
    assert times == ["2026-11-26T03:00:00Z", "2026-11-27T03:00:00Z"]
    assert started[0][1]["source"] == "aws.scheduler"
    assert started[0][2] == "schedule Nightly"
