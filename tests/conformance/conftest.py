from __future__ import annotations

from collections import Counter, defaultdict

import pytest

from tests.conformance.cases import HISTORY_TALLY, TALLY, not_run


def _rows(tally: Counter[tuple[str, bool]]) -> dict[str, list[int]]:
    rows: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for (key, passed), count in tally.items():
        rows[key][0 if passed else 1] += count
    return rows


def _cell(counts: list[int] | None) -> str:
    if not counts:
        return f"{'-':>18}"
    passed, failed = counts
    total = passed + failed
    return f"{passed:>5}/{total:<5} {100.0 * passed / total:6.1f}%"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    missing = not_run()
    if not TALLY and not HISTORY_TALLY and not missing:
        return
    terminalreporter.section("ASL conformance (cases recorded against AWS)")
    for line in missing:
        terminalreporter.write_line(line, yellow=True, bold=True)
    if TALLY or HISTORY_TALLY:
        _table(terminalreporter)


def _table(terminalreporter: pytest.TerminalReporter) -> None:
    outcomes, histories = _rows(TALLY), _rows(HISTORY_TALLY)
    terminalreporter.write_line(f"{'group/language':<36} {'outcomes':>18}   {'histories':>18}")
    for key in sorted(set(outcomes) | set(histories)):
        terminalreporter.write_line(
            f"{key:<36} {_cell(outcomes.get(key))}   {_cell(histories.get(key))}"
        )
    all_outcomes = [sum(r[0] for r in outcomes.values()), sum(r[1] for r in outcomes.values())]
    all_histories = [
        sum(r[0] for r in histories.values()),
        sum(r[1] for r in histories.values()),
    ]
    terminalreporter.write_line(
        f"{'all':<36} {_cell(all_outcomes if outcomes else None)}   "
        f"{_cell(all_histories if histories else None)}"
    )
