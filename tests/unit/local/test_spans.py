"""Marks are written only when asked for (``WORKFLOWS_SPANS``), from every process."""

from __future__ import annotations

import multiprocessing
import os
import time
from pathlib import Path

import pytest

from workflows.local import spans


def _mark_in_child() -> None:
    spans.mark("child.early", "k")  # before the child opened the file itself: not written
    spans.enabled()
    spans.mark("child.marked", "k", "v")


def test_nothing_is_written_without_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(spans.SPANS_VARIABLE, raising=False)
    monkeypatch.setattr(spans, "_fd", None)
    assert not spans.enabled()
    assert not spans.active()
    spans.mark("api.received", "key")  # no file, no error
    assert list(tmp_path.iterdir()) == []


def test_marks_of_a_process_and_of_its_forked_child_go_to_one_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marks = tmp_path / "spans.log"
    monkeypatch.setenv(spans.SPANS_VARIABLE, str(marks))
    monkeypatch.setattr(spans, "_fd", None)
    try:
        before = time.monotonic()
        assert spans.enabled()
        spans.mark("parent.marked", "key", 12)
        child = multiprocessing.get_context("fork").Process(target=_mark_in_child)
        child.start()
        child.join(30)
        assert child.exitcode == 0
        spans.mark("parent.after", "key")
    finally:
        assert spans._fd is not None
        os.close(spans._fd)
    lines = [line.split(" ") for line in marks.read_text().splitlines()]
    assert [parts[2:] for parts in lines] == [
        ["parent.marked", "key", "12"],
        ["child.marked", "k", "v"],
        ["parent.after", "key", ""],
    ]
    moments = [float(parts[0]) for parts in lines]
    assert before <= moments[0] <= moments[1] <= moments[2] <= time.monotonic()
    assert all(float(parts[1]) >= 0 for parts in lines)  # the marking thread's CPU time
