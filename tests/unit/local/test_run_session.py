"""``workflows run``'s one boto3 session (one client per service for the whole run), and
the services it brings up before the executions."""

from __future__ import annotations

from pathlib import Path

from botocore.config import Config

from workflows.integrations import new_session
from workflows.integrations._boto import ClientPool
from workflows.local.run import _RunSession, granted_services, run_may_start
from workflows.local.template import REGION, load_template

ROOT = Path(__file__).resolve().parents[3]


def test_the_integrations_call_the_clients_provisioning_built() -> None:
    session = _RunSession(new_session(region_name=REGION))
    provisioning = session.client("dynamodb")
    assert session.client("dynamodb") is provisioning
    assert ClientPool(lambda: session).client("dynamodb") is provisioning
    assert provisioning.meta.config.retries["mode"] == "standard"
    assert provisioning.meta.region_name == REGION


def test_a_client_asked_for_with_other_settings_is_its_own() -> None:
    session = _RunSession(new_session(region_name=REGION))
    shared = session.client("sqs")
    assert session.client("sqs", region_name="eu-west-1") is not shared
    assert session.client("sqs", config=Config(retries={"mode": "legacy"})) is not shared
    assert session.client("sqs", endpoint_url="http://localhost:1") is not shared
    assert session.region_name == REGION  # everything else is the session's


def test_the_services_up_before_the_executions_are_those_the_template_grants(
    tmp_path: Path,
) -> None:
    definition = '{"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}'
    (tmp_path / "flow.asl.json").write_text(definition)
    template = tmp_path / "template.yaml"
    template.write_text(
        """
Transform: AWS::Serverless-2016-10-31
Resources:
  Sender:
    Type: AWS::Serverless::Function
    Properties:
      Handler: tasks.sender.handler
      Policies:
        - AWSLambdaBasicExecutionRole
        - SESCrudPolicy: {IdentityName: me@example.com}
        - Statement:
            Effect: Allow
            Action: [SNS:Publish, "states:StartExecution", "*"]
            Resource: "*"
  Flow:
    Type: AWS::Serverless::StateMachine
    Properties:
      DefinitionUri: flow.asl.json
      Policies:
        - EventBridgePutEventsPolicy: {EventBusName: default}
        - StepFunctionsExecutionPolicy: {StateMachineName: other}
        - LambdaInvokePolicy: {FunctionName: !Ref Sender}
"""
    )
    # managed policies by name grant what is not in the template; Step Functions and
    # Lambda are answered by the runtime itself
    assert granted_services(load_template(template)) == {"events", "ses", "sns"}


def test_the_application_template_grants_the_services_the_demo_calls() -> None:
    granted = granted_services(load_template(ROOT / "infra" / "sam" / "template.yaml"))
    assert {"dynamodb", "events", "ses", "sns"} <= granted


def test_the_services_up_for_a_run_are_those_of_the_machines_it_may_start() -> None:
    template = load_template(ROOT / "infra" / "sam" / "template.yaml")
    # the order and the notification its OrderConfirmed event starts (a rule's target);
    # the sweeps run on schedules, which do not fire in a run
    machines = run_may_start(template, "order_processing")
    assert machines == {"OrderProcessingStateMachine", "NotificationStateMachine"}
    granted = granted_services(template, machines)
    assert granted == {"dynamodb", "events", "sqs", "ses", "sns"}
    assert "s3" in granted_services(template)  # the export sweep's bucket
    assert granted_services(template, run_may_start(template, "order_export_sweep")) == {
        "dynamodb",
        "ses",
        "sns",
        "s3",
    }
