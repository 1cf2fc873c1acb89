"""The store's queries behind the console's executions list and counts, at 10,000 rows."""

from __future__ import annotations

from workflows.local.store import ExecutionRow, ExecutionStore

PREFIX = "arn:aws:states:us-east-1:123456789012"
MACHINES = ("Orders", "Notify")
STATUSES = ("SUCCEEDED", "FAILED", "RUNNING", "ABORTED")


def filled(count: int = 10_000) -> ExecutionStore:
    store = ExecutionStore(":memory:")
    for n in range(count):
        machine = MACHINES[n % 2]
        name = f"order-{n:05d}" if machine == "Orders" else f"notice-{n:05d}"
        store.insert_execution(
            ExecutionRow(
                f"{PREFIX}:execution:{machine}:{name}",
                f"{PREFIX}:stateMachine:{machine}",
                name,
                STATUSES[n % 4],
                "{}",
                1000.0 + n,
            )
        )
    store.flush()  # writes are committed by the store's writer thread
    return store


def test_newest_first_across_machines_page_by_page() -> None:
    with filled() as store:
        first = store.search_executions(limit=50)
        assert [r.name for r in first[:3]] == ["notice-09999", "order-09998", "notice-09997"]
        second = store.search_executions(limit=50, before_seq=first[-1].seq)
        assert second[0].seq == first[-1].seq - 1
        names: list[str] = []
        before = None
        while page := store.search_executions(limit=1000, before_seq=before):
            names.extend(r.name for r in page)
            before = page[-1].seq
        assert len(names) == len(set(names)) == 10_000


def test_filters_combine_machine_status_and_name() -> None:
    with filled() as store:
        rows = store.search_executions(
            state_machine_arn=f"{PREFIX}:stateMachine:Orders", status="RUNNING", limit=5
        )
        assert len(rows) == 5
        assert {(r.state_machine_arn.rsplit(":", 1)[-1], r.status) for r in rows} == {
            ("Orders", "RUNNING")
        }
        found = store.search_executions(name_contains="order-0420")
        assert sorted(r.name for r in found) == [f"order-0420{d}" for d in (0, 2, 4, 6, 8)]
        # LIKE's wildcards in a search are plain characters
        assert store.search_executions(name_contains="order_%") == []


def test_counts_by_machine_and_status() -> None:
    with filled() as store:
        counts = store.count_executions()
        assert counts[(f"{PREFIX}:stateMachine:Orders", "SUCCEEDED")] == 2500
        assert counts[(f"{PREFIX}:stateMachine:Notify", "FAILED")] == 2500
        assert (f"{PREFIX}:stateMachine:Orders", "FAILED") not in counts  # none: not listed
        assert sum(counts.values()) == 10_000
