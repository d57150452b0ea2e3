"""The events webhooks consumes: every dossier event on `motcua.submission.application.v1`, read with its own
consumer group like any agency's, and queued for each subscription that wants it (in the same transaction
as the consumer's inbox entry, so a redelivered event is queued once)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime

import structlog
from motcua.common import mongo, topics
from motcua.common.consumer import Handler
from motcua.common.events import Envelope
from motcua.webhooks.model import body_of, structured, subscribable_types
from motcua.webhooks.store import Store

log = structlog.get_logger(__name__)

GROUP = "webhooks"
CONSUMED_TOPICS = (topics.SUBMISSION_APPLICATION,)


def agency_of(envelope: Envelope) -> str | None:
    code = getattr(envelope.data, "agency_code", None)
    return str(code) if code is not None else None


class FanOut:
    """Queues each consumed event for the subscriptions that want it."""

    def __init__(self, store: Store, on_queued: Callable[[], None]) -> None:
        self._store = store
        self._on_queued = on_queued
        self.queued = 0

    async def handle(self, envelope: Envelope, session: mongo.Session) -> None:
        subscriptions = await self._store.matching(session, envelope.type, agency_of(envelope))
        if not subscriptions:
            return
        body = body_of(structured(envelope))
        now = datetime.now(UTC)
        await self._store.enqueue(session, [s["_id"] for s in subscriptions], envelope, body, now)
        self.queued += len(subscriptions)
        log.info("webhook_event_queued", subscriptions=len(subscriptions), application_id=envelope.subject)

    def handlers(self) -> Mapping[str, Handler]:
        return dict.fromkeys(subscribable_types(), self.handle)

    def after_commit(self) -> None:
        self._on_queued()
