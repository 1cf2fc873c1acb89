"""Every case recorded against real AWS must give AWS's result (see known_failures.json)."""

from __future__ import annotations

import pytest

from tests.conformance.cases import (
    CASES_DIR,
    TALLY,
    Case,
    known_failures,
    load_cases,
    mismatch,
    run_case,
)

CASES = load_cases()
KNOWN = known_failures()

pytestmark = [
    pytest.mark.conformance,
    pytest.mark.skipif(not CASES, reason=f"no conformance cases found in {CASES_DIR}"),
]


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
