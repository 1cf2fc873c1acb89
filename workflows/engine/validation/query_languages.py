"""The two query languages, and the fields that only one of them allows.

A JSONata state has no InputPath, Parameters, ResultPath...; a JSONPath state has no
Arguments, Output or Items. A message about a misplaced JSONPath field names its
JSONata replacement.
"""

from __future__ import annotations

from typing import Final

JSONPATH: Final = "JSONPath"
JSONATA: Final = "JSONata"
LANGUAGES: Final = (JSONPATH, JSONATA)

JSONPATH_ONLY: Final = frozenset(
    {
        "InputPath",
        "OutputPath",
        "Parameters",
        "ResultSelector",
        "ResultPath",
        "Result",
        "ItemsPath",
        "SecondsPath",
        "TimestampPath",
        "ErrorPath",
        "CausePath",
        "TimeoutSecondsPath",
        "HeartbeatSecondsPath",
        "MaxConcurrencyPath",
        "ToleratedFailureCountPath",
        "ToleratedFailurePercentagePath",
    }
)
JSONATA_ONLY: Final = frozenset({"Arguments", "Output", "Items"})

JSONATA_REPLACEMENTS: Final[dict[str, str]] = {
    "InputPath": "; read the input through $states.input in Arguments or Output",
    "OutputPath": "; shape the output with Output",
    "Parameters": "; use Arguments",
    "ResultSelector": "; use Output with $states.result",
    "ResultPath": "; use Output or Assign",
    "Result": "; use Output",
    "ItemsPath": "; use Items",
}
