"""The engine's own parsers, which validation uses to judge what they will later run.

An intrinsic call, a Choice rule or a timestamp is valid exactly when the engine
can compile or parse it, so validation asks the engine's modules (imported lazily)
rather than keeping a second grammar.
"""

from __future__ import annotations

from typing import Any


def intrinsic_module() -> Any:
    """``workflows.engine.intrinsics`` if it is available (imported lazily)."""
    try:
        from workflows.engine import intrinsics
    except ImportError:  # pragma: no cover - only while the module is being written
        return None
    return intrinsics


def choice_module() -> Any:
    try:
        from workflows.engine import choice
    except ImportError:  # pragma: no cover
        return None
    return choice


def is_timestamp(text: str) -> bool:
    choice = choice_module()
    if choice is None:  # pragma: no cover
        return True
    return bool(choice.parse_timestamp(text) is not None)
