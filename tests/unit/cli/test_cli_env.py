"""`workflows env`: the exports that point boto3 and the AWS CLI at `workflows up`."""

from __future__ import annotations

import shlex

from click.testing import CliRunner

from workflows.cli import main


def exports(*args: str) -> dict[str, str]:
    result = CliRunner().invoke(main, ["env", *args])
    assert result.exit_code == 0, result.output
    found = {}
    for line in result.stdout.splitlines():
        assert line.startswith("export "), line
        name, _, value = line[len("export ") :].partition("=")
        found[name] = shlex.split(value)[0]
    return found


def test_env_prints_endpoints_fake_credentials_and_no_sync_prefix() -> None:
    printed = exports()
    assert printed["AWS_ENDPOINT_URL_SFN"] == "http://127.0.0.1:8083"
    assert printed["AWS_ENDPOINT_URL"] == "http://127.0.0.1:4566"
    assert printed["AWS_ACCESS_KEY_ID"] == "testing"
    assert printed["AWS_DEFAULT_REGION"] == "us-east-1"
    assert printed["AWS_DISABLE_HOST_PREFIX_INJECTION"] == "true"


def test_env_follows_the_ports_given_to_up() -> None:
    printed = exports("--host", "0.0.0.0", "--stepfunctions-port", "9083", "--aws-port", "5566")
    assert printed["AWS_ENDPOINT_URL_SFN"] == "http://0.0.0.0:9083"
    assert printed["AWS_ENDPOINT_URL"] == "http://0.0.0.0:5566"
