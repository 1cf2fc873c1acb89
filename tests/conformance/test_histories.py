"""Every execution history AWS recorded must be ours, event for event
(see known_history_divergences.json for the recordings AWS itself no longer matches)."""

from __future__ import annotations

import pytest

from tests.conformance.cases import (
    CASES_DIR,
    HISTORY_TALLY,
    fail_if_missing,
    load_cases,
    not_found,
    run_case,
    skip_or_fail,
)
from tests.conformance.histories import (
    HistoryEntry,
    history_mismatch,
    known_divergences,
    load_entries,
)

CASES = {case.id: case for case in load_cases()}
ENTRIES = load_entries()
KNOWN = known_divergences()
NOT_FOUND = not_found("histories.jsonl")

pytestmark = [pytest.mark.conformance, *skip_or_fail(NOT_FOUND)]


def test_the_recorded_histories_are_there() -> None:
    fail_if_missing(NOT_FOUND)
    assert ENTRIES, f"{CASES_DIR / 'histories.jsonl'} holds no history"


def _judge(entry: HistoryEntry) -> str | None:
    case = CASES[entry.id]
    try:
        return history_mismatch(entry, case, run_case)
    except Exception as exc:  # a crash is a failure of this case, reported like one
        return f"{type(exc).__name__}: {exc}"


@pytest.mark.parametrize("entry", ENTRIES, ids=[e.id for e in ENTRIES])
def test_history_matches_aws(entry: HistoryEntry) -> None:
    if entry.id in KNOWN:
        pytest.xfail(KNOWN[entry.id])  # strictness: see test_known_divergences_still_diverge
    problem = _judge(entry)
    HISTORY_TALLY[(CASES[entry.id].key, problem is None)] += 1
    assert problem is None, problem


def test_every_history_has_its_case() -> None:
    missing = sorted(e.id for e in ENTRIES if e.id not in CASES)
    assert not missing, f"histories.jsonl entries without a case in cases.jsonl: {missing}"


def test_known_divergences_still_diverge() -> None:
    """The list only shrinks: a listed history that now matches must be removed from it."""
    fail_if_missing(NOT_FOUND)
    by_id = {e.id: e for e in ENTRIES}
    unknown = sorted(set(KNOWN) - set(by_id))
    assert not unknown, f"known_history_divergences.json lists unknown entries: {unknown}"
    now_matching = []
    for entry_id in KNOWN:
        matched = _judge(by_id[entry_id]) is None
        HISTORY_TALLY[(CASES[entry_id].key, matched)] += 1
        if matched:
            now_matching.append(entry_id)
    assert not now_matching, f"remove these from known_history_divergences.json: {now_matching}"
