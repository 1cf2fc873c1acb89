"""The README's main command works as a newcomer runs it."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(
    not (REPO / ".venv" / ".installed").exists(), reason="the README path installs .venv first"
)
def test_make_demo_runs_the_sample_workflow() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE")}
    done = subprocess.run(
        ["make", "--no-print-directory", "demo"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "SUCCEEDED" in done.stdout
    assert "Output:" in done.stdout


def test_readme_names_the_two_commands_and_ci_runs_the_test_one() -> None:
    readme = (REPO / "README.md").read_text()
    assert "make demo" in readme
    assert "make check" in readme
    assert "make check" in (REPO / ".ci" / "run").read_text()
