from __future__ import annotations

import copy
from dataclasses import replace
from typing import Any

import boto3
import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends
from moto.sns.models import sns_backends

from tasks.notifications import (
    load_preferences,
    record_deliveries,
    render_message,
    send_email,
    send_push,
    send_sms,
)
from tasks.notifications.errors import DeliveryRejected, InvalidNotificationEvent

REGION = "eu-west-1"  # the conftest's region


@pytest.fixture
def confirmed_event(fixture: Any) -> dict[str, Any]:
    return fixture("order_confirmed_event.json")


@pytest.fixture
def verified_sender(aws: None) -> None:
    boto3.client("ses", region_name=REGION).verify_email_identity(
        EmailAddress="orders@shop.example.com"
    )


def _state_with_messages(event: dict[str, Any], deps: Any, context: Any) -> dict[str, Any]:
    state = copy.deepcopy(event)
    state["preferences"] = load_preferences.handler(state, context, deps=deps)
    state["rendered"] = render_message.handler(state, context, deps=deps)
    return state


def _iteration(state: dict[str, Any], channel: str) -> dict[str, Any]:
    """What the Map's ItemSelector builds for one channel."""
    message = next(m for m in state["rendered"]["messages"] if m["channel"] == channel)
    return {
        "eventId": state["id"],
        "eventType": state["detail-type"],
        "orderId": state["detail"]["orderId"],
        "message": message,
    }


def test_preferences_are_loaded_for_the_events_customer(
    confirmed_event: dict[str, Any], notification_deps: Any, lambda_context: Any
) -> None:
    result = load_preferences.handler(confirmed_event, lambda_context, deps=notification_deps)
    assert result == {
        "customerId": "CUST-1001",
        "email": "ada@example.com",
        "phone": "+441234567890",
        "pushToken": "device-token-ada-0001",
        "channels": ["email", "sms", "push"],
        "locale": "en",
    }


def test_an_unknown_customer_gets_no_channels(
    confirmed_event: dict[str, Any], notification_deps: Any, lambda_context: Any
) -> None:
    confirmed_event["detail"]["customerId"] = "CUST-NOBODY"
    result = load_preferences.handler(confirmed_event, lambda_context, deps=notification_deps)
    assert result["channels"] == []
    assert result["email"] is None


def test_a_malformed_event_is_a_clear_error(notification_deps: Any, lambda_context: Any) -> None:
    with pytest.raises(InvalidNotificationEvent, match="detail-type: Field required"):
        load_preferences.handler({"id": "x", "detail": {}}, lambda_context, deps=notification_deps)


def test_messages_are_rendered_per_channel_and_locale(
    notification_deps: Any, lambda_context: Any, fixture: Any
) -> None:
    event = fixture("order_rejected_event.json")
    state = _state_with_messages(event, notification_deps, lambda_context)
    messages = state["rendered"]["messages"]
    assert [m["channel"] for m in messages] == ["email"]  # CUST-1002 has only email
    assert messages[0]["recipient"] == "bernd@example.de"
    assert messages[0]["subject"] == (
        "Ihre Bestellung ORD-2025-000124 konnte nicht abgeschlossen werden"
    )
    assert "out of stock" in messages[0]["body"]


def test_email_goes_through_ses(
    confirmed_event: dict[str, Any],
    notification_deps: Any,
    lambda_context: Any,
    verified_sender: None,
) -> None:
    state = _state_with_messages(confirmed_event, notification_deps, lambda_context)
    result = send_email.handler(_iteration(state, "email"), lambda_context, deps=notification_deps)

    assert result["channel"] == "email"
    assert result["status"] == "SENT"
    sent = ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages
    assert len(sent) == 1
    assert sent[0].destinations["ToAddresses"] == ["ada@example.com"]
    assert sent[0].subject == "Your order ORD-2025-000123 is confirmed"
    assert "155.15 EUR" in sent[0].body


def test_a_duplicate_email_is_not_sent_twice(
    confirmed_event: dict[str, Any],
    notification_deps: Any,
    lambda_context: Any,
    verified_sender: None,
) -> None:
    state = _state_with_messages(confirmed_event, notification_deps, lambda_context)
    iteration = _iteration(state, "email")
    first = send_email.handler(iteration, lambda_context, deps=notification_deps)
    second = send_email.handler(iteration, lambda_context, deps=notification_deps)
    assert first == second
    assert len(ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages) == 1


def test_ses_refusing_the_sender_is_a_delivery_rejection(
    confirmed_event: dict[str, Any], notification_deps: Any, lambda_context: Any
) -> None:
    state = _state_with_messages(confirmed_event, notification_deps, lambda_context)
    with pytest.raises(DeliveryRejected, match="MessageRejected"):
        send_email.handler(_iteration(state, "email"), lambda_context, deps=notification_deps)


def test_sms_goes_through_sns(
    confirmed_event: dict[str, Any], notification_deps: Any, lambda_context: Any
) -> None:
    state = _state_with_messages(confirmed_event, notification_deps, lambda_context)
    result = send_sms.handler(_iteration(state, "sms"), lambda_context, deps=notification_deps)

    assert result["status"] == "SENT"
    sms = sns_backends[DEFAULT_ACCOUNT_ID][REGION].sms_messages
    assert result["messageId"] in sms
    phone, text = sms[result["messageId"]][:2]
    assert phone == "+441234567890"
    assert "ORD-2025-000123" in text


def test_push_goes_through_an_sns_platform_endpoint(
    confirmed_event: dict[str, Any], notification_deps: Any, lambda_context: Any
) -> None:
    sns = boto3.client("sns", region_name=REGION)
    app = sns.create_platform_application(
        Name="orders-app", Platform="GCM", Attributes={"PlatformCredential": "key"}
    )["PlatformApplicationArn"]
    settings = notification_deps.settings.model_copy(update={"push_platform_application_arn": app})
    deps = replace(notification_deps, settings=settings)
    state = _state_with_messages(confirmed_event, deps, lambda_context)
    result = send_push.handler(_iteration(state, "push"), lambda_context, deps=deps)

    assert result["status"] == "SENT"
    endpoints = sns.list_endpoints_by_platform_application(PlatformApplicationArn=app)["Endpoints"]
    assert [e["Attributes"]["Token"] for e in endpoints] == ["device-token-ada-0001"]


def test_push_without_a_platform_application_is_rejected(
    confirmed_event: dict[str, Any], notification_deps: Any, lambda_context: Any
) -> None:
    state = _state_with_messages(confirmed_event, notification_deps, lambda_context)

    def no_idempotency_store() -> Any:
        raise AssertionError("nothing can be sent: no idempotency record to take (and delete)")

    deps = replace(notification_deps, idempotency_factory=no_idempotency_store)
    with pytest.raises(DeliveryRejected, match="PUSH_PLATFORM_APPLICATION_ARN"):
        send_push.handler(_iteration(state, "push"), lambda_context, deps=deps)


def test_a_sender_refuses_another_channels_message(
    confirmed_event: dict[str, Any], notification_deps: Any, lambda_context: Any
) -> None:
    state = _state_with_messages(confirmed_event, notification_deps, lambda_context)
    with pytest.raises(InvalidNotificationEvent, match="SendSms sends sms"):
        send_sms.handler(_iteration(state, "email"), lambda_context, deps=notification_deps)


def test_deliveries_are_recorded_sent_and_failed(
    confirmed_event: dict[str, Any], notification_deps: Any, lambda_context: Any, table: Any
) -> None:
    state = copy.deepcopy(confirmed_event)
    state["deliveries"] = [
        {"channel": "email", "status": "SENT", "messageId": "m-1"},
        {
            "channel": "sms",
            "status": "FAILED",
            "messageId": None,
            "error": "DeliveryRejected",
            "cause": "opted out",
        },
    ]
    result = record_deliveries.handler(state, lambda_context, deps=notification_deps)

    assert result == {"orderId": "ORD-2025-000123", "sent": 1, "failed": 1}
    sms = table.get_item(
        Key={"PK": "ORDER#ORD-2025-000123", "SK": "NOTIFICATION#OrderConfirmed#sms"}
    )["Item"]
    assert sms["status"] == "FAILED"
    assert sms["error"] == "DeliveryRejected"
