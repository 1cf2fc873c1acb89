"""Definition diagnostics in the shape of AWS ValidateStateMachineDefinition.

Each problem carries a code, a message and the JSON pointer of the offending field
(``/States/Charge/Next``), and a definition reports all of its problems at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["DefinitionError", "Diagnostic", "pointer"]


@dataclass(frozen=True, slots=True)
class Diagnostic:
    code: str
    message: str
    location: str
    # ERROR: AWS refuses the definition. WARNING: AWS accepts it but says something
    # (ValidateStateMachineDefinition's warnings). NOTE: the project's own remark,
    # e.g. a deployment placeholder accepted without being checked.
    severity: Literal["ERROR", "WARNING", "NOTE"] = "ERROR"

    def __str__(self) -> str:
        return f"{self.location or '/'}: {self.code}: {self.message}"


class DefinitionError(ValueError):
    """A state machine definition AWS would refuse; ``diagnostics`` lists every problem."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = diagnostics
        lines = "\n".join(f"  {d}" for d in diagnostics)
        count = len(diagnostics)
        super().__init__(f"invalid state machine definition ({count} problem(s)):\n{lines}")


def pointer(*parts: str | int) -> str:
    """A JSON pointer (RFC 6901) to ``parts``: ``pointer("States", "A/B")`` is ``/States/A~1B``."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)
