"""`workflows validate` on the files projects keep: ASL with placeholders, SAM and
CloudFormation templates, Terraform modules; text, JSON and SARIF output; exit codes."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from workflows.cli import main

REPO = Path(__file__).resolve().parents[3]

# The shapes of AWS's published SAM/CDK/Terraform patterns that used to be refused or
# crash (issue #16), each on its own line so that locations can be checked.
PLACEHOLDERS = """\
{
  "StartAt": "Work",
  "States": {
    "Work": {
      "Type": "Task",
      "Resource": "${ActivityArn}",
      "TimeoutSeconds": ${Timeout},
      "Next": "Batch"
    },
    "Batch": {
      "Type": "Task",
      "Resource": "arn:${partition}:states:::batch:submitJob.sync",
      "Next": "Get"
    },
    "Get": {
      "Type": "Task",
      "Resource": "${DDBGetItem}",
      "Next": "Fn"
    },
    "Fn": {
      "Type": "Task",
      "Resource": "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:F",
      "Parameters": {"first.$": "$.[0]", "state.$": "$.Snapshots.[0].State"},
      "End": true
    }
  }
}
"""


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
    return result.exit_code, result.stdout, result.stderr


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return path


@pytest.fixture
def in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)


def test_placeholders_are_notes_and_the_file_is_valid(tmp_path: Path) -> None:
    path = write(tmp_path, "patterns.asl.json", PLACEHOLDERS)
    code, out, err = invoke("validate", str(path))
    assert code == 0, err
    assert f"{path.as_posix()}: valid" in out
    assert "ERROR" not in err
    notes = [line for line in err.splitlines() if " NOTE " in line]
    assert any(":6:7: NOTE PLACEHOLDER_VALUE" in n and "${ActivityArn}" in n for n in notes)
    assert any(":7:7: NOTE PLACEHOLDER_VALUE" in n and "TimeoutSeconds" in n for n in notes)
    assert any(
        ":12:7: NOTE PLACEHOLDER_IN_ARN" in n and "arn:aws:states:::batch:submitJob.sync" in n
        for n in notes
    )
    assert any(":17:7: NOTE PLACEHOLDER_VALUE" in n and "${DDBGetItem}" in n for n in notes)


def test_a_given_value_is_checked_like_any_other(tmp_path: Path) -> None:
    path = write(tmp_path, "patterns.asl.json", PLACEHOLDERS)
    topic = "arn:aws:sns:us-east-1:123456789012:Topic"
    code, _, err = invoke("validate", str(path), "--sub", f"ActivityArn={topic}")
    assert code == 1
    assert (
        f"{path.as_posix()}:6:7: ERROR SCHEMA_VALIDATION_FAILED: The resource provided "
        f"{topic} is not recognized." in err
    )


def test_an_arn_the_engine_does_not_know_is_a_diagnostic_not_a_traceback(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "sdk.asl.json",
        """\
        {"StartAt": "Get", "States": {"Get": {"Type": "Task",
          "Resource": "arn:aws:states:REGION:ACCOUNT:aws-sdk:s3:getObject", "End": true}}}
        """,
    )
    code, _, err = invoke("validate", str(path))
    assert code == 1
    assert "Traceback" not in err
    assert ":2:3: ERROR SCHEMA_VALIDATION_FAILED" in err
    assert "(at /States/Get/Resource)" in err


def test_express_refuses_callbacks_and_jobs(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "ask.asl.json",
        """\
        {"StartAt": "Ask", "States": {"Ask": {"Type": "Task",
          "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken", "End": true}}}
        """,
    )
    assert invoke("validate", str(path))[0] == 0
    code, _, err = invoke("validate", str(path), "--type", "EXPRESS")
    assert code == 1
    assert "Express state machine does not support '.waitForTaskToken' service integration" in err


def test_warnings_alone_exit_0(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "warn.asl.json",
        """\
        {"StartAt": "A", "States": {"A": {"Type": "Pass",
          "Parameters": {"id": "$.id"}, "End": true}}}
        """,
    )
    code, _, err = invoke("validate", str(path))
    assert code == 0
    assert "WARNING NO_DOLLAR" in err


def test_a_bad_sub_is_a_usage_error(tmp_path: Path) -> None:
    path = write(tmp_path, "p.asl.json", PLACEHOLDERS)
    code, _, err = invoke("validate", str(path), "--sub", "NoEquals")
    assert code == 2
    assert "NoEquals" in err


# ---------------------------------------------------------------- templates


def test_the_projects_sam_template_validates_each_machine(in_repo: None) -> None:
    code, out, err = invoke("validate", "infra/sam/template.yaml")
    assert code == 0, err
    for name in ("OrderProcessingStateMachine", "NotificationStateMachine"):
        assert f"infra/sam/template.yaml: Resources/{name}: valid" in out
    assert err == ""  # the template fills every placeholder of its definitions


def test_the_projects_terraform_validates_each_templatefile(in_repo: None) -> None:
    code, out, err = invoke("validate", "infra/terraform")
    assert code == 0, err
    assert "infra/terraform/main.tf: module.order_processing.definition: valid" in out
    assert out.count(": valid") == 4


SAM = """\
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.handler
  Express:
    Type: AWS::Serverless::StateMachine
    Properties:
      Type: EXPRESS
      DefinitionSubstitutions:
        FnArn: !GetAtt Fn.Arn
      Definition:
        StartAt: Call
        States:
          Call:
            Type: Task
            Resource: ${FnArn}
            Next: Ask
          Ask:
            Type: Task
            Resource: arn:aws:states:::lambda:invoke.waitForTaskToken
            End: true
  Plain:
    Type: AWS::StepFunctions::StateMachine
    Properties:
      DefinitionString: !Sub |
        {
          "StartAt": "A",
          "States": {
            "A": {"Type": "Pass", "Next": "Nowhere"},
            "B": {"Type": "Task", "End": true,
             "Resource": "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:F"}
          }
        }
"""


def test_a_template_is_validated_with_its_own_substitutions_and_types(tmp_path: Path) -> None:
    path = write(tmp_path, "template.yaml", SAM)
    code, _, err = invoke("validate", str(path))
    assert code == 1
    lines = err.splitlines()
    # the EXPRESS machine: its substitution made Call a Lambda ARN; Ask is refused
    assert not any("/States/Call/Resource" in line for line in lines)
    assert any(
        line.startswith(f"{path.as_posix()}:23:13: ERROR SCHEMA_VALIDATION_FAILED")
        and "Resources/Express" in line
        for line in lines
    ), err
    # the DefinitionString: positions inside the !Sub block, at the field's own line
    assert any(
        line.startswith(f"{path.as_posix()}:32:35: ERROR MISSING_TRANSITION_TARGET")
        for line in lines
    ), err


def test_a_cloudformation_json_template_is_read_too(tmp_path: Path) -> None:
    template = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Resources": {
            "Machine": {
                "Type": "AWS::StepFunctions::StateMachine",
                "Properties": {
                    "StateMachineType": "EXPRESS",
                    "Definition": {
                        "StartAt": "Run",
                        "States": {
                            "Run": {
                                "Type": "Task",
                                "Resource": "arn:aws:states:::states:startExecution.sync:2",
                                "End": True,
                            }
                        },
                    },
                },
            }
        },
    }
    path = tmp_path / "template.json"
    path.write_text(json.dumps(template, indent=2))
    code, _, err = invoke("validate", str(path))
    assert code == 1
    assert "Express state machine does not support '.sync'" in err


def test_a_terraform_module_fills_literal_variables_and_notes_the_rest(tmp_path: Path) -> None:
    write(
        tmp_path,
        "machine.asl.json",
        """\
        {"StartAt": "Call", "States": {
          "Call": {"Type": "Task", "Resource": "${fn_arn}", "Next": "Ask"},
          "Ask": {"Type": "Task", "Resource": "${ask}", "End": true}}}
        """,
    )
    write(
        tmp_path,
        "main.tf",
        """\
        resource "aws_sfn_state_machine" "machine" {
          name = "m"
          type = "EXPRESS"
          definition = templatefile("${path.module}/machine.asl.json", {
            fn_arn = aws_lambda_function.fn.arn
            ask    = "arn:aws:states:::sqs:sendMessage.waitForTaskToken"
          })
        }
        """,
    )
    code, _, err = invoke("validate", str(tmp_path))
    assert code == 1
    assert "NOTE PLACEHOLDER_VALUE" in err
    assert "${fn_arn}" in err
    assert "ERROR SCHEMA_VALIDATION_FAILED: Express state machine" in err
    assert "resource.aws_sfn_state_machine.machine.definition" in err


# ------------------------------------------------------------------ formats


def test_json_output_lists_every_diagnostic_with_its_position(tmp_path: Path) -> None:
    path = write(tmp_path, "patterns.asl.json", PLACEHOLDERS)
    code, out, _ = invoke("validate", str(path), "--format", "json")
    assert code == 0
    report = json.loads(out)
    assert report["valid"] is True
    assert report["definitions"] == [path.as_posix()]
    found = {(d["location"], d["line"], d["column"], d["severity"]) for d in report["diagnostics"]}
    assert ("/States/Get/Resource", 17, 7, "NOTE") in found


def _sarif(args: list[str]) -> tuple[int, dict[str, Any]]:
    code, out, _ = invoke("validate", *args, "--format", "sarif")
    log: dict[str, Any] = json.loads(out)
    return code, log


def test_sarif_places_each_problem_on_its_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "broken.asl.json",
        """\
        {
          "StartAt": "A",
          "States": {
            "A": {"Type": "Pass", "Next": "Nowhere"},
            "B": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:query", "End": true}
          }
        }
        """,
    )
    code, log = _sarif([str(path)])
    assert code == 1
    assert log["version"] == "2.1.0"
    assert log["$schema"].endswith("sarif-2.1.0.json")
    run = log["runs"][0]
    rules = [rule["id"] for rule in run["tool"]["driver"]["rules"]]
    placed = {}
    for result in run["results"]:
        assert rules[result["ruleIndex"]] == result["ruleId"]
        location = result["locations"][0]
        assert location["physicalLocation"]["artifactLocation"]["uri"] == path.as_posix()
        region = location["physicalLocation"]["region"]
        pointer = location["logicalLocations"][0]["fullyQualifiedName"]
        placed[pointer] = (result["ruleId"], result["level"], region["startLine"])
    assert placed["/States/A/Next"] == ("MISSING_TRANSITION_TARGET", "error", 4)
    assert placed["/States/B/Resource"] == ("SCHEMA_VALIDATION_FAILED", "error", 5)
    assert placed["/States/B"][2] == 5  # unreachable: on the state's own line


def test_sarif_of_a_valid_file_has_no_results_and_exits_0(in_repo: None) -> None:
    code, log = _sarif(["state_machines/order_quote.asl.json"])
    assert code == 0
    assert log["runs"][0]["results"] == []


# --------------------------------------------------------------- pre-commit


def test_the_pre_commit_hook_runs_this_command(tmp_path: Path) -> None:
    hooks = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    [hook] = [h for h in hooks if h["id"] == "workflows-validate"]
    assert hook["entry"] == "workflows validate"
    assert hook["language"] == "python"
    import re

    pattern = re.compile(hook["files"])
    assert pattern.search("state_machines/order_processing.asl.json")
    assert not pattern.search("tasks/orders/charge.py")
    # what pre-commit runs: the entry followed by the changed files
    path = write(tmp_path, "x.asl.json", PLACEHOLDERS)
    code, _, _ = invoke(*hook["entry"].split()[1:], *hook.get("args", []), str(path))
    assert code == 0


def test_a_cdk_synthesized_template_joins_its_definition_string(tmp_path: Path) -> None:
    """CDK writes DefinitionString as an Fn::Join of text and references."""
    head = '{"StartAt":"Call","States":{"Call":{"Type":"Task","Resource":"arn:'
    middle = ':states:::lambda:invoke","Parameters":{"FunctionName":"'
    tail = (
        '"},"Next":"Q"},"Q":{"Type":"Task","Resource":"arn:aws:states:::dynamodb:query",'
        '"End":true}}}'
    )
    template = {
        "Resources": {
            "Fn": {"Type": "AWS::Lambda::Function", "Properties": {}},
            "Machine": {
                "Type": "AWS::StepFunctions::StateMachine",
                "Properties": {
                    "DefinitionString": {
                        "Fn::Join": [
                            "",
                            [
                                head,
                                {"Ref": "AWS::Partition"},
                                middle,
                                {"Fn::GetAtt": ["Fn", "Arn"]},
                                tail,
                            ],
                        ]
                    }
                },
            },
        }
    }
    path = tmp_path / "Stack.template.json"
    path.write_text(json.dumps(template, indent=1))
    code, _, err = invoke("validate", str(path))
    assert code == 1
    assert "NOTE PLACEHOLDER_IN_ARN" in err  # ${AWS::Partition} checked as aws
    assert "/States/Call/Resource" in err
    assert "arn:aws:states:::dynamodb:query is not recognized" in err
    assert "(at /States/Q/Resource) [" in err


def test_a_folder_without_terraform_is_a_folder_of_asl_files(in_repo: None) -> None:
    code, out, err = invoke("validate", "state_machines")
    assert code == 0, err
    assert "state_machines/order_quote.asl.json: valid" in out
    assert out.count(": valid") == len(list((REPO / "state_machines").glob("*.asl.json")))


def test_a_yaml_definition_keeps_timestamps_as_text(tmp_path: Path) -> None:
    """SAM's DefinitionUri may name a YAML file; an unquoted timestamp is text, as
    CloudFormation reads it, and positions point into the YAML."""
    path = write(
        tmp_path,
        "wait.asl.yaml",
        """\
        StartAt: Hold
        States:
          Hold:
            Type: Wait
            Timestamp: 2016-03-14T01:59:00Z
            Next: Done
          Done:
            Type: Pass
            Next: Nowhere
        """,
    )
    code, _, err = invoke("validate", str(path))
    assert code == 1
    assert "INVALID_TIMESTAMP" not in err
    assert f"{path.as_posix()}:9:5: ERROR MISSING_TRANSITION_TARGET" in err


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("broken.yaml", "Resources: {Machine: [unclosed\n"),
        ("list.yaml", "AWSTemplateFormatVersion: x\nResources: [1, 2]\n"),
        (
            "props.yaml",
            "Resources:\n  M:\n    Type: AWS::StepFunctions::StateMachine\n    Properties: 3\n",
        ),
        (
            "subs.yaml",
            "Resources:\n  M:\n    Type: AWS::Serverless::StateMachine\n    Properties:\n"
            "      DefinitionSubstitutions: {A: !GetAtt Missing.Arn, B: !Select [0, [x]]}\n"
            "      Definition:\n"
            "        {StartAt: A, States: {A: {Type: Task, Resource: '${A}', End: true}}}\n",
        ),
        (
            "string.yaml",
            "Resources:\n  M:\n    Type: AWS::StepFunctions::StateMachine\n    Properties:\n"
            "      DefinitionString: !Join [1, 2]\n",
        ),
        (
            "s3.yaml",
            "Resources:\n  M:\n    Type: AWS::Serverless::StateMachine\n    Properties:\n"
            "      DefinitionUri: {Bucket: b, Key: k}\n",
        ),
        ("main.tf", 'resource "aws_sfn_state_machine" "m" {\n  definition = templatefile(\n'),
        (
            "missing.tf",
            'resource "aws_sfn_state_machine" "m" {\n'
            '  definition = templatefile("${path.module}/none.asl.json", {})\n}\n',
        ),
    ],
)
def test_odd_templates_get_diagnostics_not_tracebacks(tmp_path: Path, name: str, text: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    for output in ("text", "json", "sarif"):
        code, _, err = invoke("validate", str(path), "--format", output)
        assert code in (0, 1), err
        assert "Traceback" not in err
