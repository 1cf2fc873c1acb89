"""The template's functions run as Lambda runs them: each one invocation at a time,
different functions at the same time."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.unit.local import sandbox_handlers
from workflows.engine.clock import RealClock
from workflows.engine.errors import StatesError
from workflows.local.app import LocalApp
from workflows.local.template import load_template

TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Resources:
  Waiter:
    Type: AWS::Serverless::Function
    Properties:
      Handler: tests.unit.local.sandbox_handlers.waits_for_the_other
  Meeter:
    Type: AWS::Serverless::Function
    Properties:
      Handler: tests.unit.local.sandbox_handlers.meets
  Counted:
    Type: AWS::Serverless::Function
    Properties:
      Handler: tests.unit.local.sandbox_handlers.counted
  Brief:
    Type: AWS::Serverless::Function
    Properties:
      Handler: tests.unit.local.sandbox_handlers.remaining
      Timeout: 30
  Unset:
    Type: AWS::Serverless::Function
    Properties:
      Handler: tests.unit.local.sandbox_handlers.remaining
"""


@pytest.fixture
def app(tmp_path: Path) -> LocalApp:
    path = tmp_path / "template.yaml"
    path.write_text(TEMPLATE)
    sandbox_handlers.reset()
    return LocalApp(load_template(path), clock=RealClock())


async def test_different_functions_run_at_the_same_time(app: LocalApp) -> None:
    clock = app.clock
    waiting = asyncio.ensure_future(app.lambdas.invoke("Waiter", {}, clock))
    await asyncio.sleep(0)  # the waiter is in its sandbox first
    meeting = app.lambdas.invoke("Meeter", {}, clock)
    assert await asyncio.gather(waiting, meeting) == ["met", "meets"]


async def test_one_function_handles_one_invocation_at_a_time(app: LocalApp) -> None:
    results = await asyncio.gather(
        *(app.lambdas.invoke("Counted", {"n": n}, app.clock) for n in range(8))
    )
    assert sorted(results) == list(range(8))
    assert sandbox_handlers.most == 1


async def test_a_handler_error_is_reported_from_the_handler_down(app: LocalApp) -> None:
    with pytest.raises(StatesError) as caught:
        await app.lambdas.invoke("Counted", {}, app.clock)  # no "n"
    assert caught.value.error == "KeyError"
    assert "sandbox_handlers.py" in str(caught.value.cause)
    assert "workflows/local/app.py" not in str(caught.value.cause)


async def test_a_handler_counts_down_from_its_function_s_timeout(app: LocalApp) -> None:
    # Powertools Idempotency keeps a crashed invocation's record IN_PROGRESS for the
    # remaining time, so it must be the template's Timeout, as on Lambda
    assert 29_000 < await app.lambdas.invoke("Brief", {}, app.clock) <= 30_000
    assert 2_000 < await app.lambdas.invoke("Unset", {}, app.clock) <= 3_000  # SAM's default
    # and through the Invoke API, which Task states on lambda:invoke use
    invocation = await app.lambdas.call("Brief", {}, app.clock)
    assert 29_000 < invocation.payload <= 30_000
