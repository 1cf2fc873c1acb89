"""``${Name}`` placeholders that infrastructure code fills when it deploys a definition.

ASL files kept beside SAM, CloudFormation, CDK or Terraform carry placeholders that
the deployment fills: SAM and CloudFormation ``DefinitionSubstitutions``, CDK's
``definitionSubstitutions``, Terraform's ``templatefile``, and CloudFormation's
pseudo-parameters (``${AWS::Partition}``, ``${AWS::Region}``, ``${AWS::AccountId}``).
AWS itself never sees them; a file validated before deployment does.

When validation is asked to understand placeholders (``placeholders=True``), a
value that holds one is checked as far as it can be: a partition placeholder
stands for ``aws``, a region or account placeholder inside an ARN for a region or
an account, and a value that is a placeholder and nothing else (a whole Resource,
``"TimeoutSeconds": "${Timeout}"``) is accepted as anything, with a note saying so.
"""

from __future__ import annotations

import re
from typing import Any, Final

__all__ = [
    "PLACEHOLDER",
    "fill_arn",
    "fill_placeholders",
    "has_placeholder",
    "is_whole_placeholder",
    "pseudo_value",
    "quote_bare_placeholders",
]

# ${Name}, ${AWS::Region}, ${Resource.Arn}; not ${!Literal} (CloudFormation's escape).
PLACEHOLDER: Final = re.compile(r"\$\{([A-Za-z0-9_][A-Za-z0-9_.:-]*)\}")

STAND_IN_PARTITION: Final = "aws"
STAND_IN_REGION: Final = "us-east-1"
STAND_IN_ACCOUNT: Final = "123456789012"

_PSEUDO: Final = {
    "awspartition": STAND_IN_PARTITION,
    "partition": STAND_IN_PARTITION,
    "awsregion": STAND_IN_REGION,
    "region": STAND_IN_REGION,
    "awsaccountid": STAND_IN_ACCOUNT,
    "accountid": STAND_IN_ACCOUNT,
    "account": STAND_IN_ACCOUNT,
    "awsurlsuffix": "amazonaws.com",
}


def has_placeholder(value: Any) -> bool:
    return isinstance(value, str) and "${" in value and PLACEHOLDER.search(value) is not None


def is_whole_placeholder(value: Any) -> bool:
    return isinstance(value, str) and PLACEHOLDER.fullmatch(value) is not None


def pseudo_value(name: str) -> str | None:
    """The stand-in of a pseudo-parameter (``AWS::Partition``, ``partition``, ...), if it is one."""
    return _PSEUDO.get(re.sub(r"[^a-z]", "", name.lower()))


def fill_placeholders(text: str) -> str:
    """``text`` with each placeholder replaced by a plain name (or a pseudo-parameter's
    stand-in), to check the syntax around it."""
    return PLACEHOLDER.sub(lambda m: pseudo_value(m.group(1)) or "Placeholder", text)


# Which part of an ARN a placeholder sits in decides its stand-in: arn:PARTITION:
# SERVICE:REGION:ACCOUNT:... (segments 1, 3 and 4).
_SEGMENT_STAND_INS: Final = {1: STAND_IN_PARTITION, 3: STAND_IN_REGION, 4: STAND_IN_ACCOUNT}


def fill_arn(text: str) -> tuple[str, list[str], bool]:
    """An ARN with placeholders, filled with stand-ins so that its shape can be checked.

    Returns the filled text, the names of the placeholders filled, and whether a
    placeholder stands where the service integration or function is named (from the
    sixth segment on), so that only the ARN's shape can be judged, not its target.
    """
    names: list[str] = []
    opaque = False
    out: list[str] = []
    last = 0
    for match in PLACEHOLDER.finditer(text):
        out.append(text[last : match.start()])
        segment = "".join(out).count(":")
        name = match.group(1)
        names.append(name)
        value = _SEGMENT_STAND_INS.get(segment) or pseudo_value(name)
        if value is None:
            # At the start the whole ARN is unknown; from the sixth segment on, its target.
            opaque = opaque or segment == 0 or segment >= 5
            value = "Placeholder"
        out.append(value)
        last = match.end()
    out.append(text[last:])
    return "".join(out), names, opaque


# A placeholder outside a JSON string (``"TimeoutSeconds": ${Timeout}``), which makes
# the text invalid JSON until it is filled: a string literal or a bare placeholder.
_BARE: Final = re.compile(r'"(?:[^"\\]|\\.)*"|' + PLACEHOLDER.pattern)


def quote_bare_placeholders(text: str) -> tuple[str, list[str]]:
    """The text with every placeholder that stands outside a string put in quotes."""
    quoted: list[str] = []

    def fill(match: re.Match[str]) -> str:
        if match.group(0).startswith('"'):
            return match.group(0)
        quoted.append(match.group(1))
        return f'"{match.group(0)}"'

    return _BARE.sub(fill, text), quoted
