"""Task ``SendSms``: one text message through SNS (``sns:Publish`` to a phone number).

Input: one Map iteration ``{eventId, eventType, orderId, message}``. Output:
``{channel: "sms", status: "SENT", messageId}``. Raises
``NotificationProviderUnavailable`` (transient: retried) or ``DeliveryRejected``.
"""

from __future__ import annotations

from tasks.common.aws import ClientError
from tasks.notifications.deps import NotificationDeps, SendRequest
from tasks.notifications.sending import provider_error, send_task

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


handler = send_task(channel="sms", task_name="SendSms", send=send_sms)
