"""The real AWS CLI (``aws stepfunctions ...``, v1 from PyPI) against the local endpoint.

The CLI runs as a user runs it: its own process, ``--endpoint-url``, fake credentials
from the environment, JSON output; what it prints is what the tests read.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.integration.local import test_sfn_api as base
from tests.integration.local.test_sfn_api import ROLE, Runtime, wait_until
from workflows.local.runtime import Ports, client_environment

moto_endpoint = base.moto_endpoint
store_path = base.store_path
runtime = base.runtime

AWS = Path(sys.executable).with_name("aws")
PASS_ONE = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": {"v": 1}, "End": True}}}
PASS_TWO = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": {"v": 2}, "End": True}}}


class Cli:
    def __init__(self, endpoint: str, home: Path) -> None:
        self.endpoint = endpoint
        # what `eval "$(workflows env)"` exports (fake credentials, region, no "sync-"
        # host prefix for start-sync-execution), and --endpoint-url on every call
        self.env = {
            **client_environment(Ports()),  # its endpoints yield to --endpoint-url
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(home),  # no ~/.aws of whoever runs the tests
        }

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        command = [str(AWS if AWS.exists() else shutil.which("aws") or "aws")]
        command += ["stepfunctions", *args, "--endpoint-url", self.endpoint, "--output", "json"]
        return subprocess.run(command, env=self.env, capture_output=True, text=True, timeout=120)

    def __call__(self, *args: str) -> Any:
        done = self.run(*args)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout) if done.stdout.strip() else {}


@pytest.fixture
def aws(runtime: Runtime, tmp_path: Path) -> Cli:
    return Cli(runtime.endpoint, tmp_path)


def test_the_cli_creates_runs_and_reads_an_execution(aws: Cli) -> None:
    created = aws(
        "create-state-machine",
        "--name",
        "cli-machine",
        "--definition",
        json.dumps(PASS_ONE),
        "--role-arn",
        ROLE,
        "--tags",
        "key=team,value=orders",
    )
    machine = created["stateMachineArn"]
    assert machine.endswith(":stateMachine:cli-machine")

    started = aws("start-execution", "--state-machine-arn", machine, "--input", '{"id": 1}')
    arn = started["executionArn"]
    described = wait_until(
        lambda: (
            (d := aws("describe-execution", "--execution-arn", arn))["status"] != "RUNNING" and d
        ),
        what="the execution to end",
    )
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"]) == {"v": 1}

    history = aws("get-execution-history", "--execution-arn", arn)["events"]
    assert history[0]["type"] == "ExecutionStarted"
    assert history[-1]["type"] == "ExecutionSucceeded"

    assert aws("list-tags-for-resource", "--resource-arn", machine)["tags"] == [
        {"key": "team", "value": "orders"}
    ]
    aws("tag-resource", "--resource-arn", machine, "--tags", "key=env,value=local")
    tags = aws("list-tags-for-resource", "--resource-arn", machine)["tags"]
    assert {t["key"]: t["value"] for t in tags} == {"team": "orders", "env": "local"}


def test_the_cli_publishes_versions_and_routes_an_alias(aws: Cli) -> None:
    machine = aws(
        "create-state-machine",
        "--name",
        "cli-versioned",
        "--definition",
        json.dumps(PASS_ONE),
        "--role-arn",
        ROLE,
    )["stateMachineArn"]
    v1 = aws("publish-state-machine-version", "--state-machine-arn", machine)[
        "stateMachineVersionArn"
    ]
    aws(
        "update-state-machine",
        "--state-machine-arn",
        machine,
        "--definition",
        json.dumps(PASS_TWO),
    )
    v2 = aws(
        "publish-state-machine-version", "--state-machine-arn", machine, "--description", "two"
    )["stateMachineVersionArn"]
    assert (v1, v2) == (f"{machine}:1", f"{machine}:2")

    alias = aws(
        "create-state-machine-alias",
        "--name",
        "live",
        "--routing-configuration",
        f"stateMachineVersionArn={v2},weight=100",
    )["stateMachineAliasArn"]
    assert alias == f"{machine}:live"
    arn = aws("start-execution", "--state-machine-arn", alias)["executionArn"]
    described = wait_until(
        lambda: (
            (d := aws("describe-execution", "--execution-arn", arn))["status"] != "RUNNING" and d
        ),
        what="the execution to end",
    )
    assert json.loads(described["output"]) == {"v": 2}
    assert (described["stateMachineVersionArn"], described["stateMachineAliasArn"]) == (v2, alias)

    refused = aws.run("delete-state-machine-version", "--state-machine-version-arn", v2)
    assert refused.returncode != 0
    assert "(ConflictException)" in refused.stderr
    assert "[live]" in refused.stderr


def test_the_cli_runs_an_express_machine_synchronously(aws: Cli) -> None:
    machine = aws(
        "create-state-machine",
        "--name",
        "cli-express",
        "--definition",
        json.dumps(PASS_ONE),
        "--role-arn",
        ROLE,
        "--type",
        "EXPRESS",
    )["stateMachineArn"]
    answer = aws("start-sync-execution", "--state-machine-arn", machine, "--input", "{}")
    assert answer["status"] == "SUCCEEDED"
    assert json.loads(answer["output"]) == {"v": 1}
    assert ":express:cli-express:" in answer["executionArn"]

    missing = aws.run("describe-execution", "--execution-arn", answer["executionArn"])
    assert missing.returncode != 0
    assert "(InvalidArn)" in missing.stderr
    assert "Resource type not valid in this context: express" in missing.stderr


# Fails on its first attempt (StringToJson of "{"), succeeds once redriven ("1").
FAILS_UNTIL_REDRIVEN = {
    "StartAt": "Parse",
    "States": {
        "Parse": {
            "Type": "Pass",
            "Parameters": {
                "value.$": (
                    "States.StringToJson(States.ArrayGetItem("
                    "States.Array('{', '1'), $$.Execution.RedriveCount))"
                )
            },
            "End": True,
        }
    },
}


def test_the_cli_redrives_a_failed_execution(aws: Cli) -> None:
    machine = aws(
        "create-state-machine",
        "--name",
        "cli-redrive",
        "--definition",
        json.dumps(FAILS_UNTIL_REDRIVEN),
        "--role-arn",
        ROLE,
    )["stateMachineArn"]
    arn = aws("start-execution", "--state-machine-arn", machine, "--name", "once")["executionArn"]

    def ended() -> Any:
        described = aws("describe-execution", "--execution-arn", arn)
        return described["status"] != "RUNNING" and described

    failed = wait_until(ended, what="the first attempt to end")
    assert (failed["status"], failed["redriveStatus"]) == ("FAILED", "REDRIVABLE")

    aws("redrive-execution", "--execution-arn", arn)
    done = wait_until(ended, what="the redriven execution to end")
    assert done["status"] == "SUCCEEDED"
    assert json.loads(done["output"]) == {"value": 1}
    assert done["redriveCount"] == 1
    kinds = [e["type"] for e in aws("get-execution-history", "--execution-arn", arn)["events"]]
    assert kinds.count("ExecutionRedriven") == 1
    assert kinds.index("ExecutionFailed") < kinds.index("ExecutionRedriven")

    again = aws.run("redrive-execution", "--execution-arn", arn)
    assert again.returncode != 0
    assert "(ExecutionNotRedrivable)" in again.stderr


def test_the_cli_tests_one_state(aws: Cli) -> None:
    state = {"Type": "Pass", "Parameters": {"total.$": "States.MathAdd($.a, $.b)"}, "End": True}
    answer = aws(
        "test-state",
        "--definition",
        json.dumps(state),
        "--role-arn",
        ROLE,
        "--input",
        '{"a": 2, "b": 3}',
        "--inspection-level",
        "DEBUG",
    )
    assert answer["status"] == "SUCCEEDED"
    assert json.loads(answer["output"]) == {"total": 5}
    assert json.loads(answer["inspectionData"]["afterParameters"]) == {"total": 5}
