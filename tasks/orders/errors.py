"""Errors of the order domain whose class names are ASL error names.

When a Lambda raises, Step Functions reports ``Error`` = the exception's class
name and ``Cause`` = ``{"errorMessage", "errorType", "stackTrace"}``. The state
machines match these names verbatim in ``Retry``/``Catch`` ``ErrorEquals``, so a
class here must never be renamed without changing the definitions (a unit test
checks that every custom name used in ``state_machines/`` is defined here, in
``tasks/notifications/errors.py`` or, for the errors every domain shares
(``DuplicateRequestInProgress``), in ``tasks/common/errors.py``).
"""

from __future__ import annotations

__all__ = [
    "TRANSIENT_ERRORS",
    "ApprovalRejected",
    "DuplicateOrder",
    "InvalidOrder",
    "InventoryUnavailable",
    "OrderError",
    "OutOfStock",
    "PaymentDeclined",
    "PaymentProviderUnavailable",
]


class OrderError(Exception):
    """Base of the order domain's errors (never matched by name itself)."""


class InvalidOrder(OrderError):
    """The order cannot be accepted as sent: bad fields, unknown product, wrong currency.

    Permanent: the workflow rejects the order with this message as the reason.
    """

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or [message]


class DuplicateOrder(InvalidOrder):
    """Another execution already placed an order with this id.

    This execution must change nothing: the order is not rejected (it belongs to the
    other execution, and may well be confirmed) and no OrderRejected is published.
    """


class OutOfStock(OrderError):
    """Not enough stock for a line of the order. Permanent: the order is rejected."""

    def __init__(self, product_id: str, requested: int | None = None) -> None:
        detail = f" (requested {requested})" if requested is not None else ""
        super().__init__(f"product {product_id!r} is out of stock{detail}")
        self.product_id = product_id


class InventoryUnavailable(OrderError):
    """The inventory store throttled or conflicted. Transient: retried with back-off."""


class PaymentDeclined(OrderError):
    """The payment provider declined the charge. Permanent: inventory is released."""


class PaymentProviderUnavailable(OrderError):
    """The payment provider failed transiently. Retried with back-off and jitter."""


class ApprovalRejected(OrderError):
    """A human rejected the order.

    Never raised by a Lambda: the approval API sends it with ``SendTaskFailure``
    (``error="ApprovalRejected"``) to the execution waiting on the task token.
    """


TRANSIENT_ERRORS: tuple[type[OrderError], ...] = (InventoryUnavailable, PaymentProviderUnavailable)
