"""Task ``SendEmail``: one email through SES (``ses:SendEmail``), at most once per event.

Input: one Map iteration ``{eventId, eventType, orderId, message}``. Output:
``{channel: "email", status: "SENT", messageId}``. Raises
``NotificationProviderUnavailable`` (transient: retried) or ``DeliveryRejected``.
"""

from __future__ import annotations

from tasks.common.aws import ClientError
from tasks.notifications.deps import NotificationDeps, SendRequest
from tasks.notifications.sending import provider_error, send_task

__all__ = ["handler", "send_email"]


def send_email(request: SendRequest, deps: NotificationDeps) -> str:
    message = request.message
    try:
        response = deps.ses.send_email(
            Source=deps.settings.sender_email,
            Destination={"ToAddresses": [message.recipient]},
            Message={
                "Subject": {"Data": message.subject or request.event_type, "Charset": "UTF-8"},
                "Body": {"Text": {"Data": message.body, "Charset": "UTF-8"}},
            },
            Tags=[{"Name": "eventType", "Value": request.event_type}],
        )
    except ClientError as err:
        raise provider_error(err, "SES") from err
    return str(response["MessageId"])


handler = send_task(channel="email", task_name="SendEmail", send=send_email)
