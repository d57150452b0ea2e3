"""The `payments` collection: one document per payment attempt (its `_id` is the order reference sent to the
provider), and the dossier's `payment_status` moved only by conditional updates on its current value."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from motcua.common import mongo
from motcua.submission.payments import PaymentStatus
from pymongo import ASCENDING, IndexModel
from pymongo.collection import ReturnDocument

PAYMENTS = "payments"
INDEXES: dict[str, list[IndexModel]] = {
    PAYMENTS: [
        IndexModel([("application_id", ASCENDING), ("created_at", ASCENDING)], name="application_created"),
        IndexModel([("status", ASCENDING), ("created_at", ASCENDING)], name="status_created"),
    ]
}


class PaymentStore:
    def __init__(self, db: mongo.Database) -> None:
        self.payments = db[PAYMENTS]
        self.applications = db["applications"]

    async def insert(self, session: mongo.Session, record: dict[str, Any]) -> None:
        await self.payments.insert_one(record, session=session)

    async def get(self, txn_ref: str, *, session: mongo.Session | None = None) -> dict[str, Any] | None:
        doc: dict[str, Any] | None = await self.payments.find_one({"_id": txn_ref}, session=session)
        return doc

    async def pending_of(self, application_id: str) -> dict[str, Any] | None:
        doc: dict[str, Any] | None = await self.payments.find_one(
            {"application_id": application_id, "status": PaymentStatus.PENDING.value}, sort=[("created_at", -1)]
        )
        return doc

    async def paid_of(self, application_id: str, *, session: mongo.Session | None = None) -> dict[str, Any] | None:
        doc: dict[str, Any] | None = await self.payments.find_one(
            {"application_id": application_id, "status": {"$in": ["paid", "refunding"]}}, session=session
        )
        return doc

    async def settle(
        self, session: mongo.Session, txn_ref: str, frm: str | list[str], to: str, fields: dict[str, Any]
    ) -> dict[str, Any] | None:
        """Move the attempt from `frm` (one status, or any of several) to `to` if it is still there; the
        document after, or None."""
        doc: dict[str, Any] | None = await self.payments.find_one_and_update(
            {"_id": txn_ref, "status": {"$in": [frm] if isinstance(frm, str) else frm}},
            {"$set": {"status": to, **fields}},
            session=session,
            return_document=ReturnDocument.AFTER,
        )
        return doc

    async def move_application(
        self, session: mongo.Session, application_id: str, frm: list[PaymentStatus], to: PaymentStatus, at: datetime
    ) -> bool:
        result = await self.applications.update_one(
            {"_id": application_id, "payment_status": {"$in": [s.value for s in frm]}},
            {"$set": {"payment_status": to.value, "updated_at": at}},
            session=session,
        )
        return result.modified_count == 1

    async def stale_pending(self, created_before: datetime, limit: int = 100) -> list[dict[str, Any]]:
        cursor = self.payments.find({"status": "pending", "created_at": {"$lt": created_before}}).limit(limit)
        return [doc async for doc in cursor]

    async def stuck_refunds(self, limit: int = 100) -> list[dict[str, Any]]:
        cursor = self.payments.find({"status": "refunding"}).limit(limit)
        return [doc async for doc in cursor]
