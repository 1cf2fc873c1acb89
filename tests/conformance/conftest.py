from __future__ import annotations

from collections import defaultdict

import pytest

from tests.conformance.cases import TALLY


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not TALLY:
        return
    rows: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for (key, passed), count in TALLY.items():
        rows[key][0 if passed else 1] += count
    terminalreporter.section("ASL conformance (cases recorded against AWS)")
    total_pass = total = 0
    for key in sorted(rows):
        passed, failed = rows[key]
        total_pass += passed
        total += passed + failed
        rate = 100.0 * passed / (passed + failed)
        terminalreporter.write_line(f"{key:<36} {passed:>4}/{passed + failed:<4} {rate:6.1f}%")
    terminalreporter.write_line(
        f"{'all':<36} {total_pass:>4}/{total:<4} {100.0 * total_pass / total:6.1f}%"
    )
