"""Without ../shared/asl-conformance the conformance run says so: skipped, or failed on CI.

The conformance modules run in a pytest of their own here, pointed at a directory
that does not exist, and what a person reads at the end of that run is checked.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conformance import cases

REPO = Path(__file__).resolve().parents[2]
MODULES = ["tests/conformance/test_conformance.py", "tests/conformance/test_histories.py"]
ON_CI = ("CI", "WORKFLOWS_REQUIRE_CONFORMANCE")  # .ci/run sets the second


def _pytest(conformance_dir: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST") and k not in ON_CI}
    env.update(WORKFLOWS_CONFORMANCE_DIR=str(conformance_dir), **extra)
    return subprocess.run(
        [sys.executable, "-m", "pytest", *MODULES],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_without_the_cases_the_run_passes_and_its_summary_says_what_did_not_run(
    tmp_path: Path,
) -> None:
    absent = tmp_path / "asl-conformance"
    done = _pytest(absent)
    assert done.returncode == 0, done.stdout + done.stderr
    line = f"conformance: not run: {absent} not found, set WORKFLOWS_CONFORMANCE_DIR"
    assert line in done.stdout.splitlines()
    assert "skipped" in done.stdout.splitlines()[-1]
    assert "passed" not in done.stdout.splitlines()[-1]


@pytest.mark.parametrize("variable", ON_CI)
def test_on_ci_missing_cases_fail_the_run_naming_the_directory(
    tmp_path: Path, variable: str
) -> None:
    absent = tmp_path / "asl-conformance"
    done = _pytest(absent, **{variable: "true"})
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"conformance not run on CI: {absent} not found" in done.stdout
    assert f"conformance: not run: {absent} not found" in done.stdout
    assert "failed" in done.stdout.splitlines()[-1]


def test_a_directory_without_histories_names_the_missing_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "cases.jsonl").write_text("")
    monkeypatch.setattr(cases, "CASES_DIR", tmp_path)
    for variable in ON_CI:
        monkeypatch.delenv(variable, raising=False)
    assert cases.not_run() == [
        f"conformance histories: not run: {tmp_path / 'histories.jsonl'} not found, "
        "set WORKFLOWS_CONFORMANCE_DIR"
    ]
    monkeypatch.setenv("CI", "false")
    assert not cases.must_run()
    monkeypatch.setenv("WORKFLOWS_REQUIRE_CONFORMANCE", "1")
    assert cases.must_run()
