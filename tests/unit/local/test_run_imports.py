"""What ``make demo``'s process imports: nothing it does not run.

Every module a ``workflows run`` imports is compiled at each start where bytecode is
not cached (and executed everywhere): the Distributed Map's machinery, the process
sandboxes' pool, the integrations no Task of the demo's machines calls and moto's
server (Flask) stay out until something needs them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]

PROBE = """
import atexit, json, sys
out = sys.argv[1]
atexit.register(lambda: open(out, "w").write(json.dumps(sorted(sys.modules))))
sys.argv = ["workflows", "run", "order_processing", "--input", "@examples/order.json"]
from workflows.cli import program
program()
"""

NOT_IMPORTED = [
    "workflows.engine.states.distributed",
    "workflows.engine.states.item_reader",
    "workflows.engine.states.result_writer",
    "workflows.local.sandbox_pool",
    "workflows.integrations.stepfunctions",
    "workflows.integrations.sdk",
    "workflows.integrations.s3_items",
    "moto.moto_server.werkzeug_app",
    "flask",
    "moto.iam.access_control",
]


def test_the_demo_imports_only_what_it_runs(tmp_path: Path) -> None:
    modules_file = tmp_path / "modules.json"
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(modules_file)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "SUCCEEDED" in done.stdout
    modules = set(json.loads(modules_file.read_text()))
    assert "workflows.local.run" in modules  # the probe saw the run
    assert [name for name in NOT_IMPORTED if name in modules] == []
