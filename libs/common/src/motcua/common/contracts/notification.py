"""Events of the notification service, on `motcua.notification.delivery.v1`."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

from motcua.common import topics
from motcua.common.events import Event, register
from pydantic import Field

Channel = Literal["email", "sms", "in_app"]


class _DeliveryEvent(Event):
    topic: ClassVar[str] = topics.NOTIFICATION_DELIVERY
    subject_field: ClassVar[str] = "delivery_id"

    delivery_id: str
    cause_event_id: str
    cause_event_type: str
    channel: Channel
    account_id: str | None = None
    attempts: int


@register
class NotificationSent(_DeliveryEvent):
    """A message was accepted by its provider (SMTP server, SMS gateway) or stored in-app."""

    ce_type: ClassVar[str] = "motcua.notification.NotificationSent.v1"

    sent_at: datetime


@register
class NotificationFailed(_DeliveryEvent):
    """A message could not be delivered, permanently or after its retries."""

    ce_type: ClassVar[str] = "motcua.notification.NotificationFailed.v1"

    reason: str
    failed_at: datetime
    status: Literal["failed", "expired", "unknown", "rate_limited"] = Field(
        default="failed",
        description=(
            "The delivery's final status: `failed` (refused by the provider, or retries ran out), `expired` "
            "(a code or link past its expiry, not sent), `unknown` (the send was interrupted and is never "
            "repeated: at most once), `rate_limited` (too many secret-bearing messages to one recipient)."
        ),
    )
