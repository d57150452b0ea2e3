"""The domain of webhooks: who may subscribe to what, subscribers' secrets, the retry schedule, the circuit
breaker and what one delivery attempt leaves behind. Pure: no FastAPI, PyMongo, aiokafka or network.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import SplitResult, urlsplit

from motcua.common import topics
from motcua.common.errors import Forbidden, InvalidInput, NotFound
from motcua.common.events import Envelope, event_types

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
MAX_FAILED_BODY_BYTES = 1024
MAX_ATTEMPTS_KEPT = 30
MAX_URL_LENGTH = 2048


class WebhookNotFound(NotFound):
    """No subscription with that id that the caller may see (another agency's answers the same)."""


class NotAllowed(Forbidden):
    """The caller may not manage webhooks (or not for that agency)."""


class SubscriptionStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # waiting for its turn or its next attempt
    DELIVERING = "delivering"  # claimed by a replica, an attempt in flight
    DELIVERED = "delivered"  # final: the subscriber answered 2xx
    DEAD = "dead"  # on the subscriber's dead-letter shelf until re-driven


OPEN_STATUSES = (DeliveryStatus.PENDING.value, DeliveryStatus.DELIVERING.value)


def subscribable_types() -> tuple[str, ...]:
    """The event types a webhook may ask for: those of the dossier topic agencies read."""
    return tuple(t for t, cls in event_types().items() if cls.topic == topics.SUBMISSION_APPLICATION)


# --- who may manage -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Caller:
    """What the access token says about who is calling, as far as webhooks care."""

    admin: bool
    agency: str | None  # an officer's agency
    approver: bool  # `approver` among the officer's agency roles

    def require_manager(self) -> None:
        if not self.admin and not (self.agency and self.approver):
            raise NotAllowed("Managing webhooks needs the admin role, or an officer's approver role in their agency.")

    def sees(self, agency_code: str | None) -> bool:
        """Whether a subscription of `agency_code` (None: every agency) is this caller's to see and manage."""
        return self.admin or (self.approver and self.agency is not None and agency_code == self.agency)

    def agency_for_new(self, requested: str | None) -> str | None:
        """The agency a new subscription is for: an approver's own (by default), any (or all) for an admin."""
        self.require_manager()
        if self.admin:
            return requested
        if requested is not None and requested != self.agency:
            raise NotAllowed("An officer may subscribe only for their own agency.")
        return self.agency


# --- what a subscription asks for -----------------------------------------------------------------


def check_url(url: str, *, development: bool, allowed_ports: frozenset[int]) -> SplitResult:
    """A subscriber's address: https (http in development), a host, no credentials or fragment."""
    problem = _url_problem(url, development=development, allowed_ports=allowed_ports)
    if problem:
        raise InvalidInput.one("/url", problem)
    return urlsplit(url)


def _url_problem(url: str, *, development: bool, allowed_ports: frozenset[int]) -> str | None:
    if len(url) > MAX_URL_LENGTH or any(ord(c) <= 0x20 or ord(c) == 0x7F for c in url):
        return f"must be an address of at most {MAX_URL_LENGTH} characters, without spaces or control characters"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "is not a valid URL"
    schemes = ("https", "http") if development else ("https",)
    if parts.scheme not in schemes:
        return "must start with https://" + (" or http:// (development only)" if development else "")
    if not parts.hostname:
        return "must name a host"
    if parts.username is not None or parts.password is not None:
        return "must not carry a user name or password: authenticate the deliveries by their signature"
    if parts.fragment:
        return "must not have a #fragment"
    effective = port or (443 if parts.scheme == "https" else 80)
    if not development and effective not in allowed_ports:
        shown = sorted(allowed_ports)
        allowed = ", ".join(map(str, shown)) if len(shown) <= 5 else f"{shown[0]}–{shown[-1]}, as the operator set"
        return f"port {effective} is not open to deliveries (allowed: {allowed})"
    return None


def check_event_types(wanted: Sequence[str]) -> list[str]:
    known = subscribable_types()
    problems = [f"/event_types/{i}" for i, t in enumerate(wanted) if t not in known]
    if problems:
        raise InvalidInput.one(problems[0], f"unknown event type; one of: {', '.join(known)}")
    return list(dict.fromkeys(wanted))


def wants(event_type: str, agency_code: str, subscription: dict[str, Any]) -> bool:
    """Whether a subscription (its stored document) receives an event: its types, and its agency's dossiers."""
    return event_type in subscription["event_types"] and subscription.get("agency_code") in (None, agency_code)


# --- secrets --------------------------------------------------------------------------------------


def new_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


@dataclass(frozen=True)
class Key:
    """One of a subscription's secrets: the current one has no end; a rotated one ends after the overlap."""

    secret: str = field(repr=False)
    created_at: datetime
    expires_at: datetime | None = None

    def valid_at(self, now: datetime) -> bool:
        return self.expires_at is None or now < self.expires_at


def rotate(keys: Sequence[Key], new: str, *, now: datetime, overlap: timedelta) -> list[Key]:
    """The new secret first; each older one still valid ends after `overlap` (or sooner, if it already would)."""
    ends = now + overlap
    kept = [
        Key(k.secret, k.created_at, ends if k.expires_at is None or k.expires_at > ends else k.expires_at)
        for k in keys
        if k.valid_at(now) and overlap > timedelta(0)
    ]
    return [Key(new, now), *kept[:2]]


def signing_keys(keys: Sequence[Key], now: datetime) -> list[Key]:
    """The secrets deliveries are signed with now: the current one and those still in their overlap."""
    return [k for k in keys if k.valid_at(now)]


# --- the retry schedule and the circuit breaker ---------------------------------------------------


@dataclass(frozen=True)
class RetryPolicy:
    base_seconds: float
    max_delay_seconds: float
    retry_for_seconds: float

    def delay(self, attempt: int, rand: Callable[[], float]) -> float:
        """Exponential backoff with equal jitter: half the step fixed, half random (`rand` gives [0, 1))."""
        step = min(self.max_delay_seconds, self.base_seconds * 2.0 ** min(attempt - 1, 40))
        return float(step / 2 + rand() * step / 2)

    def next_attempt(
        self, *, attempt: int, arrived_at: datetime, now: datetime, rand: Callable[[], float]
    ) -> datetime | None:
        """When to try again after failed attempt number `attempt`, or None: the time is up, shelve it."""
        at = now + timedelta(seconds=self.delay(attempt, rand))
        return at if at <= arrived_at + timedelta(seconds=self.retry_for_seconds) else None

    def expired(self, arrived_at: datetime, now: datetime) -> bool:
        return now > arrived_at + timedelta(seconds=self.retry_for_seconds)


@dataclass
class Breaker:
    """A subscriber's circuit: after `threshold` failures in a row it opens for a cool-down (doubling each
    time it opens again, up to a ceiling); then one probe decides whether it closes."""

    threshold: int
    cooldown: float
    max_cooldown: float
    failures: int = 0
    opened: int = 0
    open_until: float = 0.0

    def allows(self, now: float) -> bool:
        return now >= self.open_until

    @property
    def troubled(self) -> bool:
        """Failing lately: one attempt at a time until a success."""
        return self.failures > 0

    @property
    def state(self) -> str:
        if self.failures >= self.threshold:
            return "open"
        return "closed"

    def succeeded(self) -> None:
        self.failures = 0
        self.opened = 0
        self.open_until = 0.0

    def failed(self, now: float) -> None:
        self.failures += 1
        if self.failures >= self.threshold:
            self.opened += 1
            self.open_until = now + min(self.max_cooldown, self.cooldown * 2 ** min(self.opened - 1, 30))


# --- one attempt ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Attempt:
    """What one try left behind: never more than 1 KiB of a failed answer's body, nothing of a success's."""

    at: datetime
    outcome: str  # delivered, failed (a non-2xx answer), timeout, refused (address not allowed), error
    latency_ms: float
    status_code: int | None = None
    error: str | None = None
    response_body: str | None = None

    @property
    def ok(self) -> bool:
        return self.outcome == "delivered"

    def document(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


def failed_body(raw: bytes) -> str:
    """At most 1 KiB of a failed answer's body, as text."""
    return raw[:MAX_FAILED_BODY_BYTES].decode("utf-8", errors="ignore")  # a character cut in two is dropped


# --- the message ----------------------------------------------------------------------------------


def structured(envelope: Envelope) -> dict[str, Any]:
    """The event in CloudEvents structured JSON: the attributes beside `data`."""
    cloud_event: dict[str, Any] = {
        "specversion": "1.0",
        "id": envelope.id,
        "source": envelope.source,
        "type": envelope.type,
        "subject": envelope.subject,
        "time": envelope.time.isoformat().replace("+00:00", "Z"),
        "datacontenttype": "application/json",
        "data": json.loads(envelope.data.model_dump_json()),
    }
    return cloud_event


def body_of(cloud_event: dict[str, Any]) -> str:
    """The exact bytes signed and sent (compact JSON, UTF-8)."""
    return json.dumps(cloud_event, ensure_ascii=False, separators=(",", ":"))
