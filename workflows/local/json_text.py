"""JSON text that callers send (execution input, task output, request bodies), read as
AWS reads it: strictly.

Python's ``json.loads`` accepts ``NaN``/``Infinity``, which are not JSON and which AWS
refuses, and fails with a ``ValueError`` that is not a ``JSONDecodeError`` (an integer
of more than 4,300 digits) or a ``RecursionError`` (a document nested about 1,000 levels
deep). ``loads`` turns all of these into ``json.JSONDecodeError``, so every caller
answers them with its usual 400 instead of a 500.
"""

from __future__ import annotations

import json
from typing import Any, NoReturn

__all__ = ["loads"]


def loads(text: str | bytes) -> Any:
    """``json.loads`` that refuses what JSON does not allow, as ``JSONDecodeError``."""
    document = text.decode() if isinstance(text, bytes) else text

    def constant(name: str) -> NoReturn:
        raise json.JSONDecodeError(
            f"{name} is not a JSON value", document, max(document.find(name), 0)
        )

    try:
        return json.loads(document, parse_constant=constant)
    except json.JSONDecodeError:
        raise
    except RecursionError:
        raise json.JSONDecodeError("the JSON text is nested too deeply", document, 0) from None
    except ValueError as error:  # e.g. an integer longer than Python converts
        raise json.JSONDecodeError(f"a number is too long ({error})", document, 0) from None
