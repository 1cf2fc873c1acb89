"""Input no JSON reader should take gets a 400 naming the problem, never a 500."""

from __future__ import annotations

import json
from typing import Any

import pytest
import urllib3
from botocore.exceptions import ClientError

from tests.integration.local import test_sfn_api as base
from tests.integration.local.test_sfn_api import PASS, Runtime, create_machine

moto_endpoint = base.moto_endpoint
store_path = base.store_path
runtime = base.runtime
sfn = base.sfn


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('{"total": NaN}', "NaN is not a JSON value"),
        ('{"total": Infinity}', "Infinity is not a JSON value"),
        ('{"id": ' + "7" * 4400 + "}", "a number is too long"),
        ("[" * 1000 + "]" * 1000, "nested too deeply"),
    ],
)
def test_input_that_is_not_json_is_invalid_execution_input(
    sfn: Any, text: str, problem: str
) -> None:
    machine = create_machine(sfn, PASS)
    with pytest.raises(ClientError) as info:
        sfn.start_execution(stateMachineArn=machine, input=text)
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert info.value.response["Error"]["Code"] == "InvalidExecutionInput"
    assert problem in info.value.response["Error"]["Message"]
    assert sfn.list_executions(stateMachineArn=machine)["executions"] == []


def test_a_body_python_cannot_read_is_a_serialization_exception(runtime: Runtime) -> None:
    body = '{"maxResults": ' + "1" * 5000 + "}"
    answer = urllib3.request(
        "POST",
        runtime.endpoint,
        body=body.encode(),
        headers={
            "X-Amz-Target": "AWSStepFunctions.ListStateMachines",
            "Content-Type": "application/x-amz-json-1.0",
        },
    )
    assert answer.status == 400
    error = json.loads(answer.data)
    assert error["__type"] == "SerializationException"
    assert "too long" in error["message"]
