"""The event backbone under failure: relay killed, consumer killed, handler failing, topic lost, broker killed."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError, OutOfOrderSequenceNumber
from motcua.common import kafka, mongo, topics
from motcua.common.consumer import INDEXES as INBOX_INDEXES
from motcua.common.consumer import Consumer, Handler
from motcua.common.contracts.identity import AccountLocked
from motcua.common.events import Envelope, encode
from motcua.common.outbox import INDEXES as OUTBOX_INDEXES
from motcua.common.outbox import Outbox, Relay
from motcua.common.settings import ServiceSettings
from motcua.devtools import devservers
from motcua.devtools.testing import Isolation, Stack, eventually
from pymongo import monitoring
from structlog.testing import capture_logs

TOPIC = topics.IDENTITY_ACCOUNT


def _settings(stack: Stack, isolation: Isolation, **overrides: object) -> ServiceSettings:
    values: dict[str, object] = {
        "service_name": "identity",
        "mongodb_uri": stack.mongodb_uri,
        "mongodb_db": isolation.db_name,
        "kafka_bootstrap_servers": stack.kafka_bootstrap,
        "kafka_topic_prefix": isolation.topic_prefix,
        "consumer_max_attempts": 3,
        "consumer_retry_backoff_seconds": 0.01,
        **overrides,
    }
    return ServiceSettings.model_validate(values)


def _locked(account_id: str, n: int) -> AccountLocked:
    return AccountLocked(account_id=account_id, locked_until=datetime.now(UTC), failed_attempts=n)


async def _schema(db: mongo.Database) -> None:
    await mongo.ensure_collections(db, {**OUTBOX_INDEXES, **INBOX_INDEXES, "effects": [], "accounts": [], "order": []})


async def _prepared(client: mongo.Client, settings: ServiceSettings) -> tuple[mongo.Database, Outbox]:
    """The test's database, with the outbox's and the inbox's schema, and its outbox."""
    db = client[settings.database_name]
    await _schema(db)
    return db, Outbox(db, settings)


@contextlib.asynccontextmanager
async def _running(coro: Awaitable[None]) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.ensure_future(coro)
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


def _counting_consumer(
    client: mongo.Client,
    db: mongo.Database,
    settings: ServiceSettings,
    group: str = "g",
    *,
    kind: type[Consumer] = Consumer,
    handler: Handler | None = None,
) -> Consumer:
    """A consumer of TOPIC (of `kind`) whose handler writes each event's effect (or runs `handler`)."""
    return kind(
        client=client,
        db=db,
        settings=settings,
        group=group,
        topic_names=[TOPIC],
        handlers={AccountLocked.ce_type: handler or _counting_handler(db)},
    )


def _counting_handler(db: mongo.Database) -> Handler:
    """The handler's effect: one document per (event id), with the per-key order it saw."""

    async def handle(envelope: Envelope, session: mongo.Session) -> None:
        data = envelope.data
        assert isinstance(data, AccountLocked)
        await db["effects"].insert_one(
            {"event_id": envelope.id, "key": data.account_id, "n": data.failed_attempts, "at": time.monotonic_ns()},
            session=session,
        )

    return handle


async def _write_events(client: mongo.Client, outbox: Outbox, keys: list[str], per_key: int) -> None:
    """Write events in transactions of 50, as a busy service would."""
    events = [_locked(k, n) for n in range(per_key) for k in keys]
    for start in range(0, len(events), 50):
        chunk = events[start : start + 50]

        async def work(session: mongo.Session, chunk: list[AccountLocked] = chunk) -> None:
            await outbox.add(session, chunk)

        await mongo.in_transaction(client, work)
        outbox.notify()


async def _add(client: mongo.Client, outbox: Outbox, *events: AccountLocked, marked: list[str] | None = None) -> None:
    """Commit `events` in one transaction and tell this process's relay (noting "notify" in `marked` as it does,
    among the commands a listener records there)."""

    async def work(session: mongo.Session) -> None:
        await outbox.add(session, list(events))

    await mongo.in_transaction(client, work)
    if marked is not None:
        marked.append("notify")
    outbox.notify()


@pytest.mark.timeout(600)
async def test_ten_thousand_events_survive_a_relay_killed_mid_stream_and_reach_a_group_of_two_once_each(
    stack: Stack, isolation: Isolation, mongo_client: mongo.Client
) -> None:
    settings = _settings(stack, isolation)
    db, outbox = await _prepared(mongo_client, settings)
    keys = [f"acc-{i}" for i in range(40)]
    per_key = 250
    total = len(keys) * per_key
    consumers = [_counting_consumer(mongo_client, db, settings, "effects") for _ in range(2)]
    first_relay = Relay(db, settings, outbox, lease_seconds=2.0)
    async with _running(consumers[0].run()), _running(consumers[1].run()):
        async with _running(first_relay.run()) as relay_task:
            writer = asyncio.create_task(_write_events(mongo_client, outbox, keys, per_key))
            await eventually(lambda: _published_at_least(db, 1500), timeout=60)
            relay_task.cancel()  # killed mid-stream: no drain, lease not released
            with contextlib.suppress(asyncio.CancelledError):
                await relay_task
            await writer
        assert await db["outbox"].count_documents({"published_at": None}) > 0
        async with _running(Relay(db, settings, outbox, lease_seconds=2.0).run()):
            await eventually(lambda: _effects_at_least(db, total), timeout=400)
            await asyncio.sleep(1.0)  # anything duplicated would show up now
    assert await db["effects"].count_documents({}) == total
    assert len(await db["effects"].distinct("event_id")) == total
    seen: dict[str, list[tuple[int, int]]] = {}
    async for doc in db["effects"].find():
        seen.setdefault(doc["key"], []).append((doc["at"], doc["n"]))
    for key, effects in seen.items():
        assert [n for _, n in sorted(effects)] == list(range(per_key)), f"out of order for {key}"
    assert consumers[0].handled > 0
    assert consumers[1].handled > 0


async def _published_at_least(db: mongo.Database, n: int) -> bool:
    return await db["outbox"].count_documents({"published_at": {"$ne": None}}) >= n


async def _effects_at_least(db: mongo.Database, n: int) -> bool:
    return await db["effects"].count_documents({}) >= n


async def test_a_failing_handler_is_retried_then_its_record_is_dead_lettered_and_consumption_goes_on(
    stack: Stack, isolation: Isolation, mongo_client: mongo.Client
) -> None:
    settings = _settings(stack, isolation)
    db = mongo_client[settings.database_name]
    await _schema(db)
    calls: dict[str, int] = {}

    async def handle(envelope: Envelope, session: mongo.Session) -> None:
        data = envelope.data
        assert isinstance(data, AccountLocked)
        calls[data.account_id] = calls.get(data.account_id, 0) + 1
        if data.account_id == "poison":
            raise ValueError("cannot handle the poison account")
        await db["effects"].insert_one({"key": data.account_id}, session=session)

    outbox = Outbox(db, settings)

    async def work(session: mongo.Session) -> None:
        await outbox.add(session, [_locked("a", 1), _locked("poison", 1), _locked("b", 1)])

    await mongo.in_transaction(mongo_client, work)
    consumer = _counting_consumer(mongo_client, db, settings, handler=handle)
    async with _running(Relay(db, settings, outbox).run()), _running(consumer.run()):
        await eventually(lambda: _effects_at_least(db, 2))
        dead = await _read_raw(stack.kafka_bootstrap, topics.dead_letter(settings.topic(TOPIC)), 1)
    assert calls["poison"] == 3
    assert sorted([d["key"] async for d in db["effects"].find()]) == ["a", "b"]
    headers = dict(dead[0][1])
    assert b"cannot handle the poison account" in headers["dlq_error"]
    assert headers["ce_type"] == AccountLocked.ce_type.encode()
    assert b'"account_id":"poison"' in dead[0][0]


async def _read_raw(bootstrap: str, topic: str, count: int) -> list[tuple[bytes, list[tuple[str, bytes]]]]:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"r-{uuid.uuid4().hex[:6]}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    found: list[tuple[bytes, list[tuple[str, bytes]]]] = []
    try:

        async def enough() -> bool:
            for records in (await consumer.getmany(timeout_ms=200)).values():
                found.extend((r.value or b"", list(r.headers)) for r in records)
            return len(found) >= count

        await eventually(enough, timeout=20)
    finally:
        await consumer.stop()
    return found


_BAD_RECORDS = [
    # (value, how to spoil the headers, the reason that must reach the dead-letter topic)
    (b"{}", "only_type", b"missing CloudEvents headers"),
    (b"{}", "unknown_type", b"unknown event type"),
    (b"{oops", "keep", b"not JSON"),
    (b'{"account_id": 7}', "keep", b"does not match"),
]


async def test_bad_records_go_to_the_dead_letter_topic_and_never_stop_the_consumer(
    stack: Stack, isolation: Isolation, mongo_client: mongo.Client
) -> None:
    settings = _settings(stack, isolation)
    db = mongo_client[settings.database_name]
    await _schema(db)
    good = encode(Envelope(_locked("after", 1), source="/motcua/identity"))
    Headers = list[tuple[str, bytes]]
    spoilers: dict[str, Callable[[Headers], Headers]] = {
        "only_type": lambda h: [(k, v) for k, v in h if k == "ce_type"],
        "unknown_type": lambda h: [(k, b"motcua.nobody.Unknown.v1" if k == "ce_type" else v) for k, v in h],
        "keep": lambda h: h,
    }
    topic = settings.topic(TOPIC)
    consumer = _counting_consumer(mongo_client, db, settings)
    async with _running(consumer.run()):
        producer = AIOKafkaProducer(bootstrap_servers=stack.kafka_bootstrap)
        await producer.start()
        try:
            for value, spoil, _ in _BAD_RECORDS:
                await producer.send_and_wait(topic, value=value, key=b"k", headers=spoilers[spoil](good.headers))
            await producer.send_and_wait(topic, value=good.value, key=b"k", headers=good.headers)
        finally:
            await producer.stop()
        await eventually(lambda: _effects_at_least(db, 1))
        dead = await _read_raw(stack.kafka_bootstrap, topics.dead_letter(topic), len(_BAD_RECORDS))
    assert [v for v, _ in dead] == [v for v, _, _ in _BAD_RECORDS]
    for (_, headers), (_, _, reason) in zip(dead, _BAD_RECORDS, strict=True):
        assert reason in dict(headers)["dlq_error"]
    assert consumer.dead_lettered == len(_BAD_RECORDS)


class _DiesBeforeCommit(Consumer):
    """A consumer process that dies after handling a record but before committing its offset."""

    async def _commit(self, offsets: object) -> None:
        raise asyncio.CancelledError


async def test_a_consumer_killed_before_committing_gets_the_event_again_and_the_inbox_makes_it_a_no_op(
    stack: Stack, isolation: Isolation, mongo_client: mongo.Client
) -> None:
    settings = _settings(stack, isolation)
    db, outbox = await _prepared(mongo_client, settings)

    async def work(session: mongo.Session) -> None:
        await outbox.add(session, [_locked("only", 1)])

    await mongo.in_transaction(mongo_client, work)
    async with _running(Relay(db, settings, outbox).run()):
        dying = _counting_consumer(mongo_client, db, settings, kind=_DiesBeforeCommit)
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(dying.run(), 30)
        assert dying.handled == 1
        again = _counting_consumer(mongo_client, db, settings)
        async with _running(again.run()):
            await eventually(lambda: _inbox_saw_duplicate(again), timeout=30)
    assert await db["effects"].count_documents({}) == 1


async def _inbox_saw_duplicate(consumer: Consumer) -> bool:
    return consumer.last_poll > 0 and consumer.handled == 1


async def test_a_failure_between_the_domain_write_and_the_outbox_write_leaves_neither(
    stack: Stack, isolation: Isolation, mongo_client: mongo.Client
) -> None:
    settings = _settings(stack, isolation)
    db, outbox = await _prepared(mongo_client, settings)

    async def work(session: mongo.Session) -> None:
        await db["accounts"].insert_one({"_id": "acc-1", "status": "locked"}, session=session)
        raise RuntimeError("crash between the two writes")
        await outbox.add(session, [_locked("acc-1", 5)])  # pragma: no cover

    with pytest.raises(RuntimeError):
        await mongo.in_transaction(mongo_client, work)

    async def outbox_fails(session: mongo.Session) -> None:
        await db["accounts"].insert_one({"_id": "acc-2", "status": "locked"}, session=session)
        await outbox.add(session, [_locked("acc-2", 5)])
        await db["outbox"].insert_one(
            {"_id": (await db["outbox"].find_one({}, session=session) or {})["_id"]}, session=session
        )  # duplicate key: the outbox write fails

    with pytest.raises(Exception, match="duplicate key"):
        await mongo.in_transaction(mongo_client, outbox_fails)
    assert await db["accounts"].count_documents({}) == 0
    assert await db["outbox"].count_documents({}) == 0


async def test_a_relay_that_finds_its_topic_deleted_republishes_the_window_and_effects_still_happen_once(
    stack: Stack, isolation: Isolation, mongo_client: mongo.Client
) -> None:
    settings = _settings(stack, isolation)
    db, outbox = await _prepared(mongo_client, settings)
    relay = Relay(db, settings, outbox, topic_check_seconds=0.5)
    with capture_logs() as logs:
        async with _running(relay.run()):
            await _write_events(mongo_client, outbox, ["x", "y"], 10)
            await eventually(lambda: _published_at_least(db, 20))
            consumer = _counting_consumer(mongo_client, db, settings)
            async with _running(consumer.run()):
                await eventually(lambda: _effects_at_least(db, 20))
            await _delete_topic(stack.kafka_bootstrap, settings.topic(TOPIC))  # an operator's mistake
            # the relay notices, recreates the topic and republishes its window
            await eventually(lambda: _relay_published(relay, 40), timeout=30)
            check = await _read_raw(stack.kafka_bootstrap, settings.topic(TOPIC), 20)
            assert len(check) == 20
            again = _counting_consumer(mongo_client, db, settings)
            async with _running(again.run()):
                await eventually(lambda: _handled_at_least(again, 20), timeout=30)
                await asyncio.sleep(1.0)
    assert await db["effects"].count_documents({}) == 20
    assert [e["topics"] for e in logs if e["event"] == "relay_topics_missing_replaying"] == [[settings.topic(TOPIC)]]


async def _delete_topic(bootstrap: str, name: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.delete_topics([name])
        await eventually(lambda: _topic_absent(admin, name))
    finally:
        await admin.close()


async def _topic_absent(admin: AIOKafkaAdminClient, name: str) -> bool:
    return name not in await admin.list_topics()


@dataclass
class _Backbone:
    """A relay and a counting consumer on a private broker the test may kill."""

    settings: ServiceSettings
    broker: devservers.ServerProcess
    client: mongo.Client
    db: mongo.Database
    outbox: Outbox
    relay: Relay


@contextlib.asynccontextmanager
async def _backbone(stack: Stack, isolation: Isolation) -> AsyncIterator[_Backbone]:
    settings = _settings(stack, isolation)
    assert stack.kafka is not None
    client = mongo.connect(stack.mongodb_uri)
    db = client[settings.database_name]
    await _schema(db)
    outbox = Outbox(db, settings)
    relay = Relay(db, settings, outbox, topic_check_seconds=0.5)
    try:
        async with _running(relay.run()), _running(_counting_consumer(client, db, settings).run()):
            yield _Backbone(settings, stack.kafka, client, db, outbox, relay)
    finally:
        await client.close()


@pytest.mark.timeout(300)
async def test_a_broker_killed_mid_produce_and_restarted_delivers_every_held_event_once_without_a_replay(
    private_stack: Stack, isolation: Isolation
) -> None:
    keys, per_key = [f"acc-{i}" for i in range(20)], 100
    total = len(keys) * per_key
    with capture_logs() as logs:
        async with _backbone(private_stack, isolation) as it:
            writer = asyncio.create_task(_write_events(it.client, it.outbox, keys, per_key))
            await eventually(lambda: _published_at_least(it.db, 200), timeout=60)
            await asyncio.to_thread(it.broker.kill)  # SIGKILL while the relay is producing
            await writer  # the writes go on: their events wait in the outbox
            assert await it.db["outbox"].count_documents({"published_at": None}) > 0
            await asyncio.to_thread(it.broker.start)  # the same log directory: the log survived
            await eventually(lambda: _effects_at_least(it.db, total), timeout=180)
            await asyncio.sleep(1.0)  # anything handled twice would show up now
            on_the_log = await _read_raw(private_stack.kafka_bootstrap, it.settings.topic(TOPIC), total)
            assert await it.db["effects"].count_documents({}) == total
            assert len(await it.db["effects"].distinct("event_id")) == total
            ids_on_the_log = {dict(headers)["ce_id"].decode() for _, headers in on_the_log}
            assert ids_on_the_log == set(await it.db["outbox"].distinct("_id"))
    # nothing replayed: each event was marked published once, and the relay never took the topic for lost
    assert it.relay.published == total
    assert not [e for e in logs if e["event"] == "relay_topics_missing_replaying"]


@pytest.mark.timeout(300)
async def test_a_broker_down_longer_than_the_delivery_timeout_keeps_events_in_the_outbox_until_it_returns(
    private_stack: Stack, isolation: Isolation
) -> None:
    async with _backbone(private_stack, isolation) as it:
        await _write_events(it.client, it.outbox, ["before"], 10)
        await eventually(lambda: _effects_at_least(it.db, 10), timeout=60)
        await asyncio.to_thread(it.broker.stop)
        await _write_events(it.client, it.outbox, ["during"], 10)  # the domain writes succeed
        # longer than the producer's request timeout (10 s): its sends expire and are tried again
        await asyncio.sleep(kafka.REQUEST_TIMEOUT_MS / 1000 + 3)
        assert await it.db["outbox"].count_documents({"published_at": None}) == 10
        assert not it.relay.healthy
        await asyncio.to_thread(it.broker.start)
        await eventually(lambda: _effects_at_least(it.db, 20), timeout=120)
        await asyncio.sleep(1.0)
        assert await it.db["effects"].count_documents({}) == 20
        assert await it.db["outbox"].count_documents({"published_at": None}) == 0


async def test_an_idle_relay_reads_nothing_and_wakes_on_another_replicas_commit_through_a_change_stream(
    stack: Stack, isolation: Isolation, mongo_client: mongo.Client
) -> None:
    settings = _settings(stack, isolation)
    db = mongo_client[settings.database_name]
    await _schema(db)
    # the relay polls only once a minute: what it publishes sooner, a change stream told it about
    reads: list[str] = []
    listener = _CommandNames(reads)
    watched = mongo.connect(stack.mongodb_uri, listeners=[listener])
    relay = Relay(
        watched[settings.database_name],
        settings,
        Outbox(watched[settings.database_name], settings),
        idle_poll_seconds=60,
    )
    other_replica = Outbox(db, settings)  # another process: its commits never call our relay's notify
    try:
        async with _running(relay.run()):
            await eventually(lambda: _relay_healthy(relay))
            await eventually(lambda: _answered(listener, "aggregate"))  # the change stream is open,
            await asyncio.sleep(1.0)  # and the look its opening asks for is over
            reads.clear()
            await asyncio.sleep(4.0)  # idle: nothing to publish
            assert [r for r in reads if r in ("find", "aggregate", "count")] == []
            await _write_events(mongo_client, other_replica, ["remote"], 3)
            await eventually(lambda: _published_at_least(db, 3), timeout=10)
    finally:
        await watched.close()
    assert relay.published == 3


class _CommandNames(monitoring.CommandListener):
    """The names of the commands a client sends, or only those naming `collection` (then the change stream's
    getMore, which names a cursor, is left out)."""

    def __init__(self, names: list[str] | None = None, *, collection: str | None = None, notices: bool = False) -> None:
        self.names = names if names is not None else []
        self._collection = collection
        self._notices = notices  # also note "notice" when a getMore brings changes (a change stream's notice)
        self._asked: dict[int, str] = {}
        self.answered: list[str] = []  # the names of those commands the server has answered

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if self._collection is None or event.command.get(event.command_name) == self._collection:
            self.names.append(event.command_name)
            self._asked[event.request_id] = event.command_name

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        if self._notices and event.command_name == "getMore" and event.reply.get("cursor", {}).get("nextBatch"):
            self.names.append("notice")
        if event.request_id in self._asked:
            self.answered.append(self._asked.pop(event.request_id))

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


async def _answered(listener: _CommandNames, name: str) -> bool:
    return name in listener.answered


async def _noticed(listener: _CommandNames) -> bool:
    return "notice" in listener.names


async def _relay_healthy(relay: Relay) -> bool:
    return relay.healthy


async def _relay_published(relay: Relay, n: int) -> bool:
    return relay.published >= n


async def _handled_at_least(consumer: Consumer, n: int) -> bool:
    return consumer.handled >= n


class _ClientGivesUpOnce(Consumer):
    """A consumer whose Kafka client gives up once, after handling its first batch and before committing it
    (as aiokafka does when its group coordination dies: the next poll raises)."""

    gave_up = False

    async def _commit(self, offsets: dict[TopicPartition, int]) -> None:
        if not self.gave_up:
            self.gave_up = True
            raise KafkaError("Unexpected error during coordination")
        await super()._commit(offsets)


async def test_a_consumer_whose_kafka_client_gives_up_starts_a_new_one_and_the_redelivery_is_a_no_op(
    stack: Stack, isolation: Isolation, mongo_client: mongo.Client
) -> None:
    settings = _settings(stack, isolation)
    db, outbox = await _prepared(mongo_client, settings)
    await _add(mongo_client, outbox, _locked("first", 1))
    consumer = _counting_consumer(mongo_client, db, settings, kind=_ClientGivesUpOnce)
    with capture_logs() as logs:
        async with _running(Relay(db, settings, outbox).run()), _running(consumer.run()) as consuming:
            await eventually(lambda: _handled_at_least(consumer, 2), timeout=60)  # the first, redelivered
            assert await db["effects"].count_documents({}) == 1  # and the inbox made that a no-op
            await _add(mongo_client, outbox, _locked("second", 1))
            await eventually(lambda: _effects_at_least(db, 2), timeout=60)
            assert not consuming.done()
    assert isinstance(consumer, _ClientGivesUpOnce)
    assert consumer.gave_up
    assert [e["restarts"] for e in logs if e["event"] == "consumer_restarting"] == [1]
    keys = sorted(d["key"] for d in await db["effects"].find({}).to_list(None))
    assert keys == ["first", "second"]


SESSION_MS = 6000  # the broker's smallest session (group.min.session.timeout.ms)


async def test_a_consumer_whose_process_stood_still_past_its_session_rejoins_and_handles_what_came_since(
    stack: Stack, isolation: Isolation, mongo_client: mongo.Client
) -> None:
    """A paused process (a long GC, a frozen VM, a blocked loop) is expelled from its group by the broker; the
    batch it held commits after the expulsion. It must rejoin and go on, never stop consuming for good."""
    settings = _settings(stack, isolation, consumer_session_timeout_ms=SESSION_MS)
    db, outbox = await _prepared(mongo_client, settings)
    counting = _counting_handler(db)

    async def stalling(envelope: Envelope, session: mongo.Session) -> None:
        data = envelope.data
        assert isinstance(data, AccountLocked)
        if data.account_id == "stalls":
            time.sleep(SESSION_MS / 1000 * 1.5)  # noqa: ASYNC251 -- the stall itself: the whole loop stands still
        await counting(envelope, session)

    consumer = _counting_consumer(mongo_client, db, settings, handler=stalling)
    async with _running(Relay(db, settings, outbox).run()), _running(consumer.run()) as consuming:
        await _add(mongo_client, outbox, _locked("before", 1))
        await eventually(lambda: _effects_at_least(db, 1), timeout=30)
        # its handler holds the loop past the session, then commits
        await _add(mongo_client, outbox, _locked("stalls", 1))
        await eventually(lambda: _effects_at_least(db, 2), timeout=30)
        time.sleep(SESSION_MS / 1000 * 1.5)  # noqa: ASYNC251 -- and the loop stands still between polls too
        await _add(mongo_client, outbox, _locked("after", 1), _locked("after", 2))
        await eventually(lambda: _effects_at_least(db, 4), timeout=60)
        assert not consuming.done()
    keys = sorted(d["key"] for d in await db["effects"].find({}).to_list(None))
    assert keys == ["after", "after", "before", "stalls"]


async def test_a_relay_reads_once_per_commit_and_is_not_woken_again_by_the_notice_of_what_it_read(
    stack: Stack, isolation: Isolation, mongo_client: mongo.Client
) -> None:
    settings = _settings(stack, isolation)
    db, other_replica = await _prepared(mongo_client, settings)
    listener = _CommandNames(collection="outbox", notices=True)
    watched = mongo.connect(stack.mongodb_uri, listeners=[listener])
    outbox = Outbox(watched[settings.database_name], settings)
    relay = Relay(watched[settings.database_name], settings, outbox, idle_poll_seconds=60)

    def reads() -> list[str]:
        return [c for c in listener.names if c not in ("insert", "notice")]

    try:
        async with _running(relay.run()):
            await eventually(lambda: _relay_healthy(relay))
            await eventually(lambda: _answered(listener, "aggregate"))  # the change stream is open,
            await asyncio.sleep(1.0)  # and the look its opening asks for is over
            for n in range(1, 4):  # this process's commits: woken by notify, then told again by the stream
                listener.names.clear()
                await _add(watched, outbox, _locked(f"local-{n}", 0), marked=listener.names)
                await eventually(lambda n=n: _relay_published(relay, n), timeout=10)
                await eventually(lambda: _noticed(listener), timeout=10)  # the stream's notice of the insert,
                await asyncio.sleep(1.0)  # and time for any read it would wrongly cause
                if listener.names.index("notify") < listener.names.index("notice"):
                    # woken by the commit's notify: one read; the stream's notice of what it read wakes nothing
                    assert reads() == ["notify", "find", "update"], listener.names
                else:
                    # the stream's notice came first and may have woken the relay: the notify then came during its
                    # read or after it, and a notify says only "a commit", perhaps a later one: one more look
                    assert sorted(reads()) in (["find", "notify", "update"], ["find", "find", "notify", "update"]), (
                        listener.names
                    )
            listener.names.clear()
            await _write_events(mongo_client, other_replica, ["remote"], 2)  # another replica's: the stream alone
            await eventually(lambda: _relay_published(relay, 5), timeout=10)
            await asyncio.sleep(1.0)
            assert reads() == ["find", "update"], listener.names
            listener.names.clear()
            await asyncio.sleep(12)  # idle: the stream's waits end and begin again inside the client's time limit,
            assert listener.names == [], listener.names  # so it is never reopened, and nothing is read
    finally:
        await watched.close()
    assert await db["outbox"].count_documents({"published_at": None}) == 0


class _SpentProducer(AIOKafkaProducer):  # type: ignore[misc]  # aiokafka ships no types
    """A real producer in the state aiokafka leaves one in after a leader change desynchronised its sequence
    numbers (aio-libs/aiokafka#1017): every send fails with OutOfOrderSequenceNumber, for ever."""

    async def send(self, *args: object, **kwargs: object) -> asyncio.Future[object]:
        refused: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        refused.set_exception(OutOfOrderSequenceNumber())
        return refused


class _RelayStartingSpent(Relay):
    """A relay whose first producer is spent; the ones it makes afterwards are real and well."""

    producers: int = 0

    async def _new_producer(self) -> AIOKafkaProducer:
        self.producers += 1
        if self.producers > 1:
            return await super()._new_producer()
        spent = _SpentProducer(bootstrap_servers=self._settings.kafka_bootstrap_servers)
        await spent.start()
        return spent


async def test_a_relay_whose_producer_can_never_send_again_replaces_it_and_publishes_every_event_once(
    stack: Stack, isolation: Isolation, mongo_client: mongo.Client
) -> None:
    settings = _settings(stack, isolation)
    db, outbox = await _prepared(mongo_client, settings)
    await _add(mongo_client, outbox, *(_locked(f"spent-{n}", n) for n in range(3)))
    relay = _RelayStartingSpent(db, settings, outbox)
    consumer = _counting_consumer(mongo_client, db, settings)
    with capture_logs() as logs:
        async with _running(relay.run()), _running(consumer.run()):
            await eventually(lambda: _effects_at_least(db, 3), timeout=60)
            await asyncio.sleep(1.0)  # nothing more comes
    assert relay.producers == 2
    assert [e["event"] for e in logs if e["event"] == "relay_producer_replaced"] == ["relay_producer_replaced"]
    keys = sorted(d["key"] for d in await db["effects"].find({}).to_list(None))
    assert keys == ["spent-0", "spent-1", "spent-2"]
