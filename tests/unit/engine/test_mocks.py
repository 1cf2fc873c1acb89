"""Mocked Task responses (AWS Step Functions Local's mock config format)."""

from __future__ import annotations

from typing import Any

import pytest

from workflows.engine import StateMachine, VirtualClock
from workflows.engine.mocks import MockConfigError, MockPlan, Return, Throw

CHARGE = "arn:aws:lambda:us-east-1:123456789012:function:Charge"

DEFINITION: dict[str, Any] = {
    "StartAt": "Charge",
    "States": {
        "Charge": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": CHARGE, "Payload.$": "$"},
            "ResultSelector": {"chargeId.$": "$.Payload.chargeId"},
            "Retry": [{"ErrorEquals": ["ProviderDown"], "IntervalSeconds": 5, "MaxAttempts": 3}],
            "Catch": [{"ErrorEquals": ["Declined"], "Next": "Rejected"}],
            "Next": "Notify",
        },
        "Notify": {
            "Type": "Task",
            "Resource": "arn:aws:states:::sqs:sendMessage",
            "Parameters": {"QueueUrl": "https://sqs/q", "MessageBody.$": "$"},
            "ResultPath": None,
            "End": True,
        },
        "Rejected": {"Type": "Fail", "Error": "Declined"},
    },
}

OK_CHARGE = Return({"StatusCode": 200, "Payload": {"chargeId": "ch_1"}})
SENT = Return({"MessageId": "m-1"})


def run(mocks: Any) -> Any:
    return StateMachine(DEFINITION).run({"orderId": "o-1"}, clock=VirtualClock(), mocks=mocks)


def test_mocked_states_answer_without_calling_any_resource() -> None:
    result = run({"Charge": OK_CHARGE, "Notify": SENT})
    assert result.status == "SUCCEEDED"
    assert result.output == {"chargeId": "ch_1"}
    types = [e["type"] for e in result.history]
    assert types.count("TaskSucceeded") == 2  # history looks as if the resources answered


def test_answers_are_given_in_turn_and_retries_consume_them() -> None:
    flaky = [Throw("ProviderDown", "timeout"), Throw("ProviderDown", "timeout"), OK_CHARGE]
    result = run({"Charge": flaky, "Notify": SENT})
    assert result.status == "SUCCEEDED"
    failed = [e for e in result.history if e["type"] == "TaskFailed"]
    assert [e["taskFailedEventDetails"]["error"] for e in failed] == ["ProviderDown"] * 2


def test_a_thrown_error_is_caught_like_a_real_one() -> None:
    result = run({"Charge": Throw("Declined", "card declined"), "Notify": SENT})
    assert result.status == "FAILED"
    assert result.error == "Declined"


def test_an_unmocked_state_still_uses_its_resource() -> None:
    result = run({"Charge": OK_CHARGE})  # Notify has no integration registered here
    assert result.status == "FAILED"
    assert "has no local integration" in (result.cause or "")


AWS_CONFIG: dict[str, Any] = {
    "StateMachines": {
        "Orders": {
            "TestCases": {
                "HappyPath": {"Charge": "ChargeOk", "Notify": "Sent"},
                "RetryPath": {"Charge": "ChargeFlaky", "Notify": "Sent"},
            }
        }
    },
    "MockedResponses": {
        "ChargeOk": {"0": {"Return": {"StatusCode": 200, "Payload": {"chargeId": "ch_9"}}}},
        "ChargeFlaky": {
            "0-1": {"Throw": {"Error": "ProviderDown", "Cause": "timeout"}},
            "2": {"Return": {"StatusCode": 200, "Payload": {"chargeId": "ch_2"}}},
        },
        "Sent": {"0": {"Return": {"MessageId": "m"}}},
    },
}


@pytest.mark.parametrize(("case", "charge"), [("HappyPath", "ch_9"), ("RetryPath", "ch_2")])
def test_aws_mock_config_test_cases(case: str, charge: str) -> None:
    result = run(MockPlan.from_config(AWS_CONFIG, "Orders", case))
    assert result.status == "SUCCEEDED"
    assert result.output == {"chargeId": charge}


def test_the_last_response_repeats() -> None:
    plan = MockPlan.from_config(AWS_CONFIG, "Orders", "RetryPath")
    session = plan.session()
    answers = [session.next("Charge") for _ in range(5)]
    assert answers[2:] == [Return({"StatusCode": 200, "Payload": {"chargeId": "ch_2"}})] * 3
    assert session.next("Unmocked") is None


def test_mock_config_from_a_file(tmp_path: Any) -> None:
    import json

    path = tmp_path / "MockConfigFile.json"
    path.write_text(json.dumps(AWS_CONFIG))
    assert MockPlan.from_config(path, "Orders", "HappyPath").states.keys() == {"Charge", "Notify"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda c: c["StateMachines"].pop("Orders"), "StateMachines: no 'Orders'"),
        (
            lambda c: c["StateMachines"]["Orders"]["TestCases"].pop("HappyPath"),
            "TestCases: no 'HappyPath'",
        ),
        (lambda c: c["MockedResponses"].pop("Sent"), "HappyPath/Notify: no MockedResponses"),
        (
            lambda c: c["MockedResponses"]["ChargeOk"].update({"2": {"Return": 1}}),
            "invocations \\[1\\] have no response",
        ),
        (
            lambda c: c["MockedResponses"]["ChargeOk"].update({"0": {"Raise": {}}}),
            "unknown response kind 'Raise'",
        ),
        (
            lambda c: c["MockedResponses"]["ChargeOk"].update({"0": {"Throw": {"Cause": "x"}}}),
            "'Error' \\(a string\\) is required",
        ),
        (
            lambda c: c["MockedResponses"]["ChargeOk"].update({"x": {"Return": 1}}),
            "MockedResponses/ChargeOk/x",
        ),
    ],
)
def test_bad_mock_config_says_where(change: Any, message: str) -> None:
    import copy

    config = copy.deepcopy(AWS_CONFIG)
    change(config)
    with pytest.raises(MockConfigError, match=message):
        MockPlan.from_config(config, "Orders", "HappyPath")


def test_bad_python_mock_names_the_state() -> None:
    with pytest.raises(MockConfigError, match="'Charge'"):
        run({"Charge": {"StatusCode": 200}})
