"""The two ways an intrinsic call fails: when it is compiled, and when it runs.

``IntrinsicSyntaxError`` rejects the definition (validation reports it as
``INVALID_INTRINSIC_FUNCTION``); ``InvalidArguments`` is raised by a function body and
becomes AWS's ``States.Runtime`` error ``Invalid arguments in States.X`` in
``Intrinsic.evaluate``.
"""

from __future__ import annotations


class IntrinsicSyntaxError(ValueError):
    """An intrinsic call that cannot be compiled; the message names the problem and where."""

    def __init__(self, text: str, message: str, position: int) -> None:
        super().__init__(f"Invalid intrinsic function {text!r}: {message} at position {position}")
        self.text = text
        self.reason = message
        self.position = position


class InvalidArguments(Exception):
    """Raised by a function body; becomes AWS's ``Invalid arguments in States.X``."""

    def __init__(self, function: str) -> None:
        super().__init__(function)
        self.function = function
