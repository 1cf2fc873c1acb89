"""The fenced Python and shell examples of README.md and docs/*.md, and how each one runs.

A block runs as it is written unless the line right before its fence is a marker,
an HTML comment that renders as nothing:

- ``<!-- doc-test: skip: REASON -->``: not runnable (it deploys to AWS, needs an
  execution that only AWS has, runs until stopped, ...); the reason is required.
- ``<!-- doc-test: part of PATH -->``: the block is a piece of the file PATH (a test
  file of this suite that runs); the block's text must be found in it.
- ``<!-- doc-test: setup NAME -->``: run after the setup NAME that the docs tests
  define (the names the snippet takes as given, or files a command reads).
- ``<!-- doc-test: with workflows up -->`` (shell): run against a running
  ``workflows up`` (tests/e2e/test_docs_shell.py starts one, on free ports that
  replace the documented 3000 and 8083).
- ``<!-- doc-test: separate project -->`` (shell): run from a separate project
  that installs this one (tests/e2e/test_docs_shell.py makes one).

Python blocks of one page run in order in one namespace, so a later block may use
what an earlier one defined; shell blocks run with bash in a scratch copy of the
repository's layout (``.venv``, ``examples``, ``state_machines``, ``infra``), so
what they write stays out of the repository.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
LANGUAGES = {"python": "python", "py": "python", "sh": "sh", "bash": "sh", "shell": "sh"}
FENCE = re.compile(r"^```([\w-]*)[^\n]*\n(.*?)^```[ \t]*$", re.S | re.M)
MARKER = re.compile(r"<!--\s*doc-test:\s*(.*?)\s*-->\s*$")
KINDS = ("skip", "part of", "setup", "with workflows up", "separate project")


@dataclass(frozen=True)
class Block:
    page: Path
    line: int
    language: str  # python | sh
    code: str
    marker: str  # "" (runs as written) or the text after "doc-test:"

    @property
    def id(self) -> str:
        page = self.page.relative_to(REPO) if self.page.is_relative_to(REPO) else self.page
        return f"{page}:{self.line}"

    @property
    def kind(self) -> str:
        if not self.marker:
            return "run"
        return next((k for k in KINDS if self.marker.startswith(k)), "unknown")

    @property
    def argument(self) -> str:
        """What follows the kind: a reason, a path or a setup name."""
        return self.marker[len(self.kind) :].lstrip(" :—-").strip()


def blocks(pages: list[Path] = PAGES) -> list[Block]:
    """Every Python and shell block of ``pages``, with the marker before it, if any."""
    found: list[Block] = []
    for page in pages:
        text = page.read_text()
        for match in FENCE.finditer(text):
            language = LANGUAGES.get(match.group(1).lower())
            if language is None:
                continue
            before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
            marker = MARKER.search(before)
            found.append(
                Block(
                    page,
                    text.count("\n", 0, match.start()) + 1,
                    language,
                    match.group(2),
                    marker.group(1) if marker else "",
                )
            )
    return found
