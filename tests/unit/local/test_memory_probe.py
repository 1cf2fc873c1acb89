"""The memory probe `workflows up` answers SIGUSR1 with under WORKFLOWS_MEMORY_PROFILE."""

from __future__ import annotations

import json
import os
import signal
import tracemalloc
from pathlib import Path

import pytest

from bench.memory_growth import report
from workflows.local import memory_probe


def test_nothing_is_installed_without_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(memory_probe.ENVIRONMENT, raising=False)
    assert memory_probe.install_from_environment() is False


def test_a_probe_records_rss_objects_and_what_a_collection_and_trim_give_back(
    tmp_path: Path,
) -> None:
    path = memory_probe.probe(tmp_path, 1)
    record = json.loads(path.read_text())
    assert record["rss_mb"] > 0
    assert record["rss_after_trim_mb"] > 0
    assert record["pymalloc"]["arenas"] >= 1
    assert any(name == "builtins.dict" for name, _ in record["objects_after_collect"])
    assert record["mappings"]


def test_sigusr1_writes_numbered_probes_that_the_bench_compares(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(memory_probe.ENVIRONMENT, str(tmp_path))
    monkeypatch.setenv("WORKFLOWS_MEMORY_FRAMES", "1")
    previous = signal.getsignal(signal.SIGUSR1)
    try:
        assert memory_probe.install_from_environment() is True
        os.kill(os.getpid(), signal.SIGUSR1)
        kept = [bytearray(1000) for _ in range(1000)]
        os.kill(os.getpid(), signal.SIGUSR1)
    finally:
        tracemalloc.stop()
        signal.signal(signal.SIGUSR1, previous)
    assert (tmp_path / "probe-2.tracemalloc").exists()
    text = report(tmp_path)
    assert "probe 2: RSS" in text
    assert "test_memory_probe.py" in text  # the bytearrays' line is among the growth
    assert len(kept) == 1000
