"""What ``bench.local_load`` reports: each accept's legs from the marks, and #14's
verdicts, judged only where the run's shape can tell."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from bench.local_load import Load, Noise, print_noise, print_verdicts, read_marks, read_spans


def test_an_order_s_marks_are_joined_by_trace_id_request_id_and_execution_name(
    tmp_path: Path,
) -> None:
    marks = tmp_path / "spans.log"
    marks.write_text(
        "10.010 0.5 api.received Root=1-a -\n"
        "10.011 0.5 pool.sent Root=1-a req-1\n"
        "10.012 1.0 sandbox.received req-1 ApiFunction\n"
        "10.013 1.1 http.sending req-1 3000\n"  # the JWKS, first: the last call counts
        "10.014 1.2 http.sending req-1 8083\n"
        "10.020 0.6 sfn.received ORD-1 \n"
        "10.030 1.3 sandbox.done req-1 \n"
        "10.031 0.7 api.replied Root=1-a \n"
        "10.040 0.8 api.received Root=1-other -\n"
    )
    load = Load(times={"ORD-1": (10.0, 10.005, 10.035)}, traces={"ORD-1": "Root=1-a"})
    load.accepted["ORD-1"] = "arn"
    orders = read_spans(read_marks(marks), load)
    assert orders["ORD-1"]["client.due"][0] == 10.0
    assert orders["ORD-1"]["api.received"] == (10.010, 0.5)
    assert orders["ORD-1"]["sandbox.received"] == (10.012, 1.0)
    assert orders["ORD-1"]["http.sending"] == (10.014, 1.2)
    assert orders["ORD-1"]["sfn.received"][0] == 10.020


def test_the_verdicts_judge_only_what_the_run_can_tell(capsys: pytest.CaptureFixture[str]) -> None:
    figures = {"accept p99": 0.084, "orders/s": 19.1, "CPU per order": 0.07, "idle CPU": 0.004}
    print_verdicts(figures, 20.0, killed=False)
    open_loop = capsys.readouterr().out
    assert "accept p99 < 0.1 s at 20/s: 0.084 s: PASS" in open_loop
    assert "orders/s end to end >= 20: 19.1, not judged" in open_loop  # the offer bounds it
    assert "CPU per order <= 0.1 s: 0.070 s: PASS" in open_loop
    assert "idle CPU after < 1% of a core: 0.40%: PASS" in open_loop

    print_verdicts({**figures, "accept p99": 2.4, "orders/s": 21.2, "idle CPU": 0.02}, None, False)
    closed_loop = capsys.readouterr().out
    assert "orders/s end to end >= 20: 21.2: PASS" in closed_loop
    assert "accept p99 < 0.1 s: 2.400 s, not judged" in closed_loop  # the clients' queue
    assert "idle CPU after < 1% of a core: 2.00%: FAIL" in closed_loop


def test_noise_is_busy_programs_in_sessions_of_their_own_stopped_with_the_load(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``--noise N``: N processes, each a session (an autogroup) of its own as another
    program is, using a core each while the load runs, and gone after it."""
    with Noise(2) as noise:
        pids = [process.pid for process in noise.processes]
        assert len(pids) == 2
        assert all(os.getsid(pid) == pid for pid in pids)  # each leads its own session
        assert all(os.getpriority(os.PRIO_PROCESS, pid) == 0 for pid in pids)
        began = time.monotonic()
        while noise.cpu_seconds() < 0.05 and time.monotonic() - began < 30:
            time.sleep(0.02)
        assert noise.cpu_seconds() >= 0.05  # busy, not sleeping
        print_noise(noise, 1.0)
    assert all(process.poll() is not None for process in noise.processes)
    assert "noise            2 CPU-bound process(es) at niceness 0" in capsys.readouterr().out
