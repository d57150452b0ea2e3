"""MongoDB for webhooks: the subscriptions, and each subscriber's queue of deliveries (its own position,
its order per dossier, its attempts and its dead-letter shelf)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from motcua.common import mongo
from motcua.common.events import Envelope
from motcua.webhooks.model import MAX_ATTEMPTS_KEPT, OPEN_STATUSES, Attempt, DeliveryStatus, SubscriptionStatus
from pymongo import ASCENDING, DESCENDING, IndexModel, ReturnDocument

SUBSCRIPTIONS = "subscriptions"
DELIVERIES = "deliveries"

INDEXES: dict[str, list[IndexModel]] = {
    SUBSCRIPTIONS: [
        IndexModel([("event_types", ASCENDING), ("agency_code", ASCENDING)], name="fan_out"),
        IndexModel([("agency_code", ASCENDING), ("created_at", ASCENDING)], name="by_agency"),
    ],
    DELIVERIES: [
        # one dossier's events in order, per subscriber
        IndexModel(
            [("subscription_id", ASCENDING), ("subject", ASCENDING), ("seq", ASCENDING)], unique=True, name="order"
        ),
        IndexModel(
            [("subscription_id", ASCENDING), ("status", ASCENDING), ("next_attempt_at", ASCENDING), ("seq", ASCENDING)],
            name="due",
        ),
        IndexModel([("subscription_id", ASCENDING), ("status", ASCENDING), ("shelved_at", ASCENDING)], name="shelf"),
        IndexModel([("status", ASCENDING), ("arrived_at", ASCENDING)], name="expiry"),
        IndexModel([("purge_at", ASCENDING)], name="purge", expireAfterSeconds=0),
    ],
}

Doc = dict[str, Any]
_SUMMARY = {"body": 0}
_last_seq = 0


def _next_seq() -> int:
    """Queue order: wall-clock nanoseconds, strictly increasing in the process.

    One dossier's events are consumed in log order by one replica at a time (its partition's owner), so
    within a replica this is their order; a partition changes hands only through a rebalance, seconds
    longer than any clock skew between replicas (the outbox's own order rests on the same clocks). No
    read is needed to place an event, which keeps the consumer's transaction to three operations.
    """
    global _last_seq
    _last_seq = max(_last_seq + 1, time.time_ns())
    return _last_seq


class Store:
    """The service's collections and every query it makes of them."""

    def __init__(self, client: mongo.Client, db: mongo.Database) -> None:
        self.client = client
        self.db = db
        self.subscriptions = db[SUBSCRIPTIONS]
        self.deliveries = db[DELIVERIES]

    # --- subscriptions ----------------------------------------------------------------------------

    async def add_subscription(self, doc: Doc) -> None:
        await self.subscriptions.insert_one(doc)

    async def subscription(self, subscription_id: str) -> Doc | None:
        return await self.subscriptions.find_one({"_id": subscription_id})

    async def list_subscriptions(self, agency_code: str | None, *, every_agency: bool) -> list[Doc]:
        query: Doc = {} if every_agency else {"agency_code": agency_code}
        return [d async for d in self.subscriptions.find(query).sort([("created_at", ASCENDING)]).limit(1000)]

    async def all_subscriptions(self) -> list[Doc]:
        return [d async for d in self.subscriptions.find({})]

    async def update_subscription(self, subscription_id: str, changes: Doc) -> Doc | None:
        return await self.subscriptions.find_one_and_update(
            {"_id": subscription_id}, {"$set": changes}, return_document=ReturnDocument.AFTER
        )

    async def delete_subscription(self, subscription_id: str) -> bool:
        async def work(session: mongo.Session) -> bool:
            gone = await self.subscriptions.delete_one({"_id": subscription_id}, session=session)
            await self.deliveries.delete_many({"subscription_id": subscription_id}, session=session)
            return gone.deleted_count == 1

        return await mongo.in_transaction(self.client, work)

    async def matching(self, session: mongo.Session, event_type: str, agency_code: str | None) -> list[Doc]:
        """The subscriptions (active or paused: a paused one keeps queueing) an event goes to."""
        query = {"event_types": event_type, "agency_code": {"$in": [None, agency_code]}}
        return [d async for d in self.subscriptions.find(query, {"_id": 1}, session=session)]

    # --- queueing ---------------------------------------------------------------------------------

    async def enqueue(
        self,
        session: mongo.Session,
        subscription_ids: Sequence[str],
        envelope: Envelope,
        body: str,
        now: datetime,
        *,
        replay: str | None = None,
    ) -> None:
        """Append the event to each subscriber's queue, after every earlier event of the same dossier."""
        seq = _next_seq()
        docs: list[Doc] = []
        for subscription_id in subscription_ids:
            doc: Doc = {
                "_id": uuid.uuid4().hex,
                "subscription_id": subscription_id,
                "event_id": envelope.id,
                "event_type": envelope.type,
                "event_time": envelope.time,
                "subject": envelope.subject,
                "seq": seq,
                "body": body,
                "status": DeliveryStatus.PENDING.value,
                "arrived_at": now,
                "next_attempt_at": now,
                "attempt_count": 0,
                "attempts": [],
            }
            if replay:
                doc["replay_id"] = replay
            docs.append(doc)
        if docs:
            await self.deliveries.insert_many(docs, session=session)

    # --- the dispatcher's queries -----------------------------------------------------------------

    async def due(self, subscription_id: str, now: datetime, *, busy: Iterable[str], limit: int) -> list[Doc]:
        """Deliveries whose time has come, oldest first, skipping dossiers with one in flight here."""
        query: Doc = {
            "subscription_id": subscription_id,
            "status": DeliveryStatus.PENDING.value,
            "next_attempt_at": {"$lte": now},
        }
        if busy := list(busy):
            query["subject"] = {"$nin": busy}
        cursor = self.deliveries.find(query, _SUMMARY).sort([("next_attempt_at", ASCENDING), ("seq", ASCENDING)])
        return [d async for d in cursor.limit(limit)]

    async def next_due_at(self, subscription_id: str) -> datetime | None:
        doc = await self.deliveries.find_one(
            {"subscription_id": subscription_id, "status": DeliveryStatus.PENDING.value},
            {"next_attempt_at": 1},
            sort=[("next_attempt_at", ASCENDING)],
        )
        return doc["next_attempt_at"] if doc else None

    async def has_earlier_open(self, delivery: Doc) -> bool:
        """Whether an earlier event of the same dossier is still waiting or in flight (so this one waits)."""
        earlier = await self.deliveries.find_one(
            {
                "subscription_id": delivery["subscription_id"],
                "subject": delivery["subject"],
                "seq": {"$lt": delivery["seq"]},
                "status": {"$in": list(OPEN_STATUSES)},
            },
            {"_id": 1},
        )
        return earlier is not None

    async def claim(self, delivery_id: str, now: datetime, lease: timedelta) -> Doc | None:
        """Take a due delivery for one attempt; None when another replica took it first."""
        claim = uuid.uuid4().hex
        return await self.deliveries.find_one_and_update(
            {"_id": delivery_id, "status": DeliveryStatus.PENDING.value, "next_attempt_at": {"$lte": now}},
            {"$set": {"status": DeliveryStatus.DELIVERING.value, "claim": claim, "lease_until": now + lease}},
            return_document=ReturnDocument.AFTER,
        )

    async def release_lapsed_leases(self, subscription_id: str, now: datetime) -> None:
        """Deliveries claimed by a replica that died mid-attempt are due again."""
        await self.deliveries.update_many(
            {
                "subscription_id": subscription_id,
                "status": DeliveryStatus.DELIVERING.value,
                "lease_until": {"$lt": now},
            },
            {"$set": {"status": DeliveryStatus.PENDING.value, "next_attempt_at": now}, "$unset": {"claim": ""}},
        )

    def _settle_filter(self, delivery: Doc) -> Doc:
        return {"_id": delivery["_id"], "status": DeliveryStatus.DELIVERING.value, "claim": delivery["claim"]}

    def _attempt_push(self, attempt: Attempt) -> Doc:
        return {"attempts": {"$each": [attempt.document()], "$slice": -MAX_ATTEMPTS_KEPT}}

    async def delivered(self, delivery: Doc, attempt: Attempt, keep: timedelta) -> None:
        await self.deliveries.update_one(
            self._settle_filter(delivery),
            {
                "$set": {
                    "status": DeliveryStatus.DELIVERED.value,
                    "delivered_at": attempt.at,
                    "purge_at": attempt.at + keep,
                },
                "$unset": {"claim": "", "lease_until": "", "body": ""},
                "$inc": {"attempt_count": 1},
                "$push": self._attempt_push(attempt),
            },
        )
        if delivery.get("attempt_count", 0) > 0:
            await self._followers_may_go(delivery, attempt.at)

    async def retry_later(self, delivery: Doc, attempt: Attempt, at: datetime) -> None:
        await self.deliveries.update_one(
            self._settle_filter(delivery),
            {
                "$set": {"status": DeliveryStatus.PENDING.value, "next_attempt_at": at},
                "$unset": {"claim": "", "lease_until": ""},
                "$inc": {"attempt_count": 1},
                "$push": self._attempt_push(attempt),
            },
        )
        # the dossier's later events are not due before it: they would only be found and skipped
        await self.deliveries.update_many(
            {
                "subscription_id": delivery["subscription_id"],
                "subject": delivery["subject"],
                "seq": {"$gt": delivery["seq"]},
                "status": DeliveryStatus.PENDING.value,
            },
            {"$max": {"next_attempt_at": at}},
        )

    async def shelve(self, delivery: Doc, attempt: Attempt | None, reason: str, now: datetime, keep: timedelta) -> None:
        update: Doc = {
            "$set": {"status": DeliveryStatus.DEAD.value, "shelved_at": now, "reason": reason, "purge_at": now + keep},
            "$unset": {"claim": "", "lease_until": ""},
        }
        if attempt is not None:
            update["$inc"] = {"attempt_count": 1}
            update["$push"] = self._attempt_push(attempt)
        await self.deliveries.update_one(self._settle_filter(delivery), update)
        await self._followers_may_go(delivery, now)

    async def _followers_may_go(self, delivery: Doc, now: datetime) -> None:
        await self.deliveries.update_many(
            {
                "subscription_id": delivery["subscription_id"],
                "subject": delivery["subject"],
                "seq": {"$gt": delivery["seq"]},
                "status": DeliveryStatus.PENDING.value,
                "attempt_count": 0,
                "next_attempt_at": {"$gt": now},
            },
            {"$set": {"next_attempt_at": now}},
        )

    async def shelve_expired(self, before: datetime, now: datetime, keep: timedelta) -> int:
        """Waiting deliveries whose time is up (a paused or long-dead subscriber's) go to the shelf."""
        result = await self.deliveries.update_many(
            {"status": DeliveryStatus.PENDING.value, "arrived_at": {"$lt": before}},
            {
                "$set": {
                    "status": DeliveryStatus.DEAD.value,
                    "shelved_at": now,
                    "purge_at": now + keep,
                    "reason": "not delivered in time",
                }
            },
        )
        return result.modified_count

    # --- what subscribers and operators read ------------------------------------------------------

    async def counts(self, subscription_id: str) -> dict[str, int]:
        found = {}
        for status in (DeliveryStatus.PENDING, DeliveryStatus.DELIVERING, DeliveryStatus.DEAD):
            found[status.value] = await self.deliveries.count_documents(
                {"subscription_id": subscription_id, "status": status.value}
            )
        return found

    async def listed(
        self, subscription_id: str, statuses: Sequence[str], *, skip: int, limit: int, newest_first: bool
    ) -> tuple[list[Doc], int]:
        query = {"subscription_id": subscription_id, "status": {"$in": list(statuses)}}
        order = DESCENDING if newest_first else ASCENDING
        cursor = self.deliveries.find(query, _SUMMARY).sort([("arrived_at", order), ("seq", order)])
        docs = [d async for d in cursor.skip(skip).limit(limit)]
        if len(docs) < limit and (docs or skip == 0):  # the last page: the total is what it shows, at that moment
            return docs, skip + len(docs)
        return docs, max(await self.deliveries.count_documents(query), skip + len(docs))

    async def redrive(self, subscription_id: str, ids: Sequence[str] | None, now: datetime) -> int:
        """Shelved deliveries back in the queue, in their dossiers' order, with a fresh time to deliver."""
        query: Doc = {"subscription_id": subscription_id, "status": DeliveryStatus.DEAD.value}
        if ids is not None:
            query["_id"] = {"$in": list(ids)}
        result = await self.deliveries.update_many(
            query,
            {
                "$set": {
                    "status": DeliveryStatus.PENDING.value,
                    "arrived_at": now,
                    "next_attempt_at": now,
                    "attempt_count": 0,
                    "redriven_at": now,
                },
                "$unset": {"shelved_at": "", "reason": "", "purge_at": ""},
            },
        )
        return result.modified_count


def new_subscription(
    *,
    url: str,
    event_types: list[str],
    agency_code: str | None,
    keys: list[Doc],
    created_by: str,
    now: datetime,
    subscription_id: str,
) -> Doc:
    return {
        "_id": subscription_id,
        "url": url,
        "event_types": event_types,
        "agency_code": agency_code,
        "status": SubscriptionStatus.ACTIVE.value,
        "keys": keys,
        "created_by": created_by,
        "created_at": now,
        "updated_at": now,
    }
