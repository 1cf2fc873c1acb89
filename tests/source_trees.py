"""``ast.parse`` on a thread of its own, for the tests that read the project's source.

CPython 3.11 can miscount the AST constructor's recursion depth on a thread where a
``RecursionError`` was raised and caught before (python/cpython#106905; pytest met it
too, pytest-dev/pytest#10763): ``ast.parse`` then fails with "SystemError: AST
constructor recursion depth mismatch". The engine's tests provoke JSONata's stack
overflow on the main thread on purpose, so a test that parses source after them would
fail by the order the tests ran in. A new thread starts with a clean count.
"""

from __future__ import annotations

import ast
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

__all__ = ["parse_file"]


def parse_file(path: Path) -> ast.Module:
    """The module's syntax tree, parsed on a fresh thread."""
    source = path.read_text(encoding="utf-8")
    with ThreadPoolExecutor(max_workers=1) as fresh:
        return fresh.submit(ast.parse, source, str(path)).result()
