"""`workflows replay`: an exported execution history against a definition."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from workflows.cli import main
from workflows.engine import StateMachine, VirtualClock

DEFINITION = {
    "StartAt": "Check",
    "States": {
        "Check": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.n", "NumericGreaterThan": 1, "Next": "Big"}],
            "Default": "Small",
        },
        "Big": {"Type": "Succeed"},
        "Small": {"Type": "Succeed"},
    },
}


def export(tmp_path: Path) -> Path:
    result = StateMachine(DEFINITION).run({"n": 2}, clock=VirtualClock())
    events = [{**e, "timestamp": e["timestamp"].isoformat()} for e in result.history]
    path = tmp_path / "history.json"
    path.write_text(json.dumps({"events": events}))
    return path


def test_replaying_the_same_definition_matches(tmp_path: Path) -> None:
    definition = tmp_path / "check.asl.json"
    definition.write_text(json.dumps(DEFINITION))
    result = CliRunner().invoke(
        main, ["replay", str(export(tmp_path)), "--definition", str(definition)]
    )
    assert result.exit_code == 0, result.output
    assert "matches the recorded one (SUCCEEDED)" in result.stdout


def test_an_edited_definition_says_where_it_diverged(tmp_path: Path) -> None:
    edited = json.loads(json.dumps(DEFINITION))
    edited["States"]["Check"]["Choices"][0]["NumericGreaterThan"] = 5
    definition = tmp_path / "check.asl.json"
    definition.write_text(json.dumps(edited))
    result = CliRunner().invoke(
        main, ["replay", str(export(tmp_path)), "--definition", str(definition)]
    )
    assert result.exit_code == 1
    assert "diverged at event 4: recorded SucceedStateEntered of 'Big'" in result.stderr
    assert "local run SucceedStateEntered of 'Small'" in result.stderr


def test_a_file_that_is_not_a_history_is_a_clear_error(tmp_path: Path) -> None:
    definition = tmp_path / "check.asl.json"
    definition.write_text(json.dumps(DEFINITION))
    bogus = tmp_path / "bogus.json"
    bogus.write_text('{"events": []}')
    result = CliRunner().invoke(main, ["replay", str(bogus), "--definition", str(definition)])
    assert result.exit_code == 2
    assert "is not an execution history" in result.stderr
