"""Loading and judging the AWS-recorded ASL cases of ../shared/asl-conformance."""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from workflows.engine import StateMachine, VirtualClock
from workflows.engine.machine import ExecutionResult

REPO = Path(__file__).resolve().parents[2]
CASES_DIR = Path(
    os.environ.get("WORKFLOWS_CONFORMANCE_DIR", REPO.parent / "shared" / "asl-conformance")
)
KNOWN_FAILURES = Path(__file__).with_name("known_failures.json")


def not_found(name: str) -> str | None:
    """Why ``name`` of the conformance directory cannot be read, or None when it can."""
    missing = CASES_DIR if not CASES_DIR.is_dir() else CASES_DIR / name
    if missing.exists():
        return None
    return f"{missing} not found, set WORKFLOWS_CONFORMANCE_DIR"


def must_run() -> bool:
    """On CI the cases are always there (it has ../shared): their absence is a failure.

    Elsewhere (a clone without ../shared) the other tests still pass, and the summary
    says that conformance did not run and why. CI services set ``CI``; .ci/run sets
    ``WORKFLOWS_REQUIRE_CONFORMANCE`` (not ``CI``, which switches Hypothesis to its CI
    profile too).
    """
    return any(
        os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no")
        for name in ("WORKFLOWS_REQUIRE_CONFORMANCE", "CI")
    )


def not_run() -> list[str]:
    """A line for each part of the conformance run that had nothing to read, with why."""
    cases, histories = not_found("cases.jsonl"), not_found("histories.jsonl")
    then = " (a failure on CI)" if must_run() else ""
    if cases and cases == histories:  # the directory itself
        return [f"conformance: not run: {cases}{then}"]
    named = [("conformance outcomes", cases), ("conformance histories", histories)]
    return [f"{what}: not run: {why}{then}" for what, why in named if why]


def skip_or_fail(reason: str | None) -> list[pytest.MarkDecorator]:
    """Marks for a module whose file is missing: skipped with the reason, or failed on CI."""
    if reason is None or must_run():
        return []
    return [pytest.mark.skip(reason=f"conformance not run: {reason}")]


def fail_if_missing(reason: str | None) -> None:
    if reason is not None:
        pytest.fail(f"conformance not run on CI: {reason}", pytrace=False)


@dataclass(frozen=True)
class Case:
    id: str
    group: str
    query_language: str
    definition: dict[str, Any]
    input: Any
    expected: dict[str, Any]
    compare: str | None

    @property
    def key(self) -> str:
        return f"{self.group}/{self.query_language}"


def load_cases() -> list[Case]:
    path = CASES_DIR / "cases.jsonl"
    if not path.is_file():
        return []
    cases = []
    for line in path.read_text().splitlines():
        if line.strip():
            raw = json.loads(line)
            cases.append(
                Case(
                    raw["id"],
                    raw["group"],
                    raw["query_language"],
                    raw["definition"],
                    raw["input"],
                    raw["expected"],
                    raw.get("compare"),
                )
            )
    return cases


def known_failures() -> dict[str, str]:
    data: dict[str, str] = json.loads(KNOWN_FAILURES.read_text())
    return data


def same_json(a: Any, b: Any) -> bool:
    """Equal as JSON values, types included (1 is not 1.0, True is not 1); key order free."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same_json(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same_json(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def run_case(
    case: Case, *, machine_name: str = "StateMachine", name: str | None = None
) -> ExecutionResult:
    machine = StateMachine(case.definition, name=machine_name)
    return machine.run(case.input, clock=VirtualClock(), name=name)


def mismatch(case: Case, result: ExecutionResult) -> str | None:
    """None when the result is what AWS recorded, else what differs."""
    expected = case.expected
    got: dict[str, Any] = {"status": result.status}
    if result.status == "SUCCEEDED":
        got["output"] = result.output
    else:
        got["error"], got["cause"] = result.error, result.cause
    if got["status"] != expected["status"]:
        return f"status {got} != expected {expected}"
    if case.compare == "status_and_error":
        ok = result.status == "SUCCEEDED" or result.error == expected.get("error")
    elif result.status == "SUCCEEDED":
        ok = same_json(result.output, expected.get("output"))
    else:
        ok = result.error == expected.get("error") and result.cause == expected.get("cause")
    return None if ok else f"got {got}\nexpected {expected}"


# (group/language, passed) -> count, for outcomes and for histories
TALLY: Counter[tuple[str, bool]] = Counter()
HISTORY_TALLY: Counter[tuple[str, bool]] = Counter()
