"""The map runs an engine instance keeps for the Step Functions API: every running one
and the newest finished ones, with their children."""

from __future__ import annotations

from workflows.engine.history import History
from workflows.engine.map_runs import ChildExecution, MapRun, MapRuns


def run(number: int) -> MapRun:
    return MapRun(
        arn=f"arn:aws:states:us-east-1:123456789012:mapRun:M/L:{number}",
        execution_arn=f"arn:aws:states:us-east-1:123456789012:execution:M:{number}",
        state_machine_arn="arn:aws:states:us-east-1:123456789012:stateMachine:M/L",
        label="L",
        start_date=float(number),
        max_concurrency=0,
        tolerated_failure_count=0,
        tolerated_failure_percentage=0.0,
        execution_type="STANDARD",
    )


def test_the_oldest_finished_runs_and_their_children_are_let_go() -> None:
    runs = MapRuns(keep=2)
    first = run(1)
    runs.add(first)
    child = ChildExecution(
        "arn:aws:states:us-east-1:123456789012:execution:M/L:c1",
        "c1",
        first.state_machine_arn,
        first.arn,
        1.0,
        {},
        History(),
    )
    runs.add_child(first, child)
    first.status = "SUCCEEDED"
    still_running = run(2)
    runs.add(still_running)
    for number in (3, 4):
        finished = run(number)
        runs.add(finished)
        finished.status = "FAILED"
    runs.add(run(5))
    assert runs.get(first.arn) is None
    assert runs.child(child.arn) is None
    assert runs.get(still_running.arn) is still_running  # running runs always stay
    assert [runs.get(run(n).arn) is not None for n in (3, 4, 5)] == [True, True, True]


def test_describe_counts_items_and_executions_by_status() -> None:
    runs = MapRuns()
    one = run(1)
    runs.add(one)
    one.move(3, None, "pending")
    one.move(3, "pending", "running")
    one.move(3, "running", "succeeded")
    one.move(2, None, "running")
    described = runs.describe(one)
    assert described["itemCounts"]["succeeded"] == 3
    assert described["itemCounts"]["running"] == 2
    assert described["itemCounts"]["total"] == 5
    assert described["executionCounts"]["total"] == 2
    assert described["status"] == "RUNNING"
    assert "stopDate" not in described
