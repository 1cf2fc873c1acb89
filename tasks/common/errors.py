"""Errors that every task domain shares; their class names are ASL error names.

``tasks/orders/errors.py`` says why the names matter. What is here is raised by
``tasks.common`` on behalf of any task, so it belongs to no one domain.
"""

from __future__ import annotations

__all__ = ["DuplicateRequestInProgress"]


class DuplicateRequestInProgress(Exception):
    """Another invocation with the same idempotency key holds it (its record is IN_PROGRESS).

    Either it is still running, or it died before finishing (a sandbox crash, a Lambda
    timeout, ``kill -9`` of ``workflows up``): its record then stays until the
    invocation's deadline, at most the function's ``Timeout`` after it started. The
    state machines retry this error with a back-off whose sum outlasts that timeout
    (a unit test checks it against the template), so the retry either gets the first
    invocation's result or, once the record expired, runs the task itself.
    Never a sign that the task failed: nothing may be compensated for it.
    """
