"""``StateMachine.run`` keeps one loop per thread, yet each call starts clean."""

from __future__ import annotations

import contextvars
from typing import Any

from workflows.engine import StateMachine

SEEN: contextvars.ContextVar[str] = contextvars.ContextVar("seen", default="unset")

ONE_TASK = {
    "StartAt": "Look",
    "States": {
        "Look": {
            "Type": "Task",
            "Resource": "arn:aws:lambda:us-east-1:123456789012:function:look",
            "End": True,
        }
    },
}


async def look(event: Any, context: Any) -> str:
    before = SEEN.get()
    SEEN.set("set by an earlier run")
    return before


def test_context_variables_set_by_one_run_do_not_reach_the_next() -> None:
    machine = StateMachine(ONE_TASK)
    first = machine.run({}, lambdas={"look": look})
    second = machine.run({}, lambdas={"look": look})
    assert (first.output, second.output) == ("unset", "unset")
