"""Transactional outbox: a domain write and its events commit together; a relay publishes them.

`Outbox.add` writes events inside the caller's MongoDB transaction. The `Relay` (one active per
service, by lease) publishes pending events in write order with acks=all, marks them published and
keeps them for a replay window. When it finds one of its topics missing (deleted by an operator), it
creates it again and republishes the window; consumers deduplicate by `ce_id`, so effects still happen once.

Operators: `python -m motcua.common.outbox replay --service submission [--since 2026-11-25T10:00:00Z]`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import time
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from motcua.common import kafka, mongo
from motcua.common.clock import Ticker
from motcua.common.events import Envelope, Event, encode
from motcua.common.lease import Lease
from motcua.common.settings import ServiceSettings
from motcua.common.staging import Staging
from pymongo import ASCENDING, IndexModel
from pymongo.errors import PyMongoError

log = structlog.get_logger(__name__)

COLLECTION = "outbox"
STATE = "outbox_state"

_write_order = Ticker()  # wall-clock nanoseconds, strictly increasing within the process


INDEXES: dict[str, list[IndexModel]] = {
    COLLECTION: [
        IndexModel([("published_at", ASCENDING), ("seq", ASCENDING)], name="pending_in_order"),
        IndexModel([("topic", ASCENDING), ("created_at", ASCENDING)], name="replay_window"),
    ],
    STATE: [],
}


# What a change stream on the outbox wakes the relay for: a new event, or one marked pending again (a replay)
WAKING_CHANGES: list[dict[str, Any]] = [
    {"operationType": "insert"},
    {"operationType": "update", "updateDescription.updatedFields.published_at": {"$type": "null"}},
]


class Outbox:
    """Writes a service's events in the same transaction as the state they describe."""

    def __init__(self, db: mongo.Database, settings: ServiceSettings) -> None:
        self._events = db[COLLECTION]
        self._settings = settings
        self._source = f"/motcua/{settings.service_name}"
        self.written = asyncio.Event()

    async def add(
        self,
        session: mongo.Session,
        events: Iterable[Event],
        *,
        request_id: str | None = None,
        staging: Staging | None = None,
    ) -> list[Envelope]:
        """Stage events inside the caller's transaction; they are published only if it commits, to their
        topic and to the topics they are copied to (`Event.copied_to`)."""
        return await self.add_each(session, [(e, request_id) for e in events], staging=staging)

    async def add_each(
        self, session: mongo.Session, events: Iterable[tuple[Event, str | None]], *, staging: Staging | None = None
    ) -> list[Envelope]:
        """`add` for events caused by different requests, each with its own request id: one insert for all
        (with `staging`, staged in it to be written with the rest of the transaction's inserts)."""
        envelopes = [Envelope(data=e, source=self._source, request_id=request_id) for e, request_id in events]
        if not envelopes:
            return []
        now = datetime.now(UTC)
        docs = []
        for env in envelopes:
            record = encode(env)
            # the event's own topic, then its copies (same record, same ce_id): one document each, in order
            for n, topic in enumerate((env.data.topic, *env.data.copied_to())):
                docs.append(
                    {
                        "_id": env.id if n == 0 else f"{env.id}>{topic}",
                        "seq": _write_order.next(),
                        "type": env.type,
                        "topic": self._settings.topic(topic),
                        "key": record.key,
                        "value": record.value,
                        "headers": [[k, v] for k, v in record.headers],
                        "created_at": now,
                        "published_at": None,
                    }
                )
        if staging is not None:
            await staging.insert(session, self._events, docs)
        else:
            await self._events.insert_many(docs, session=session, ordered=True)
        return envelopes

    def notify(self) -> None:
        """Tell this process's relay there is something to publish (call after the commit)."""
        self.written.set()


class Relay:
    """Publishes pending outbox events in order; one relay per service holds the lease at a time."""

    def __init__(
        self,
        db: mongo.Database,
        settings: ServiceSettings,
        outbox: Outbox,
        *,
        batch_size: int = 500,
        idle_poll_seconds: float = 30.0,
        lease_seconds: float = 10.0,
        topic_check_seconds: float = 30.0,
    ) -> None:
        self._events = db[COLLECTION]
        self._state = db[STATE]
        self._settings = settings
        self._outbox = outbox
        self._batch_size = batch_size
        self._idle_poll = idle_poll_seconds
        self._lease_seconds = lease_seconds
        self._topic_check_seconds = topic_check_seconds
        self._owner = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._producer: AIOKafkaProducer | None = None
        self._stopping = asyncio.Event()
        self._last_topic_check = 0.0
        self._last_prune = 0.0
        self._topics_made: set[str] = set()  # topics this service made (the `topics` state, as last read)
        self._woken = True  # look once at start: events may have waited for us
        self._next_poll = 0.0
        self._lease = Lease(self._state, "relay_lease", seconds=lease_seconds, owner=self._owner)
        self.published = 0
        self.healthy = False

    async def run(self) -> None:
        """Publish until `stop()`; survives broker and database outages by waiting and retrying.

        It wakes when this process commits events (`Outbox.notify`) and when any replica does (a change
        stream on the outbox); `idle_poll_seconds` is only the safety net for a stream that missed one.
        """
        self._producer = kafka.producer(self._settings)
        await kafka.start_with_retry(self._producer)
        log.info("relay_started", owner=self._owner)
        watcher = asyncio.create_task(self._watch_inserts())
        try:
            while not self._stopping.is_set():
                try:
                    await self._round()
                except (KafkaError, OSError) as exc:
                    self.healthy = False
                    log.warning("relay_broker_trouble", error=str(exc))
                    self._last_topic_check = 0.0  # a topic may have been deleted meanwhile: look before sending
                    await self._sleep(1.0)
                    self._woken = True
                except PyMongoError as exc:
                    self.healthy = False
                    log.warning("relay_database_trouble", error=str(exc))
                    await self._sleep(1.0)
                    self._woken = True
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
            await self._lease.release()
            await self._producer.stop()
            log.info("relay_stopped", published=self.published)

    async def _round(self) -> None:
        """Hold the lease; publish when woken by a write (or the safety poll is due); otherwise wait.

        An idle relay reads nothing: it only renews its lease, every third of the lease's length.
        """
        if not await self._lease.hold():
            await self._sleep(self._lease_seconds / 3)
            self._woken = True  # the next holder must look: the last one may have died mid-batch
            return
        if time.monotonic() - self._last_topic_check > self._topic_check_seconds:
            await self._check_topics()
        if self._woken or time.monotonic() >= self._next_poll:
            self._woken = False
            self._next_poll = time.monotonic() + self._idle_poll
            if await self._publish_batch() > 0:
                self._woken = True  # there may be more: look again at once
                return
            await self._prune()
        self._woken = await self._sleep(self._lease_seconds / 3)

    async def _watch_inserts(self) -> None:
        """Wake the relay when any replica writes an event, or a replay marks events pending again."""
        while not self._stopping.is_set():
            try:
                pipeline: list[dict[str, Any]] = [{"$match": {"$or": WAKING_CHANGES}}, {"$project": {"_id": 1}}]
                async with await self._events.watch(pipeline, max_await_time_ms=5000) as stream:
                    self._outbox.written.set()  # anything written while the stream was not open
                    async for _ in stream:
                        self._outbox.written.set()
            except PyMongoError as exc:
                log.warning("relay_change_stream_trouble", error=str(exc))
                await asyncio.sleep(1.0)

    async def stop(self, *, drain_seconds: float = 5.0) -> None:
        """Publish what is pending (for at most `drain_seconds`), then stop."""
        deadline = time.monotonic() + drain_seconds
        while time.monotonic() < deadline and self.healthy:
            if await self._events.count_documents({"published_at": None}, limit=1) == 0:
                break
            await asyncio.sleep(0.05)
        self._stopping.set()
        self._outbox.written.set()

    async def _sleep(self, seconds: float) -> bool:
        """Wait up to `seconds` for a write; True when one woke us."""
        try:
            await asyncio.wait_for(self._outbox.written.wait(), seconds)
            woken = True
        except TimeoutError:
            woken = False
        self._outbox.written.clear()
        return woken

    async def _publish_batch(self) -> int:
        assert self._producer is not None
        pending = (
            await self._events.find({"published_at": None}).sort("seq", ASCENDING).limit(self._batch_size).to_list()
        )
        if not pending:
            self.healthy = True
            return 0
        new_topics = {d["topic"] for d in pending} - self._topics_made
        if new_topics:  # the list in the database only grows: read it only when a batch names a topic not seen yet
            new_topics -= set(await self._known_topics())
        if new_topics:
            await kafka.ensure_topics(
                self._settings.kafka_bootstrap_servers, sorted(new_topics), **kafka.topic_options(self._settings)
            )
            await self._state.update_one(
                {"_id": "topics"}, {"$addToSet": {"names": {"$each": sorted(new_topics)}}}, upsert=True
            )
        self._topics_made.update(d["topic"] for d in pending)
        futures = [
            await self._producer.send(
                d["topic"], value=d["value"], key=d["key"], headers=[(k, v) for k, v in d["headers"]]
            )
            for d in pending
        ]
        done: list[dict[str, Any]] = []
        error: BaseException | None = None
        for doc, fut in zip(pending, futures, strict=True):
            try:
                await fut
            except KafkaError as exc:
                error = exc
                break  # later ones are republished next round, in order
            done.append(doc)
        if done:
            await self._mark_published(done)
            self.published += len(done)
        if error is not None:
            raise error
        self.healthy = True
        return len(done)

    async def _mark_published(self, done: list[dict[str, Any]]) -> None:
        """Mark by `seq` range (cheap), then un-mark anything in the range we did not send.

        A transaction that took its `seq` before ours but committed after our read lands inside
        the range unsent; the batch token finds exactly those, so they stay pending.
        """
        token = uuid.uuid4().hex
        result = await self._events.update_many(
            {"published_at": None, "seq": {"$gte": done[0]["seq"], "$lte": done[-1]["seq"]}},
            {"$set": {"published_at": datetime.now(UTC), "batch": token}},
        )
        if result.modified_count != len(done):
            sent = [d["_id"] for d in done]
            await self._events.update_many(
                {"batch": token, "_id": {"$nin": sent}}, {"$set": {"published_at": None, "batch": None}}
            )

    async def _known_topics(self) -> list[str]:
        doc = await self._state.find_one({"_id": "topics"})
        names = list(doc["names"]) if doc else []
        self._topics_made.update(names)
        return names

    async def _check_topics(self) -> None:
        """A topic we published to is gone (an operator deleted it): create it again and republish the window.

        Topic auto-creation is off, as in production, so a topic that exists is one we (or the operator)
        made; only an absent one counts as lost, and one loss causes one replay.
        """
        known = await self._known_topics()
        self._last_topic_check = time.monotonic()
        if not known:
            return
        options = kafka.client_options(self._settings)
        present = await kafka.existing_topics(self._settings.kafka_bootstrap_servers, **options)
        lost = [t for t in known if t not in present]
        if not lost:
            return
        await kafka.ensure_topics(self._settings.kafka_bootstrap_servers, lost, **kafka.topic_options(self._settings))
        if self._producer is not None:
            await self._producer.client.force_metadata_update()
        since = datetime.now(UTC) - timedelta(hours=self._settings.outbox_replay_window_hours)
        result = await self._events.update_many(
            {"topic": {"$in": lost}, "created_at": {"$gte": since}, "published_at": {"$ne": None}},
            {"$set": {"published_at": None}},
        )
        log.warning("relay_topics_missing_replaying", topics=lost, events=result.modified_count)

    async def _prune(self) -> None:
        """Forget published events older than the replay window (at most once a minute)."""
        now = time.monotonic()
        if now - self._last_prune < 60:
            return
        self._last_prune = now
        cutoff = datetime.now(UTC) - timedelta(hours=self._settings.outbox_replay_window_hours)
        await self._events.delete_many({"published_at": {"$ne": None, "$lt": cutoff}})


async def replay(db: mongo.Database, *, since: datetime, topic: str | None = None) -> int:
    """Mark published events since `since` as pending again; the running relay republishes them."""
    query: dict[str, Any] = {"created_at": {"$gte": since}, "published_at": {"$ne": None}}
    if topic:
        query["topic"] = topic
    result = await db[COLLECTION].update_many(query, {"$set": {"published_at": None}})
    return int(result.modified_count)


def _main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m motcua.common.outbox")
    sub = parser.add_subparsers(dest="command", required=True)
    rp = sub.add_parser("replay", help="republish a service's events from its replay window")
    rp.add_argument("--service", required=True, choices=["identity", "catalogue", "submission", "notification"])
    rp.add_argument("--since", help="ISO time; default: the whole window")
    rp.add_argument("--topic", help="only this topic (with its prefix)")
    args = parser.parse_args(argv)
    settings = ServiceSettings(service_name=args.service)
    since = (
        datetime.fromisoformat(args.since.replace("Z", "+00:00"))
        if args.since
        else datetime.now(UTC) - timedelta(hours=settings.outbox_replay_window_hours)
    )

    async def run() -> int:
        client = mongo.connect(settings.mongodb_uri)
        try:
            return await replay(client[settings.database_name], since=since, topic=args.topic)
        finally:
            await client.close()

    count = asyncio.run(run())
    print(f"{count} events of {args.service} marked for republishing since {since.isoformat()}")  # noqa: T201


if __name__ == "__main__":
    _main()
