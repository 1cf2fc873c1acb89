"""Every relative link of README.md and docs/ leads somewhere: a file, and a heading in it.

Pages move (docs/benchmarks.md's dated passes went to docs/benchmarks-history.md), and
a link into a moved section would otherwise break without a word.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PAGES = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")
FENCED = re.compile(r"^```.*?^```", re.S | re.M)
HEADING = re.compile(r"^#{1,6} (.*)$", re.M)


def anchor_of(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    return {anchor_of(h) for h in HEADING.findall(FENCED.sub("", page.read_text()))}


def test_anchor_of_follows_github() -> None:
    heading = "The console page (`bench/console_page.py`)"
    assert anchor_of(heading) == "the-console-page-benchconsole_pagepy"
    assert anchor_of("Latest figures (2026-11-25, `python -m bench`)") == (
        "latest-figures-2026-11-25-python--m-bench"
    )


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_relative_link_names_a_file_and_a_heading_it_has(page: Path) -> None:
    broken = []
    for target in LINK.findall(FENCED.sub("", page.read_text())):
        if re.match(r"[a-z]+:", target):  # https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        destination = (page.parent / path).resolve() if path else page
        if not destination.exists():
            broken.append(f"{target}: no such file")
        elif anchor and destination.suffix == ".md" and anchor not in anchors(destination):
            broken.append(f"{target}: no such heading")
    assert not broken, broken
