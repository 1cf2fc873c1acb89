"""Task ``SendSms``: one text message through SNS (``sns:Publish`` to a phone number).

Input: one Map iteration ``{eventId, eventType, orderId, message}``. Output:
``{channel: "sms", status: "SENT", messageId}``. Raises
``NotificationProviderUnavailable`` (transient: retried) or ``DeliveryRejected``.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from tasks.common.aws import ClientError
from tasks.common.observability import logger, metrics, tracer
from tasks.notifications.deps import NotificationDeps, SendRequest
from tasks.notifications.sending import provider_error, send_once

__all__ = ["handler", "send_sms"]


def send_sms(request: SendRequest, deps: NotificationDeps) -> str:
    try:
        response = deps.sns.publish(
            PhoneNumber=request.message.recipient,
            Message=request.message.body,
            MessageAttributes={
                "AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"},
                "AWS.SNS.SMS.SenderID": {
                    "DataType": "String",
                    "StringValue": deps.settings.sms_sender_id,
                },
            },
        )
    except ClientError as err:
        raise provider_error(err, "SNS") from err
    return str(response["MessageId"])


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(
    event: dict[str, Any], context: LambdaContext, deps: NotificationDeps | None = None
) -> dict[str, Any]:
    return send_once(
        event,
        context,
        deps or NotificationDeps.from_settings(),
        channel="sms",
        task_name="SendSms",
        send=send_sms,
    )
