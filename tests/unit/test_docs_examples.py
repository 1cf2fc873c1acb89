"""The how-to's Python examples are parts of a test file that runs, so they run as written."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HOWTO = REPO / "docs" / "howto-test-workflows.md"
EXAMPLE = REPO / "tests" / "examples" / "test_order_workflow.py"
BLOCK = re.compile(r"```python\n(.*?)```", re.S)


def test_every_python_block_of_the_testing_howto_is_part_of_the_example_tests() -> None:
    example = EXAMPLE.read_text()
    blocks = BLOCK.findall(HOWTO.read_text())
    assert len(blocks) >= 4
    for block in blocks:
        assert block in example, f"this block of {HOWTO.name} is not in {EXAMPLE.name}:\n{block}"


def test_every_python_block_of_the_distributed_map_howto_is_part_of_its_example_test() -> None:
    howto = REPO / "docs" / "howto-distributed-map.md"
    example = (REPO / "tests" / "examples" / "test_order_export_sweep.py").read_text()
    blocks = BLOCK.findall(howto.read_text())
    assert len(blocks) >= 3
    for block in blocks:
        assert block in example, f"this block of {howto.name} is not in the example test:\n{block}"
