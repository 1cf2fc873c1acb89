"""json_text.loads: what is not JSON, or what Python cannot read, is a JSONDecodeError."""

from __future__ import annotations

import json

import pytest

from workflows.local import json_text


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('{"a": NaN}', "NaN is not a JSON value"),
        ('{"a": -Infinity}', "-Infinity is not a JSON value"),
        ('{"a": ' + "9" * 4301 + "}", "a number is too long"),
        ("[" * 5000 + "]" * 5000, "nested too deeply"),
        ('{"a": }', "Expecting value"),
    ],
)
def test_what_json_does_not_allow_is_a_decode_error(text: str, problem: str) -> None:
    with pytest.raises(json.JSONDecodeError) as info:
        json_text.loads(text)
    assert problem in str(info.value)


def test_json_reads_as_json() -> None:
    assert json_text.loads(b'{"a": [1, 2.5, "NaN", null]}') == {"a": [1, 2.5, "NaN", None]}
