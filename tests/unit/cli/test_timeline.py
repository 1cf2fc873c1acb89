"""The timeline shows a Lambda function error as a person reads it."""

from __future__ import annotations

import json
from typing import Any

from workflows.engine import StateMachine, VirtualClock
from workflows.timeline import readable_cause, render_timeline


class PaymentDeclined(Exception):
    pass


def charge(event: Any, context: Any) -> Any:
    raise PaymentDeclined("card declined")


def test_a_lambda_invoke_failure_shows_the_message_and_where_it_was_raised() -> None:
    sm = StateMachine(
        {
            "StartAt": "Charge",
            "States": {
                "Charge": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::lambda:invoke",
                    "Parameters": {"FunctionName": "Charge", "Payload.$": "$"},
                    "End": True,
                }
            },
        }
    )
    result = sm.run({}, lambdas={"Charge": charge}, clock=VirtualClock(0), handler_mode="inline")
    assert json.loads(result.cause)["errorMessage"] == "card declined"
    last = render_timeline(result.history).splitlines()[-1]
    raised_at = charge.__code__.co_firstlineno + 1
    assert last.endswith(
        f"FAILED  PaymentDeclined: card declined (at test_timeline.py:{raised_at} in charge)"
    )


def test_other_causes_are_shown_as_they_are() -> None:
    assert readable_cause("Function not found: arn:...") == "Function not found: arn:..."
    assert readable_cause(None) is None
    assert readable_cause('{"errorMessage": "no trace", "errorType": "E"}') == "no trace"
    assert readable_cause('{"errorMessage": broken') == '{"errorMessage": broken'
