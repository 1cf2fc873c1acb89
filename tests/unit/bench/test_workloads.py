"""`python -m bench` says which workloads it could not find instead of measuring fewer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import bench.__main__ as bench_main


@pytest.fixture
def no_shared_workloads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    absent = tmp_path / "bench-workloads"
    monkeypatch.setattr(bench_main, "WORKLOADS", absent)
    return absent


def test_every_workload_without_the_shared_directory_fails_naming_it_and_the_variable(
    no_shared_workloads: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert bench_main.main([]) == 2
    out, err = capsys.readouterr()
    assert out == ""  # bench/workloads' own workload alone was not measured
    assert str(no_shared_workloads) in err
    assert "WORKFLOWS_BENCH_DIR" in err


def test_a_named_workload_that_is_nowhere_fails_naming_where_it_looked(
    no_shared_workloads: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert bench_main.main(["order_flow"]) == 2
    err = capsys.readouterr().err
    assert "order_flow" in err
    assert str(no_shared_workloads) in err
    assert "WORKFLOWS_BENCH_DIR" in err


def test_a_named_built_in_workload_still_runs_without_the_shared_directory(
    no_shared_workloads: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert not no_shared_workloads.exists()
    argv = ["order_flow_jsonata", "--in-process", "--json", "--handler-mode", "inline"]
    assert bench_main.main([*argv, "--batches", "1", "--batch-seconds", "0.01"]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    assert json.loads(line)["name"] == "order_flow_jsonata"


def test_with_the_shared_directory_every_workload_is_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    shared = tmp_path / "bench-workloads"
    shared.mkdir()
    own = json.loads((bench_main.EXTRA / "order_flow_jsonata.json").read_text())
    (shared / "renamed.json").write_text(json.dumps({**own, "name": "renamed"}))
    monkeypatch.setattr(bench_main, "WORKLOADS", shared)
    argv = ["--in-process", "--json", "--handler-mode", "inline", "--batches", "1"]
    assert bench_main.main([*argv, "--batch-seconds", "0.01"]) == 0
    names = [json.loads(line)["name"] for line in capsys.readouterr().out.splitlines()]
    assert names == ["renamed", "order_flow_jsonata"]


def test_the_instruction_counter_names_a_missing_workload_and_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bench import instructions

    monkeypatch.setattr(bench_main, "WORKLOADS", tmp_path / "bench-workloads")
    monkeypatch.setattr(instructions, "WORKLOADS", tmp_path / "bench-workloads")
    monkeypatch.setattr("sys.argv", ["bench.instructions", "order_flow", "run", "1"])
    with pytest.raises(SystemExit) as stopped:
        instructions.main()
    assert "'order_flow'" in str(stopped.value)
    assert str(tmp_path / "bench-workloads") in str(stopped.value)
    assert "WORKFLOWS_BENCH_DIR" in str(stopped.value)
