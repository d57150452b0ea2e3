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
from motcua.common.waiting import set_within
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


STREAM_AWAIT_MS = 2000  # how long the server holds one wait of the change stream for changes (< timeoutMS)

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
        self.commits = 0  # how many times this process said it committed events (`notify`)

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
        self.commits += 1
        self.written.set()


def _ignore_outcome(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()


class Announcements:
    """What the outbox's change stream announced, so that a read which already covered it is not followed by
    another that finds nothing.

    It keeps the ids of inserts announced and not yet read, the recent ids read as pending (their own
    announcement, often arriving after the read, says nothing new), and a count of the changes that always
    mean a look: events marked pending again, a reopened stream, a flood of inserts too large to keep by id.
    """

    def __init__(self, *, keep: int) -> None:
        self._keep = keep
        self._ids: set[str] = set()
        self._read: dict[str, None] = {}
        self._looks = 0

    def must_look(self) -> None:
        """A change that means a look whatever a read in progress finds."""
        self._looks += 1

    def forget(self) -> None:
        """Forget what was announced (a relay that takes the lease looks at once anyway)."""
        self._ids.clear()

    def note(self, change: dict[str, Any]) -> bool:
        """Note a change the stream reports; False when it is an insert already read (no wake needed)."""
        if change.get("operationType") != "insert":
            self.must_look()
            return True
        event_id = str(change.get("documentKey", {}).get("_id"))
        if event_id in self._read:
            return False
        if len(self._ids) >= self._keep:
            # A flood: forget the ids rather than keep every one, and count it as a change that always means
            # a look, so that the read in progress (which may not cover them) cannot clear the wake they caused.
            self._ids.clear()
            self.must_look()
        self._ids.add(event_id)
        return True

    def before_read(self) -> tuple[frozenset[str], int]:
        """What a read about to start will cover: the ids announced so far, and the count of looks."""
        return frozenset(self._ids), self._looks

    def covered(self, before: tuple[frozenset[str], int], found: list[str]) -> bool:
        """After a read that was not full: forget the announcements it covered (made before it started, or of
        what it found); True when nothing came meanwhile that it may not have seen."""
        ids, looks = before
        for event_id in found:
            self._read[event_id] = None
        while len(self._read) > self._keep:
            del self._read[next(iter(self._read))]
        self._ids -= ids | set(found)
        return not self._ids and looks == self._looks


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
        self._announcements = Announcements(keep=10 * batch_size)
        self.published = 0
        self.healthy = False

    async def run(self) -> None:
        """Publish until `stop()`; survives broker and database outages by waiting and retrying.

        It wakes when this process commits events (`Outbox.notify`) and when any replica does (a change
        stream on the outbox); `idle_poll_seconds` is only the safety net for a stream that missed one.
        """
        self._producer = await self._new_producer()
        log.info("relay_started", owner=self._owner)
        watcher = asyncio.create_task(self._watch_inserts())
        try:
            while not self._stopping.is_set():
                try:
                    await self._round()
                except (KafkaError, OSError) as exc:
                    self.healthy = False
                    log.warning("relay_broker_trouble", error=repr(exc))
                    if kafka.spends_producer(exc):
                        await self._replace_producer(exc)
                    self._last_topic_check = 0.0  # a topic may have been deleted meanwhile: look before sending
                    await self._sleep(1.0)
                    self._woken = True
                except PyMongoError as exc:
                    self.healthy = False
                    log.warning("relay_database_trouble", error=str(exc))
                    await self._sleep(1.0)
                    self._woken = True
        finally:
            self._stopping.set()  # cancelled rather than stopped: the watcher's loop ends too
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
            await self._lease.release()
            if self._producer is not None:
                await self._producer.stop()
            log.info("relay_stopped", published=self.published)

    async def _new_producer(self) -> AIOKafkaProducer:
        return await kafka.started_producer(self._settings)

    async def _replace_producer(self, exc: BaseException) -> None:
        """A producer that cannot send again is stopped and a new one started (a new producer id, fresh
        sequence numbers). What the old one may have written without an answer is published again; the
        consumers' inbox makes that a no-op."""
        spent, self._producer = self._producer, None
        log.warning("relay_producer_replaced", error=repr(exc))
        if spent is not None:
            await kafka.stop_quietly(spent)
        self._producer = await self._new_producer()

    async def _round(self) -> None:
        """Hold the lease; publish when woken by a write (or the safety poll is due); otherwise wait.

        An idle relay reads nothing: it only renews its lease, every third of the lease's length.
        """
        if not await self._lease.hold():
            self._announcements.forget()  # a holder looks at once when it takes the lease
            await self._sleep(self._lease_seconds / 3)
            self._woken = True  # the next holder must look: the last one may have died mid-batch
            return
        if time.monotonic() - self._last_topic_check > self._topic_check_seconds:
            await self._check_topics()
        if self._woken or time.monotonic() >= self._next_poll:
            self._woken = False
            self._next_poll = time.monotonic() + self._idle_poll
            if await self._publish_batch() >= self._batch_size:
                self._woken = True  # there may be more: look again at once
                return
            await self._prune()
        self._woken = await self._sleep(self._lease_seconds / 3)

    async def _watch_inserts(self) -> None:
        """Wake the relay when any replica writes an event, or a replay marks events pending again."""
        while not self._stopping.is_set():
            try:
                pipeline: list[dict[str, Any]] = [
                    {"$match": {"$or": WAKING_CHANGES}},
                    {"$project": {"_id": 1, "operationType": 1, "documentKey": 1}},
                ]
                async with await self._events.watch(pipeline, max_await_time_ms=STREAM_AWAIT_MS) as stream:
                    self._announcements.must_look()  # anything written while the stream was not open: a look,
                    self._outbox.written.set()  # even if a read in progress meanwhile found nothing
                    while not self._stopping.is_set():
                        # one wait at a time, each inside the client's 5 s per-operation limit (timeoutMS): `async
                        # for` waits for a change under one such limit, so a quiet stream failed every 5 s and was
                        # reopened, and the relay read the outbox each time
                        change = await stream.try_next()
                        if change is not None and self._announcements.note(change):
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
        woken = await set_within(self._outbox.written, seconds)
        self._outbox.written.clear()
        return woken

    async def _publish_batch(self) -> int:
        assert self._producer is not None
        before, commits = self._announcements.before_read(), self._outbox.commits
        pending = (
            await self._events.find({"published_at": None}).sort("seq", ASCENDING).limit(self._batch_size).to_list()
        )
        if len(pending) < self._batch_size:
            covered = self._announcements.covered(before, [str(d["_id"]) for d in pending])
            if covered and commits == self._outbox.commits:
                self._outbox.written.clear()  # the wake this read answered: no second, empty read
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
        for fut in futures[len(done) + 1 :]:  # their outcome no longer matters: retrieve it, so nothing is left unread
            fut.add_done_callback(_ignore_outcome)
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
