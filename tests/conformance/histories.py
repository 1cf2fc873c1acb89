"""The event histories AWS recorded for the shared cases (``histories.jsonl``), and the
comparison of ours with them through ``history_check.py`` from the same folder."""

from __future__ import annotations

import importlib.util
import json
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from tests.conformance.cases import CASES_DIR, Case

KNOWN_HISTORY_DIVERGENCES = Path(__file__).with_name("known_history_divergences.json")


@dataclass(frozen=True)
class HistoryEntry:
    id: str
    raw: dict[str, Any]


def load_entries() -> list[HistoryEntry]:
    path = CASES_DIR / "histories.jsonl"
    if not path.exists():
        return []
    entries = []
    for line in path.read_text().splitlines():
        if line.strip():
            raw = json.loads(line)
            entries.append(HistoryEntry(raw["id"], raw))
    return entries


def known_divergences() -> dict[str, str]:
    data: dict[str, str] = json.loads(KNOWN_HISTORY_DIVERGENCES.read_text())
    return data


def checker() -> ModuleType:
    """``history_check.py`` as shipped beside the recordings (read-only material)."""
    spec = importlib.util.spec_from_file_location("history_check", CASES_DIR / "history_check.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def map_run_transformers(events: list[dict[str, Any]]) -> list[list[str]]:
    """What LocalStack's map-run ARN transformer did to the recordings, applied to our own
    values: the generated parts of each map run ARN become the recording's placeholders
    (a Label the definition chose is kept, as the recording kept it)."""
    transformers: list[list[str]] = []
    for event in events:
        details = event.get("mapRunStartedEventDetails")
        if not details:
            continue
        label, run_id = details["mapRunArn"].split(":mapRun:", 1)[1].split("/", 1)[1].split(":")
        try:
            uuid.UUID(label)
        except ValueError:
            pass
        else:
            transformers.append([re.escape(label), "<MapRunArnPart0_0idx>"])
        transformers.append([re.escape(run_id), "<MapRunArnPart1_0idx>"])
    return transformers


def history_mismatch(entry: HistoryEntry, case: Case, run: Any) -> str | None:
    """None when our history of ``case`` is the one AWS recorded, else the two, normalized."""
    check = checker()
    result = run(case, machine_name=check.STATE_MACHINE_NAME, name=check.EXECUTION_NAME)
    events = result.history
    raw = dict(entry.raw)
    raw["text_transformers"] = list(raw.get("text_transformers") or []) + map_run_transformers(
        events
    )
    matched, got = check.history_matches(raw, events, execution_arn=result.execution_arn)
    if matched:
        return None
    expected = "\n".join(json.dumps(e, sort_keys=True) for e in entry.raw["expected_history"])
    ours = "\n".join(json.dumps(e, sort_keys=True) for e in got)
    return f"history differs from AWS's\n--- AWS\n{expected}\n--- ours\n{ours}"
