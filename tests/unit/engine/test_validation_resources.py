"""Task ``Resource`` ARNs: accepted and refused as AWS CreateStateMachine does.

Each refusal names the AWS behaviour it follows:
- "Integrating services with Step Functions" (docs.aws.amazon.com/step-functions/latest/
  dg/integrate-services.html) lists the optimized integrations and, per API, the
  patterns each supports; DynamoDB's optimized integration has GetItem, PutItem,
  UpdateItem and DeleteItem only ("Call DynamoDB with Step Functions"). AWS answers
  anything else with "The resource provided ... is not recognized. The value is not a
  valid resource ARN, or the resource is not available in this region."
- "Choosing workflow type in Step Functions": Express workflows do not support
  activities, the Run a Job (.sync) or the Wait for Callback (.waitForTaskToken)
  patterns; AWS's texts are "Express state machine does not support Activity ARN",
  "Express state machine does not support '.sync' service integration" and, with a
  trailing space, "... '.waitForTaskToken' service integration " (recorded against AWS
  in LocalStack's Express snapshot tests).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from workflows.engine import DefinitionError, StateMachine
from workflows.engine.validation import validate_definition
from workflows.local.app import LocalApp
from workflows.local.executions import ExecutionService, ServiceError
from workflows.local.store import ExecutionStore
from workflows.local.template import load_template

REPO = Path(__file__).resolve().parents[3]
ROLE = "arn:aws:iam::123456789012:role/StepFunctionsExecutionRole"
NOT_RECOGNIZED = (
    "The resource provided {} is not recognized. The value is not a valid resource ARN, "
    "or the resource is not available in this region."
)


def task_machine(resource: str) -> dict[str, Any]:
    return {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": resource, "End": True}}}


def refusals(resource: str, machine_type: Any = "STANDARD") -> list[tuple[str, str, str]]:
    return [
        (d.code, d.message, d.location)
        for d in validate_definition(task_machine(resource), machine_type=machine_type)
        if d.severity == "ERROR"
    ]


ACCEPTED = [
    "arn:aws:lambda:us-east-1:123456789012:function:Charge",
    "arn:aws:lambda:us-east-1:123456789012:function:Charge:$LATEST",
    "arn:aws:lambda:eu-west-1:123456789012:function:Charge:live",
    "arn:aws-cn:lambda:cn-north-1:123456789012:function:Charge",
    "arn:aws-us-gov:lambda:us-gov-west-1:123456789012:function:Charge",
    "arn:aws:states:us-east-1:123456789012:activity:Approve",
    "arn:aws:states:::lambda:invoke",
    "arn:aws:states:::lambda:invoke.waitForTaskToken",
    "arn:aws:states:::dynamodb:getItem",
    "arn:aws:states:::dynamodb:putItem",
    "arn:aws:states:::dynamodb:updateItem",
    "arn:aws:states:::dynamodb:deleteItem",
    "arn:aws:states:::sqs:sendMessage",
    "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
    "arn:aws:states:::sns:publish",
    "arn:aws:states:::events:putEvents.waitForTaskToken",
    "arn:aws:states:::states:startExecution",
    "arn:aws:states:::states:startExecution.sync",
    "arn:aws:states:::states:startExecution.sync:2",
    "arn:aws:states:::batch:submitJob.sync",
    "arn:aws:states:::ecs:runTask.sync",
    "arn:aws:states:::glue:startJobRun.sync",
    "arn:aws:states:::athena:startQueryExecution.sync",
    "arn:aws:states:::http:invoke",
    "arn:aws:states:::apigateway:invoke",
    "arn:aws:states:::sagemaker:createTrainingJob.sync",
    "arn:aws:states:::eks:call",
    "arn:aws:states:::aws-sdk:dynamodb:query",
    "arn:aws:states:::aws-sdk:s3:getObject",
    "arn:aws:states:::aws-sdk:sfn:startExecution.waitForTaskToken",
]


@pytest.mark.parametrize("resource", ACCEPTED)
def test_resources_aws_accepts(resource: str) -> None:
    assert refusals(resource) == []
    StateMachine(task_machine(resource))  # and the engine compiles it


REFUSED = [
    # DynamoDB's optimized integration has no Query (aws-sdk:dynamodb:query has)
    "arn:aws:states:::dynamodb:query",
    # a region and account in an integration ARN (issue #16: crashed the engine)
    "arn:aws:states:REGION:ACCOUNT:aws-sdk:s3:getObject",
    "arn:aws:states:us-east-1:123456789012:aws-sdk:s3:getObject",
    # Lambda's invoke has no .sync pattern; AWS SDK integrations have none either
    "arn:aws:states:::lambda:invoke.sync",
    "arn:aws:states:::aws-sdk:s3:getObject.sync",
    "arn:aws:states:::states:startExecution.sync:3",
    # not a service Step Functions integrates with as an optimized integration
    "arn:aws:states:::s3:getObject",
    "arn:aws:states:::nosuchservice:doIt",
    # an ARN, but not of a Lambda function, an activity or an integration
    "arn:aws:sns:us-east-1:123456789012:Topic",
    "arn:aws:states:us-east-1:123456789012:stateMachine:Child",
    "arn:aws:lambda:us-east-1:123456789012:layer:Deps",
    "arn:aws:lambda:us-east-1:ACCOUNT:function:Charge",
]


@pytest.mark.parametrize("resource", REFUSED)
def test_resources_aws_refuses_with_its_text(resource: str) -> None:
    assert refusals(resource) == [
        ("SCHEMA_VALIDATION_FAILED", NOT_RECOGNIZED.format(resource), "/States/T/Resource")
    ]
    with pytest.raises(DefinitionError):  # a diagnostic, never a traceback
        StateMachine(task_machine(resource))


def test_a_value_that_is_no_arn_at_all_is_named() -> None:
    [(code, message, location)] = refusals("Charge")
    assert (code, location) == ("INVALID_RESOURCE", "/States/T/Resource")
    assert message.startswith("Value is not a valid resource ARN")


@pytest.mark.parametrize(
    ("resource", "message"),
    [
        (
            "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
            "Express state machine does not support '.waitForTaskToken' service integration ",
        ),
        (
            "arn:aws:states:::states:startExecution.sync",
            "Express state machine does not support '.sync' service integration",
        ),
        (
            "arn:aws:states:::states:startExecution.sync:2",
            "Express state machine does not support '.sync' service integration",
        ),
        (
            "arn:aws:states:us-east-1:123456789012:activity:Approve",
            "Express state machine does not support Activity ARN",
        ),
    ],
)
def test_express_workflows_refuse_callbacks_jobs_and_activities(
    resource: str, message: str
) -> None:
    assert refusals(resource) == []  # a STANDARD workflow may use it
    assert refusals(resource, "EXPRESS") == [
        ("SCHEMA_VALIDATION_FAILED", message, "/States/T/Resource")
    ]
    with pytest.raises(DefinitionError):
        StateMachine(task_machine(resource), machine_type="EXPRESS")


def test_express_workflows_accept_request_response_integrations() -> None:
    for resource in ("arn:aws:states:::lambda:invoke", "arn:aws:states:::sqs:sendMessage"):
        assert refusals(resource, "EXPRESS") == []


def test_express_rules_apply_inside_branches_and_map_processors() -> None:
    callback = {
        "Type": "Task",
        "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        "End": True,
    }
    definition = {
        "StartAt": "P",
        "States": {
            "P": {
                "Type": "Parallel",
                "Branches": [{"StartAt": "Ask", "States": {"Ask": callback}}],
                "End": True,
            }
        },
    }
    found = [
        (d.code, d.location)
        for d in validate_definition(definition, machine_type="EXPRESS")
        if d.severity == "ERROR"
    ]
    assert found == [("SCHEMA_VALIDATION_FAILED", "/States/P/Branches/0/States/Ask/Resource")]


# ------------------------------------------- through the local Step Functions API


@pytest.fixture
def service() -> Iterator[ExecutionService]:
    app = LocalApp(load_template(REPO / "infra" / "sam" / "template.yaml"))
    service = ExecutionService(app, ExecutionStore(":memory:"))
    yield service
    service.close()


async def test_create_state_machine_refuses_as_aws_does(service: ExecutionService) -> None:
    definition = json.dumps(task_machine("arn:aws:states:::dynamodb:query"))
    with pytest.raises(ServiceError) as caught:
        await service.create_state_machine("query", definition, ROLE)
    assert caught.value.code == "InvalidDefinition"
    assert str(caught.value.message) == (
        "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: "
        + NOT_RECOGNIZED.format("arn:aws:states:::dynamodb:query")
        + " at /States/T/Resource'"
    )


async def test_create_express_state_machine_refuses_a_callback(service: ExecutionService) -> None:
    definition = json.dumps(task_machine("arn:aws:states:::sqs:sendMessage.waitForTaskToken"))
    await service.create_state_machine("standard", definition, ROLE)  # STANDARD: fine
    with pytest.raises(ServiceError) as caught:
        await service.create_state_machine("express", definition, ROLE, type="EXPRESS")
    assert caught.value.code == "InvalidDefinition"
    assert (
        "SCHEMA_VALIDATION_FAILED: Express state machine does not support "
        "'.waitForTaskToken' service integration  at /States/T/Resource"
    ) in str(caught.value.message)
    assert "/States/T/Resource" in str(caught.value.message)
    validated = service.validate_state_machine_definition(definition, type="EXPRESS")
    assert validated["result"] == "FAIL"
    assert [d["location"] for d in validated["diagnostics"]] == ["/States/T/Resource"]
