"""Errors of the notification domain whose class names are ASL error names.

See ``tasks/orders/errors.py`` for why the class names matter.
"""

from __future__ import annotations

__all__ = [
    "DeliveryRejected",
    "InvalidNotificationEvent",
    "NotificationError",
    "NotificationProviderUnavailable",
]


class NotificationError(Exception):
    """Base of the notification domain's errors."""


class InvalidNotificationEvent(NotificationError):
    """The event or message a notification task received is malformed. Permanent."""


class NotificationProviderUnavailable(NotificationError):
    """SES or SNS throttled or failed transiently. Retried with back-off and jitter."""


class DeliveryRejected(NotificationError):
    """The provider refused the message (bad address, unverified sender, opted out).

    Permanent: the channel is recorded as failed, the other channels go on.
    """
