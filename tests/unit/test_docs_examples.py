"""Every Python and shell example of README.md and docs/ runs, or says why it cannot.

How a block is marked is described in tests/docs_blocks.py. Here: every block is
accounted for, the blocks that are parts of test files still are, and the Python
blocks run, page by page, in a scratch folder with the repository's layout. The
shell blocks run in tests/e2e/test_docs_shell.py.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.docs_blocks import PAGES, REPO, Block, blocks

LAYOUT = (".venv", "examples", "state_machines", "infra")

# What a snippet takes as given: run before it, in the page's namespace.
SETUPS = {
    "engine": """
definition = {
    "StartAt": "ChargePayment",
    "States": {
        "ChargePayment": {
            "Type": "Task",
            "Resource": "arn:aws:lambda:us-east-1:123456789012:function:ChargePayment",
            "End": True,
        }
    },
}

def handler(event, context):
    return {"orderId": event["orderId"], "charged": True}
""",
    "pass machine": """
definition = {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}
""",
    "a definition file": """
from pathlib import Path
text_or_dict = text = Path("state_machines/order_processing.asl.json").read_text()
""",
    "the local API": """
from workflows.local.app import LocalApp
from workflows.local.template import load_template
""",
}
# After the setup and the block, what must hold (the example did what it says).
CHECKS = {
    "engine": "assert result.status == 'SUCCEEDED' and result.output['charged'] is True",
    "pass machine": "assert result.status == 'SUCCEEDED'",
}
SHELL_SETUPS = ("own handlers",)  # defined in tests/e2e/test_docs_shell.py


def workspace(folder: Path) -> Path:
    """A scratch folder that looks like the repository to a command or a snippet."""
    for name in LAYOUT:
        (folder / name).symlink_to(REPO / name)
    return folder


ALL = blocks()


@pytest.mark.parametrize("block", ALL, ids=lambda b: b.id)
def test_every_example_runs_or_says_why_not(block: Block) -> None:
    assert block.kind != "unknown", f"{block.id}: unknown marker {block.marker!r}"
    if block.kind == "skip":
        assert len(block.argument) >= 15, f"{block.id}: say why it cannot run"
    elif block.kind == "part of":
        part_of = REPO / block.argument
        assert part_of.is_file(), f"{block.id}: no file {block.argument}"
        assert block.code in part_of.read_text(), f"{block.id} is not a part of {block.argument}"
    elif block.kind == "setup":
        known = SETUPS if block.language == "python" else SHELL_SETUPS
        assert block.argument in known, f"{block.id}: no setup {block.argument!r}"
    elif block.kind in ("with workflows up", "separate project"):
        assert block.language == "sh", f"{block.id}: only shell blocks run that way"


def test_the_pages_have_examples() -> None:
    assert {b.page.name for b in ALL} >= {"README.md", "howto-test-workflows.md"}
    assert len([b for b in ALL if b.kind == "part of"]) >= 4


@pytest.fixture
def scratch(tmp_path: Path) -> Iterator[Path]:
    here = Path.cwd()
    os.chdir(workspace(tmp_path))
    try:
        yield tmp_path
    finally:
        os.chdir(here)


PYTHON_PAGES = sorted(
    {b.page for b in ALL if b.language == "python" and b.kind in ("run", "setup")}
)


@pytest.mark.parametrize("page", PYTHON_PAGES, ids=lambda p: p.name)
def test_the_python_examples_of_a_page_run(page: Path, scratch: Path) -> None:
    namespace: dict[str, object] = {"__name__": f"docs.{page.stem}"}
    for block in [b for b in ALL if b.page == page and b.language == "python"]:
        if block.kind not in ("run", "setup"):
            continue
        if block.kind == "setup":
            exec(compile(SETUPS[block.argument], f"setup {block.argument}", "exec"), namespace)
        exec(compile(block.code, block.id, "exec"), namespace)
        if block.argument in CHECKS:
            exec(CHECKS[block.argument], namespace)


def test_a_broken_example_fails(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "Text.\n\n```python\nprint(undefined_name)\n```\n\n"
        "<!-- doc-test: skip: too short -->\n```sh\nfalse\n```\n"
        "<!-- doc-test: part of README.md -->\n```python\nnot in the readme\n```\n"
    )
    found = blocks([page])
    assert [(b.language, b.kind) for b in found] == [
        ("python", "run"),
        ("sh", "skip"),
        ("python", "part of"),
    ]
    with pytest.raises(NameError):
        exec(compile(found[0].code, found[0].id, "exec"), {})
    with pytest.raises(AssertionError, match="say why"):
        test_every_example_runs_or_says_why_not(found[1])
    with pytest.raises(AssertionError, match="is not a part of"):
        test_every_example_runs_or_says_why_not(found[2])


def test_pages_are_all_read() -> None:
    assert REPO / "README.md" in PAGES
    assert REPO / "docs" / "howto-test-workflows.md" in PAGES
