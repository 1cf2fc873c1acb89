"""What ``workflows validate`` prints: text for people, JSON for scripts, SARIF for code scanning.

SARIF 2.1.0 is what GitHub code scanning (``github/codeql-action/upload-sarif``) and
most editors read: each problem becomes a result on the line and column of the
field it is about, with its JSON pointer kept as the logical location.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote

from workflows.engine.diagnostics import Diagnostic

__all__ = ["Finding", "render_json", "render_sarif", "render_text"]

SARIF_SCHEMA: Final = "https://json.schemastore.org/sarif-2.1.0.json"
_SARIF_LEVEL: Final = {"ERROR": "error", "WARNING": "warning", "NOTE": "note"}


@dataclass(frozen=True)
class Finding:
    """One diagnostic of one definition, placed in a file."""

    definition: str  # the definition's label: a path, or "template.yaml: Resources/Name"
    file: Path
    diagnostic: Diagnostic
    line: int | None
    column: int | None


def render_text(findings: list[Finding]) -> str:
    """``file:line:column: SEVERITY CODE: message (at /pointer)``, one per line."""
    lines = []
    for f in findings:
        d = f.diagnostic
        place = f.file.as_posix()
        if f.line is not None:
            place += f":{f.line}:{f.column or 1}"
        where = d.location or "/"
        origin = "" if f.definition == f.file.as_posix() else f" [{f.definition}]"
        lines.append(f"{place}: {d.severity} {d.code}: {d.message} (at {where}){origin}")
    return "\n".join(lines)


def render_json(findings: list[Finding], checked: list[str]) -> str:
    payload = {
        "definitions": checked,
        "valid": not any(f.diagnostic.severity == "ERROR" for f in findings),
        "diagnostics": [
            {
                "definition": f.definition,
                "file": f.file.as_posix(),
                "line": f.line,
                "column": f.column,
                "severity": f.diagnostic.severity,
                "code": f.diagnostic.code,
                "message": f.diagnostic.message,
                "location": f.diagnostic.location,
            }
            for f in findings
        ],
    }
    return json.dumps(payload, indent=2)


def render_sarif(findings: list[Finding], version: str) -> str:
    codes = sorted({f.diagnostic.code for f in findings})
    rules = [
        {
            "id": code,
            "name": code.title().replace("_", ""),
            "shortDescription": {"text": code.replace("_", " ").capitalize()},
            "helpUri": "https://docs.aws.amazon.com/step-functions/latest/apireference/"
            "API_ValidateStateMachineDefinition.html",
        }
        for code in codes
    ]
    results = []
    for f in findings:
        d = f.diagnostic
        # a URI reference: repository-relative when the path is (what code scanning wants)
        uri = quote(f.file.as_posix())
        physical: dict[str, Any] = {"artifactLocation": {"uri": uri}}
        if f.line is not None:
            physical["region"] = {"startLine": f.line, "startColumn": f.column or 1}
        results.append(
            {
                "ruleId": d.code,
                "ruleIndex": codes.index(d.code),
                "level": _SARIF_LEVEL.get(d.severity, "note"),
                "message": {"text": d.message},
                "locations": [
                    {
                        "physicalLocation": physical,
                        "logicalLocations": [
                            {"fullyQualifiedName": d.location or "/", "kind": "member"}
                        ],
                    }
                ],
                "properties": {"definition": f.definition, "jsonPointer": d.location or "/"},
            }
        )
    log = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "workflows validate",
                        "version": version,
                        "informationUri": "https://states-language.net/spec.html",
                        "rules": rules,
                    }
                },
                "results": results,
            }
        ],
    }
    return json.dumps(log, indent=2)
