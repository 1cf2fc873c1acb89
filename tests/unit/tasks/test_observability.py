"""The Tracer is real only on Lambda with tracing on; elsewhere it costs no X-Ray import."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tasks.common.observability import tracing_enabled

PROBE = (
    "import json, sys\n"
    "import tasks.common.observability as o\n"
    "print(json.dumps({'xray': 'aws_xray_sdk.core' in sys.modules, 'off': o.tracer.disabled}))\n"
)


def _probe(**environment: str) -> dict[str, bool]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LAMBDA_", "AWS_SAM"))}
    env.pop("POWERTOOLS_TRACE_DISABLED", None)
    env.update(environment)
    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, check=True
    )
    result: dict[str, bool] = json.loads(done.stdout)
    return result


def test_off_lambda_the_xray_sdk_is_not_imported() -> None:
    assert _probe() == {"xray": False, "off": True}


def test_on_lambda_with_tracing_the_real_tracer_is_built() -> None:
    assert _probe(LAMBDA_TASK_ROOT="/var/task") == {"xray": True, "off": False}


@pytest.mark.parametrize(
    ("environment", "enabled"),
    [
        ({}, False),
        ({"LAMBDA_TASK_ROOT": "/var/task"}, True),
        ({"LAMBDA_TASK_ROOT": "/var/task", "POWERTOOLS_TRACE_DISABLED": "true"}, False),
        ({"LAMBDA_TASK_ROOT": "/var/task", "POWERTOOLS_TRACE_DISABLED": "0"}, True),
        ({"LAMBDA_TASK_ROOT": "/var/task", "AWS_SAM_LOCAL": "true"}, False),
    ],
)
def test_tracing_follows_powertools_rule(
    monkeypatch: pytest.MonkeyPatch, environment: dict[str, str], enabled: bool
) -> None:
    for name in ("LAMBDA_TASK_ROOT", "POWERTOOLS_TRACE_DISABLED", "AWS_SAM_LOCAL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert tracing_enabled() is enabled
