"""A delivery: one message to one recipient on one channel, caused by one event — pure, no I/O.

It is recorded by the consumer (`Delivery.record`), claimed and sent by the dispatcher, and moved out of
`sending` only forward (`Move`), by a conditional update on the claim it was taken with. Its document
is its fields with the id as `_id`; fields without a value are left out (a delivery never handed over
has no `handed_over_at`), except the few every delivery has always carried.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from motcua.notification.model import (
    FINAL,
    Channel,
    PermanentSendError,
    RetryPolicy,
    SendError,
    Status,
    settle,
)
from pydantic import BaseModel, ConfigDict

# Present in every delivery's document, null or not.
_ALWAYS = ("expires_at", "request_id")
ABANDONED = "outcome unknown: the service stopped just as the message was handed over; not resent"


class LoggedAttempt(BaseModel):
    """One attempt, as the delivery's `attempt_log` keeps it."""

    at: datetime
    outcome: Status
    answer: str


class Delivery(BaseModel):
    """One message for one recipient; `message` is its content (gone once a secret's delivery is final)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str
    cause_event_id: str
    cause_event_type: str
    channel: Channel
    recipient: str
    account_id: str | None = None
    message: dict[str, str] | None = None
    secret: bool = False
    expires_at: datetime | None = None
    status: Status = Status.PENDING
    attempts: int = 0
    attempt_log: list[LoggedAttempt] = []
    next_attempt_at: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    request_id: str | None = None
    application_id: str | None = None
    tracking_code: str | None = None
    claim: str | None = None
    lease_until: datetime | None = None
    handed_over_at: datetime | None = None
    sent_at: datetime | None = None
    provider_answer: str | None = None
    failed_at: datetime | None = None
    reason: str | None = None
    last_error: str | None = None

    @classmethod
    def record(
        cls,
        *,
        cause_event_id: str,
        cause_event_type: str,
        channel: Channel,
        recipient: str,
        account_id: str,
        content: dict[str, str],
        secret: bool,
        expires_at: datetime | None,
        request_id: str | None,
        application_id: str | None,
        tracking_code: str | None,
        now: datetime,
    ) -> Delivery:
        """A new delivery, due now."""
        return cls(
            id=uuid.uuid4().hex,
            cause_event_id=cause_event_id,
            cause_event_type=cause_event_type,
            channel=channel,
            recipient=recipient,
            account_id=account_id,
            message=content,
            secret=secret,
            expires_at=expires_at,
            next_attempt_at=now,
            created_at=now,
            updated_at=now,
            request_id=request_id,
            application_id=application_id,
            tracking_code=tracking_code,
        )

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Delivery:
        return cls.model_validate({**doc, "id": doc["_id"]})

    def to_doc(self) -> dict[str, Any]:
        doc = self.model_dump(exclude={"id"}, exclude_none=True)
        for name in _ALWAYS:
            doc.setdefault(name, None)
        return {"_id": self.id, **doc}

    def content(self) -> dict[str, str]:
        """What to send; a delivery whose message was removed has nothing left to send."""
        if self.message is None:
            raise PermanentSendError("the message was removed; nothing to send")
        return self.message

    def stored_in_app(self, now: datetime) -> Delivery:
        """An in-app message, sent by being stored."""
        return self.model_copy(
            update={"status": Status.SENT, "attempts": 1, "sent_at": now, "provider_answer": "stored in-app"}
        )

    def refused(self, status: Status, reason: str, now: datetime) -> Delivery:
        """Never to be sent (unusable recipient, expired, over the limit); a secret is not kept."""
        update: dict[str, Any] = {"status": status, "reason": reason, "failed_at": now}
        if self.secret:
            update["message"] = None
        return self.model_copy(update=update)

    def settled(self, error: SendError | None, *, answer: str, policy: RetryPolicy, now: datetime) -> Move:
        """Where this attempt (`error` None: it went out, and the provider said `answer`) takes it."""
        outcome = settle(error, attempts=self.attempts, policy=policy, now=now)
        said = answer or (error.answer if error else "")
        return Move(self, outcome.status, now, said, outcome.reason, outcome.next_attempt_at)

    def abandoned(self, now: datetime) -> Move:
        """Found `sending` with its lease run out, by a process that stopped: if it was handed over it may
        have gone out (`unknown`, never resent); if not, nothing of it reached the provider (due again)."""
        if self.handed_over_at is not None:
            return Move(self, Status.UNKNOWN, now, "lease ran out while sending", ABANDONED)
        return Move(self, Status.PENDING, now, "lease ran out before it was handed over", next_attempt_at=now)


@dataclass(frozen=True)
class Move:
    """A delivery leaving `sending` (under the claim it was taken with) for `status`, its attempt logged."""

    delivery: Delivery
    status: Status
    at: datetime
    answer: str
    reason: str = ""
    next_attempt_at: datetime | None = None

    @property
    def final(self) -> bool:
        return self.status in FINAL

    @property
    def scrub(self) -> bool:
        """A code or link is not kept once it will not be sent any more."""
        return self.final and self.delivery.secret

    def fields(self) -> dict[str, Any]:
        """What the move sets on the delivery."""
        fields: dict[str, Any] = {"status": self.status, "updated_at": self.at, "lease_until": None}
        if self.status == Status.SENT:
            fields.update(sent_at=self.at, provider_answer=self.answer)
        elif self.status == Status.PENDING:
            fields.update(next_attempt_at=self.next_attempt_at, claim=None)
            if self.reason:
                fields["last_error"] = self.reason
        else:
            fields.update(failed_at=self.at, reason=self.reason)
        return fields

    def logged(self) -> LoggedAttempt:
        return LoggedAttempt(at=self.at, outcome=self.status, answer=self.answer)
