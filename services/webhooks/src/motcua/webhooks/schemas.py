"""What the webhooks API reads and answers (OpenAPI shows these)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

AGENCY_CODE = r"^[A-Z0-9][A-Z0-9_-]{1,63}$"


class WebhookCreate(BaseModel):
    """A subscription: where to deliver, which event types, and for which agency's dossiers."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(
        min_length=1,
        max_length=2048,
        description="https:// address (http:// in development only)",
        examples=["https://hethong.ubnd-ba-dinh.gov.vn/motcua/webhooks"],
    )
    event_types: list[str] = Field(
        min_length=1,
        max_length=20,
        description="the `type`s wanted, as in AsyncAPI",
        examples=[["motcua.submission.ApplicationReceived.v1"]],
    )
    agency_code: str | None = Field(
        default=None,
        pattern=AGENCY_CODE,
        description="only this agency's dossiers; an officer's own agency by default; left out by an admin: "
        "every agency",
    )


class KeyPublic(BaseModel):
    created_at: datetime
    expires_at: datetime | None = None


class ReplayPublic(BaseModel):
    id: str
    since: datetime
    requested_at: datetime
    status: Literal["running", "done", "failed"]
    queued: int | None = None
    finished_at: datetime | None = None


class QueuePublic(BaseModel):
    """The subscriber's queue now: waiting, in flight, on the dead-letter shelf."""

    pending: int
    delivering: int
    dead: int


class WebhookPublic(BaseModel):
    """A subscription, without its secret."""

    id: str
    url: str
    event_types: list[str]
    agency_code: str | None
    status: Literal["active", "paused"]
    created_at: datetime
    updated_at: datetime
    secrets: list[KeyPublic] = Field(description="the secrets deliveries are signed with now: when each ends")
    replay: ReplayPublic | None = None
    queue: QueuePublic | None = None


class WebhookCreated(WebhookPublic):
    secret: str = Field(description="the signing secret (Standard Webhooks, `whsec_…`): shown once, keep it safe")


class WebhookPage(BaseModel):
    items: list[WebhookPublic]


class SecretRotated(BaseModel):
    id: str
    secret: str = Field(description="the new signing secret: shown once")
    previous_secrets_expire_at: datetime | None = Field(
        description="until then deliveries carry a signature by the old secret too"
    )


class ReplayStarted(BaseModel):
    id: str
    replay: ReplayPublic


class AttemptPublic(BaseModel):
    at: datetime
    outcome: Literal["delivered", "failed", "timeout", "refused", "error"]
    latency_ms: float
    status_code: int | None = None
    error: str | None = None
    response_body: str | None = Field(default=None, description="at most 1 KiB of a failed answer's body")


class DeliveryPublic(BaseModel):
    id: str
    event_id: str = Field(description="the CloudEvent `id`, also the `webhook-id` header")
    event_type: str
    subject: str = Field(description="the dossier (application) id")
    status: Literal["pending", "delivering", "delivered", "dead"]
    arrived_at: datetime
    next_attempt_at: datetime | None = None
    delivered_at: datetime | None = None
    shelved_at: datetime | None = None
    reason: str | None = None
    attempt_count: int
    attempts: list[AttemptPublic]


class DeliveryPage(BaseModel):
    items: list[DeliveryPublic]
    total: int
    page: int
    page_size: int


class Redrive(BaseModel):
    """Which shelved deliveries to send again; none named: all of them."""

    model_config = ConfigDict(extra="forbid")

    delivery_ids: list[str] | None = Field(default=None, max_length=1000)


class Redriven(BaseModel):
    redriven: int


def delivery_public(doc: dict[str, Any]) -> DeliveryPublic:
    return DeliveryPublic(
        id=doc["_id"],
        event_id=doc["event_id"],
        event_type=doc["event_type"],
        subject=doc["subject"],
        status=doc["status"],
        arrived_at=doc["arrived_at"],
        next_attempt_at=doc.get("next_attempt_at") if doc["status"] == "pending" else None,
        delivered_at=doc.get("delivered_at"),
        shelved_at=doc.get("shelved_at"),
        reason=doc.get("reason"),
        attempt_count=doc.get("attempt_count", 0),
        attempts=[AttemptPublic(**a) for a in doc.get("attempts", [])],
    )
