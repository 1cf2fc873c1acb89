"""The `workflows` command as a person uses it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from workflows.cli import main

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_run_by_name_prints_timeline_and_output(in_repo: None) -> None:
    code, out, _ = invoke("run", "order_quote", "--input", "@examples/order_quote.json")
    assert code == 0
    assert "DescribeItems (Map)" in out
    assert "HoldQuote (Wait)" in out
    assert "24 h" in out  # the day-long wait was skipped, and shown for what it was
    output = json.loads(out[out.index("Output:") + len("Output:") :])
    assert output == {
        "orderId": "ord-1001",
        "quote": "Q-ord-1001",
        "lines": ["#1: 2 x espresso-beans-1kg", "#2: 1 x milk-frother"],
        "lineCount": 2,
    }


def test_failed_run_exits_1_with_error_and_cause(in_repo: None) -> None:
    code, out, err = invoke("run", "order_quote", "--input", '{"orderId": "x", "items": []}')
    assert code == 1
    assert "RejectOrder (Fail)" in out
    assert "FAILED: InvalidOrder" in err
    assert "at least one item" in err


def test_run_with_lambdas_module(tmp_path: Path) -> None:
    handlers = tmp_path / "handlers.py"
    handlers.write_text("def Double(event, context):\n    return {'value': event['value'] * 2}\n")
    definition = tmp_path / "double.asl.json"
    definition.write_text(
        json.dumps(
            {
                "StartAt": "Double",
                "States": {"Double": {"Type": "Task", "Resource": "${DoubleArn}", "End": True}},
            }
        )
    )
    code, out, _ = invoke(
        "run",
        str(definition),
        "--input",
        '{"value": 21}',
        "--lambdas",
        str(handlers),
        "--sub",
        "DoubleArn=arn:aws:lambda:us-east-1:123456789012:function:Double",
    )
    assert code == 0, out
    assert '"value": 42' in out


def test_missing_placeholder_is_named(tmp_path: Path) -> None:
    definition = tmp_path / "m.asl.json"
    definition.write_text(
        '{"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "${FnArn}", "End": true}}}'
    )
    code, _, err = invoke("run", str(definition))
    assert code == 2
    assert "FnArn" in err


def test_bad_input_json_says_where(in_repo: None) -> None:
    code, _, err = invoke("run", "order_quote", "--input", '{"orderId": ')
    assert code == 2
    assert "--input is not valid JSON" in err


def test_unknown_name_lists_known_ones(in_repo: None) -> None:
    code, _, err = invoke("run", "no_such_machine")
    assert code == 2
    assert "order_quote" in err


def test_validate_reports_every_problem_with_pointer(tmp_path: Path) -> None:
    broken = tmp_path / "broken.asl.json"
    broken.write_text(
        json.dumps(
            {
                "StartAt": "A",
                "States": {
                    "A": {"Type": "Pass", "Next": "Nowhere"},
                    "B": {"Type": "Succeed"},
                },
            }
        )
    )
    code, _, err = invoke("validate", str(broken))
    assert code == 1
    assert "/States/A/Next" in err
    assert "/States/B" in err  # unreachable, reported in the same run


def test_validate_accepts_the_project_definitions(in_repo: None) -> None:
    paths = sorted(str(p) for p in (REPO / "state_machines").glob("*.asl.json"))
    code, out, err = invoke("validate", *paths)
    assert code == 0, err
    assert out.count(": valid") == len(paths)


def test_token_is_accepted_by_the_local_issuers_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import jwt

    from workflows.local.local_auth import LocalIssuer

    monkeypatch.chdir(tmp_path)
    code, out, _ = invoke("token", "--sub", "CUST-7", "--role", "approver", "--minutes", "5")
    assert code == 0
    issuer = LocalIssuer.from_key_file(tmp_path / ".workflows" / "jwt-key.pem")
    public_key = jwt.PyJWK(issuer.public_jwk()).key
    claims = jwt.decode(out.strip(), public_key, algorithms=["RS256"], audience="orders-api")
    assert claims["sub"] == "CUST-7"
    assert claims["roles"] == ["approver"]
    assert claims["exp"] - claims["iat"] == 300
    assert claims["iss"] == "http://127.0.0.1:3000/"


def test_token_for_an_api_on_another_port_names_that_issuer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import jwt

    monkeypatch.chdir(tmp_path)
    code, out, _ = invoke("token", "--api-port", "4000")
    assert code == 0
    claims = jwt.decode(out.strip(), options={"verify_signature": False})
    assert claims["iss"] == "http://127.0.0.1:4000/"
