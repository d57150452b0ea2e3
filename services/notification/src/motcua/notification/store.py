"""MongoDB for notification: contacts, deliveries, in-app notifications, events awaiting a contact, counters."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from motcua.common import counters, mongo
from motcua.common.clock import Ticker
from motcua.common.staging import Staging
from motcua.notification.deliveries import Delivery, Move
from motcua.notification.messages import Contact
from motcua.notification.model import Status
from pymongo import ASCENDING, DESCENDING, IndexModel, ReturnDocument, UpdateOne, monitoring

CONTACTS = "contacts"
DELIVERIES = "deliveries"
NOTIFICATIONS = "notifications"
AWAITING_CONTACT = "awaiting_contact"
SEND_COUNTERS = "send_counters"

INDEXES: dict[str, list[IndexModel]] = {
    # the officers' directory rides on the contacts: an agency's approvers are found by agency
    CONTACTS: [IndexModel([("agency_code", ASCENDING)], name="officers_by_agency", sparse=True)],
    DELIVERIES: [
        IndexModel([("cause_event_id", ASCENDING), ("channel", ASCENDING)], unique=True, name="once_per_event_channel"),
        IndexModel([("channel", ASCENDING), ("status", ASCENDING), ("next_attempt_at", ASCENDING)], name="due"),
        IndexModel([("status", ASCENDING), ("lease_until", ASCENDING)], name="leases"),
        IndexModel([("claim", ASCENDING)], name="claims", sparse=True),
    ],
    NOTIFICATIONS: [
        IndexModel([("account_id", ASCENDING), ("created_at", DESCENDING), ("seq", DESCENDING)], name="newest_first"),
        IndexModel([("account_id", ASCENDING), ("read_at", ASCENDING)], name="unread"),
    ],
    AWAITING_CONTACT: [
        IndexModel([("account_id", ASCENDING), ("time", ASCENDING)], name="by_account"),
        IndexModel([("parked_at", ASCENDING)], name="forget_after", expireAfterSeconds=7 * 24 * 3600),
    ],
    SEND_COUNTERS: [IndexModel([("expires_at", ASCENDING)], name="expire", expireAfterSeconds=0)],
}

Doc = dict[str, Any]


# Handling order of in-app notifications, strictly increasing in the process: breaks ties between events
# stored with the same millisecond, so 'newest first' follows the order events arrived in.
_arrival = Ticker()


def _without(doc: Doc, field: str) -> Doc:
    return {k: v for k, v in doc.items() if k != field}


def _still_ours(m: Move) -> Doc:
    return {"_id": m.delivery.id, "status": Status.SENDING, "claim": m.delivery.claim}


def _moved(m: Move) -> Doc:
    update: Doc = {"$set": m.fields(), "$push": {"attempt_log": m.logged().model_dump()}}
    if m.scrub:
        update["$unset"] = {"message": ""}
    return update


def _contact(account_id: str, doc: Doc | None) -> Contact | None:
    if doc is None or "email" not in doc:  # only the directory's entry has come so far
        return None
    return Contact(account_id, doc["full_name"], doc["email"], doc["phone"], doc["locale"])


class Store:
    """The service's collections, for one database."""

    def __init__(self, client: mongo.Client, db: mongo.Database) -> None:
        self.client = client
        self.db = db
        self._contacts = db[CONTACTS]
        self._deliveries = db[DELIVERIES]
        self._notifications = db[NOTIFICATIONS]
        self._awaiting = db[AWAITING_CONTACT]
        self._send_counters = db[SEND_COUNTERS]
        # the consumer's transaction writes the inserts of all its events at its end (motcua.common.staging)
        self.staging = Staging()

    # --- contacts ---------------------------------------------------------------------------------

    async def save_contact(self, session: mongo.Session, contact: Contact, account_type: str) -> None:
        await self._contacts.update_one(
            {"_id": contact.account_id},
            {
                "$set": {
                    "full_name": contact.full_name,
                    "email": contact.email,
                    "phone": contact.phone,
                    "locale": contact.locale,
                    "account_type": account_type,
                    "updated_at": datetime.now(UTC),
                }
            },
            upsert=True,
            session=session,
        )
        known = self._known_contacts(session)
        if known is not None:  # later events of the same batch see the new details
            known[contact.account_id] = contact

    async def find_contact(self, session: mongo.Session, account_id: str) -> Contact | None:
        """The account's contact details; from the batch's one read (`read_contacts`) when it made one."""
        known = self._known_contacts(session)
        if known is not None and account_id in known:
            return known[account_id]
        doc = await self._contacts.find_one({"_id": account_id}, session=session)
        return _contact(account_id, doc)

    async def read_contacts(self, session: mongo.Session, account_ids: list[str]) -> None:
        """Read the contacts of a consumer batch's accounts in one command, for `find_contact` to answer from
        for the rest of this try of the transaction (kept in the staging, which drops it with the try)."""
        memo = self.staging.remembered(session)
        if memo is None or not account_ids:
            return
        wanted = sorted(set(account_ids))
        docs = await self._contacts.find({"_id": {"$in": wanted}}, session=session).to_list()
        found = {str(d["_id"]): d for d in docs}
        memo[CONTACTS] = {a: _contact(a, found.get(a)) for a in wanted}

    def _known_contacts(self, session: mongo.Session) -> dict[str, Contact | None] | None:
        memo = self.staging.remembered(session)
        known: dict[str, Contact | None] | None = memo.get(CONTACTS) if memo is not None else None
        return known

    async def save_officer(
        self, session: mongo.Session, account_id: str, *, agency_code: str, roles: list[str], active: bool
    ) -> None:
        """The officer's agency and desk roles, from identity's directory (their contact comes on its own)."""
        await self._contacts.update_one(
            {"_id": account_id},
            {"$set": {"agency_code": agency_code, "agency_roles": roles, "officer_active": active}},
            upsert=True,
            session=session,
        )

    async def agency_officers(self, session: mongo.Session, agency_code: str, role: str) -> list[str]:
        """The active officers of `agency_code` holding `role`: their account ids."""
        docs = await self._contacts.find(
            {"agency_code": agency_code, "agency_roles": role, "officer_active": True}, {"_id": 1}, session=session
        ).to_list()
        return sorted(str(d["_id"]) for d in docs)

    # --- events that arrived before their account's contact -------------------------------------------

    async def park(self, session: mongo.Session, doc: Doc) -> None:
        await self._awaiting.insert_one(doc, session=session)

    async def take_parked(self, session: mongo.Session, account_id: str) -> list[Doc]:
        cursor = self._awaiting.find({"account_id": account_id}, session=session).sort("time", ASCENDING)
        parked = await cursor.to_list()
        if parked:
            await self._awaiting.delete_many({"_id": {"$in": [d["_id"] for d in parked]}}, session=session)
        return parked

    # --- deliveries -------------------------------------------------------------------------------------

    async def add_deliveries(self, session: mongo.Session, deliveries: list[Delivery]) -> None:
        if deliveries:
            await self.staging.insert(session, self._deliveries, [d.to_doc() for d in deliveries])

    async def claim(
        self, *, channel: str, token: str, limit: int, lease_seconds: float, now: datetime
    ) -> list[Delivery]:
        """Take up to `limit` due deliveries of a channel, oldest first: pending → sending, one attempt more,
        under a lease and a claim token.

        Two commands: read the oldest due ones, then move exactly those by id, each only if it is still
        pending (so two replicas never claim the same one). When every one moved, the update's answer says
        what they now are, and they are not read again; when another replica took some meanwhile, the
        claim is read back to learn which are ours.
        """
        due = {"channel": channel, "status": Status.PENDING, "next_attempt_at": {"$lte": now}}
        found = await self._deliveries.find(due).sort("next_attempt_at", ASCENDING).limit(limit).to_list()
        if not found:
            return []
        lease_until = now + timedelta(seconds=lease_seconds)
        moved = {"status": Status.SENDING, "claim": token, "lease_until": lease_until, "updated_at": now}
        result = await self._deliveries.update_many(
            {"_id": {"$in": [d["_id"] for d in found]}, "status": Status.PENDING},
            {
                "$set": moved,
                "$inc": {"attempts": 1},
                "$unset": {"handed_over_at": ""},  # an earlier attempt's mark says nothing about this one
            },
        )
        if result.modified_count == len(found):
            claimed = [{**_without(d, "handed_over_at"), **moved, "attempts": d.get("attempts", 0) + 1} for d in found]
        elif result.modified_count == 0:
            return []
        else:
            claimed = await self._deliveries.find({"claim": token, "status": Status.SENDING}).to_list()
            claimed.sort(key=lambda d: d["next_attempt_at"])
        return [Delivery.from_doc(d) for d in claimed]

    async def extend_lease(self, *, token: str, lease_seconds: float) -> set[str]:
        """Keep holding a batch still being sent; answers the ids still held under the claim."""
        mine = {"claim": token, "status": Status.SENDING}
        until = datetime.now(UTC) + timedelta(seconds=lease_seconds)
        await self._deliveries.update_many(mine, {"$set": {"lease_until": until}})
        return {d["_id"] for d in await self._deliveries.find(mine, {"_id": 1}).to_list()}

    async def move_all(self, session: mongo.Session, moves: list[Move]) -> bool:
        """All the moves in one round trip; False when any delivery was no longer ours (the caller aborts)."""
        if not moves:
            return True
        operations = [UpdateOne(_still_ours(m), _moved(m)) for m in moves]
        result = await self._deliveries.bulk_write(operations, ordered=False, session=session)
        return result.modified_count == len(moves)

    async def move_each(self, session: mongo.Session, moves: list[Move]) -> list[bool]:
        """The moves one by one, saying which happened (slow path, after `move_all` found contention)."""
        done = []
        for m in moves:
            result = await self._deliveries.update_one(_still_ours(m), _moved(m), session=session)
            done.append(result.modified_count == 1)
        return done

    async def abandoned(self, *, now: datetime, limit: int = 200) -> list[Delivery]:
        """Deliveries left `sending` by a process that stopped without settling them (their lease ran out)."""
        abandoned = {"status": Status.SENDING, "lease_until": {"$lt": now}}
        return [Delivery.from_doc(d) for d in await self._deliveries.find(abandoned).limit(limit).to_list()]

    # --- in-app notifications -----------------------------------------------------------------------------

    async def add_notification(self, session: mongo.Session, doc: Doc) -> None:
        await self.staging.insert(session, self._notifications, [{**doc, "seq": _arrival.next()}])

    async def list_notifications(
        self, account_id: str, *, page: int, page_size: int, unread_only: bool
    ) -> tuple[list[Doc], int, int]:
        """One page of an account's notifications, newest first; with the total and the unread count."""
        query: Doc = {"account_id": account_id}
        if unread_only:
            query["read_at"] = None
        items = (
            await self._notifications.find(query)
            .sort([("created_at", DESCENDING), ("seq", DESCENDING)])
            .skip((page - 1) * page_size)
            .limit(page_size)
            .to_list()
        )
        total = await self._notifications.count_documents(query)
        unread = await self._notifications.count_documents({"account_id": account_id, "read_at": None})
        return items, total, unread

    async def mark_read(self, account_id: str, notification_id: str, now: datetime) -> Doc | None:
        """The owner's notification, marked read (the first read time is kept); None when not theirs."""
        found = await self._notifications.find_one_and_update(
            {"_id": notification_id, "account_id": account_id, "read_at": None},
            {"$set": {"read_at": now}},
            return_document=ReturnDocument.AFTER,
        )
        if found is None:
            found = await self._notifications.find_one({"_id": notification_id, "account_id": account_id})
        return found

    # --- counters shared by replicas ------------------------------------------------------------------------

    async def count_send(self, session: mongo.Session, key: str, *, window_seconds: float, now: datetime) -> int:
        """Count one more message for `key` in the current fixed window; answers the count, this one included."""
        count, _ = await counters.count(
            self._send_counters,
            key,
            now=now,
            seconds=window_seconds,
            keep=timedelta(seconds=window_seconds),
            session=session,
        )
        return count


class _MarkOnItsWay(monitoring.CommandListener):
    """Hears PyMongo start each mark: it publishes that just before it writes the command to the socket,
    with nothing awaited in between (on a client without an operation timeout)."""

    def __init__(self) -> None:
        self.awaited: dict[str, asyncio.Event] = {}

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name == "update":
            for update in event.command.get("updates", ()):
                on_its_way = self.awaited.get(str(update.get("q", {}).get("_id")))
                if on_its_way is not None:
                    on_its_way.set()

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        return None

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        return None


class HandOvers:
    """Marks a delivery `handed_over_at` at the instant its message leaves for the provider.

    `record` returns as soon as the mark has been written to the database's socket, without waiting
    for the answer, and hands back the answer to await later: the caller hands the message over (the
    SMTP end-of-data line, the SMS request) right away. The kernel keeps the two in that order and
    delivers both even if the process is killed right after, so a delivery without the mark was never
    handed over (safe to send again), and one with it may have been (never resent). Waiting for the
    answer first would open a gap of a round trip and a disk flush in which a kill leaves the mark
    without the message; not waiting for it at all (w=0) would hide a mark the database refused, and
    the message would be sent again after a crash. The mark's client has no operation timeout, so
    PyMongo writes a command in the same step it announces it (`_MarkOnItsWay`).
    """

    def __init__(self, uri: str, db_name: str) -> None:
        self._listener = _MarkOnItsWay()
        self._client = mongo.connect(uri, operation_timeout=False, listeners=[self._listener])
        self._deliveries = self._client[db_name][DELIVERIES]

    async def record(self, *, delivery_id: str, token: str, now: datetime) -> asyncio.Task[bool]:
        """Once the mark is on its way: its answer to await later (True: marked). Raises when the mark
        could not be sent at all (the database unreachable)."""
        on_its_way = asyncio.Event()
        self._listener.awaited[delivery_id] = on_its_way
        answer = asyncio.create_task(self.mark(delivery_id=delivery_id, token=token, now=now))
        sent = asyncio.create_task(on_its_way.wait())
        try:
            await asyncio.wait({answer, sent}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            sent.cancel()
            self._listener.awaited.pop(delivery_id, None)
        if answer.done() and not on_its_way.is_set():
            answer.result()  # never sent: raises what stopped it
        return answer

    async def mark(self, *, delivery_id: str, token: str, now: datetime) -> bool:
        """The mark, acknowledged; True when the delivery (still under this claim) has it."""
        result = await self._deliveries.update_one(
            {"_id": delivery_id, "claim": token, "status": Status.SENDING}, {"$set": {"handed_over_at": now}}
        )
        return result.matched_count == 1

    async def close(self) -> None:
        await self._client.close()
