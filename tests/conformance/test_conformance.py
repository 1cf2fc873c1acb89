"""Every case recorded against real AWS must give AWS's result (see known_failures.json)."""

from __future__ import annotations

import pytest

from tests.conformance.cases import (
    CASES_DIR,
    TALLY,
    Case,
    fail_if_missing,
    known_failures,
    load_cases,
    mismatch,
    not_found,
    run_case,
    skip_or_fail,
)

CASES = load_cases()
KNOWN = known_failures()
NOT_FOUND = not_found("cases.jsonl")

pytestmark = [pytest.mark.conformance, *skip_or_fail(NOT_FOUND)]


def test_the_recorded_cases_are_there() -> None:
    fail_if_missing(NOT_FOUND)
    assert CASES, f"{CASES_DIR / 'cases.jsonl'} holds no case"


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_case_matches_aws(case: Case) -> None:
    if case.id in KNOWN:
        pytest.xfail(KNOWN[case.id])  # strictness: see test_known_failures_still_fail
    try:
        result = run_case(case)
        problem = mismatch(case, result)
    except Exception as exc:  # a crash is a failure of this case, reported like one
        problem = f"{type(exc).__name__}: {exc}"
    TALLY[(case.key, problem is None)] += 1
    assert problem is None, problem


def test_known_failures_still_fail() -> None:
    """The list only shrinks: a listed case that now passes must be removed from it."""
    fail_if_missing(NOT_FOUND)
    by_id = {c.id: c for c in CASES}
    unknown = sorted(set(KNOWN) - set(by_id))
    assert not unknown, f"known_failures.json lists cases that do not exist: {unknown}"
    now_passing = []
    for case_id in KNOWN:
        case = by_id[case_id]
        try:
            passed = mismatch(case, run_case(case)) is None
        except Exception:
            passed = False
        TALLY[(case.key, passed)] += 1
        if passed:
            now_passing.append(case_id)
    assert not now_passing, f"remove these from known_failures.json, they pass now: {now_passing}"
