"""Task ``SendPush``: one push notification through SNS mobile push.

The customer's ``pushToken`` is the device token; it is registered (idempotently)
as an endpoint of the platform application ``PUSH_PLATFORM_APPLICATION_ARN`` and
the message is published to that endpoint with per-platform payloads.

Input: one Map iteration ``{eventId, eventType, orderId, message}``. Output:
``{channel: "push", status: "SENT", messageId}``. Raises
``NotificationProviderUnavailable`` (transient: retried) or ``DeliveryRejected``
(also when push is not configured).
"""

from __future__ import annotations

import json

from tasks.common.aws import ClientError
from tasks.notifications.deps import NotificationDeps, SendRequest
from tasks.notifications.errors import DeliveryRejected
from tasks.notifications.sending import provider_error, send_task

__all__ = ["handler", "require_push_configured", "send_push"]


def require_push_configured(deps: NotificationDeps) -> str:
    """The platform application's ARN; ``DeliveryRejected`` when push is not configured.

    Checked before the idempotency record is taken: without a platform application
    nothing can be sent, so there is no effect to guard (and no record to delete).
    """
    platform_arn = deps.settings.push_platform_application_arn
    if not platform_arn:
        raise DeliveryRejected("push is not configured: PUSH_PLATFORM_APPLICATION_ARN is unset")
    return platform_arn


def send_push(request: SendRequest, deps: NotificationDeps) -> str:
    platform_arn = require_push_configured(deps)
    message = request.message
    title = message.subject or request.event_type
    payload = {
        "default": message.body,
        "GCM": json.dumps({"notification": {"title": title, "body": message.body}}),
        "APNS": json.dumps({"aps": {"alert": {"title": title, "body": message.body}}}),
    }
    try:
        endpoint = deps.sns.create_platform_endpoint(
            PlatformApplicationArn=platform_arn, Token=message.recipient
        )
        response = deps.sns.publish(
            TargetArn=endpoint["EndpointArn"],
            Message=json.dumps(payload),
            MessageStructure="json",
        )
    except ClientError as err:
        raise provider_error(err, "SNS") from err
    return str(response["MessageId"])


handler = send_task(
    channel="push", task_name="SendPush", send=send_push, check=require_push_configured
)
