"""State machine definitions on disk: finding them and filling their ``${...}`` placeholders.

Definitions in ``state_machines/`` carry ``${Name}`` placeholders that SAM's
DefinitionSubstitutions and Terraform's templatefile fill on deployment. To run them
locally they are filled from explicit values, or (to test with mocks) with stand-ins
of the right shape: a Lambda ARN for ``...FunctionArn``, a queue URL for ``...Url``, a
number for ``...Threshold``. To validate them, ``fill`` gives the values known and
leaves the rest for validation to understand as placeholders.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

__all__ = [
    "PLACEHOLDER",
    "DefinitionNotFound",
    "MissingSubstitutions",
    "fill",
    "find_definition",
    "parse_substitutions",
    "stand_in",
    "substitute",
]

PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_.:-]+)\}")


class DefinitionNotFound(LookupError):
    """No such file and no such name in state_machines/; the message lists the known ones."""


class MissingSubstitutions(ValueError):
    """Placeholders without a value; ``names`` lists them."""

    def __init__(self, names: list[str]) -> None:
        super().__init__("the definition has placeholders without a value: " + ", ".join(names))
        self.names = names


def find_definition(reference: str | Path, root: Path = Path(".")) -> Path:
    """A path to a definition, or a name looked up as ``state_machines/NAME.asl.json``."""
    path = Path(reference)
    if path.is_file():
        return path
    folder = root / "state_machines"
    for candidate in (folder / f"{reference}.asl.json", folder / f"{reference}.json"):
        if candidate.is_file():
            return candidate
    known = sorted(p.name.removesuffix(".asl.json") for p in folder.glob("*.asl.json"))
    hint = f"; known names: {', '.join(known)}" if known else ""
    raise DefinitionNotFound(
        f"no file {str(reference)!r} and no state_machines/{reference}.asl.json{hint}"
    )


def substitute(text: str, values: Mapping[str, str], *, stand_ins: bool = False) -> str:
    """Fill every placeholder from ``values`` (else a stand-in, if asked; else an error)."""
    missing = sorted({m for m in PLACEHOLDER.findall(text) if m not in values})
    if missing and not stand_ins:
        raise MissingSubstitutions(missing)

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        return values[name] if name in values else stand_in(name)

    return PLACEHOLDER.sub(fill, text)


def fill(text: str, values: Mapping[str, str]) -> str:
    """Fill the placeholders ``values`` names and leave the others as they are (to
    validate a definition whose remaining placeholders the deployment fills)."""
    if not values or "${" not in text:
        return text
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def parse_substitutions(pairs: list[str] | tuple[str, ...]) -> dict[str, str]:
    """``Name=value`` pairs (``--sub``); a pair without ``=`` is a ValueError naming it."""
    values: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise ValueError(f"--sub {pair!r} is not Name=value")
        values[name] = value
    return values


def stand_in(name: str) -> str:
    """A value with the shape the placeholder's name promises."""
    lowered = name.lower()
    if lowered.endswith("functionarn"):
        return f"arn:aws:lambda:us-east-1:123456789012:function:{name[: -len('Arn')]}"
    if lowered.endswith("statemachinearn"):
        return f"arn:aws:states:us-east-1:123456789012:stateMachine:{name}"
    if lowered.endswith("url"):
        return f"https://sqs.us-east-1.amazonaws.com/123456789012/{name}"
    if lowered.endswith("arn"):
        return f"arn:aws:sns:us-east-1:123456789012:{name}"
    if lowered.endswith(("threshold", "seconds", "count")):
        return "1"
    return name
