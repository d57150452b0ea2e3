"""A Kafka consumer loop that never skips a record and makes redelivery harmless.

Each record is decoded, then handled inside one MongoDB transaction together with an inbox entry
(its `ce_id`), so a redelivered event is a no-op. A handler that raises is retried with backoff a
bounded number of times, then the record goes to the dead-letter topic with its error; offsets are
committed only after a record is handled or dead-lettered. Database or broker outages are waited
out, never dead-lettered: they are not the record's fault.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError
from motcua.common import kafka, mongo, topics
from motcua.common.events import Envelope, InvalidEnvelope, decode
from motcua.common.settings import ServiceSettings
from motcua.common.staging import Staging
from pymongo import IndexModel
from pymongo.errors import ConnectionFailure, PyMongoError

log = structlog.get_logger(__name__)

Handler = Callable[[Envelope, mongo.Session], Awaitable[None]]
# Called once per batch transaction before its handlers, with every event of the batch: reads what they all
# need in one command (kept in the staging's `remembered`), rather than one read per event.
Prepare = Callable[[mongo.Session, list[Envelope]], Awaitable[None]]

INBOX = "inbox"
INDEXES: dict[str, list[IndexModel]] = {INBOX: []}

_INFRASTRUCTURE_ERRORS = (ConnectionFailure, KafkaError, OSError)


class Consumer:
    """Consumes `topic_names` as consumer group `group`, dispatching each event type to its handler."""

    def __init__(
        self,
        *,
        client: mongo.Client,
        db: mongo.Database,
        settings: ServiceSettings,
        group: str,
        topic_names: Sequence[str],
        handlers: Mapping[str, Handler],
        after_commit: Callable[[], None] | None = None,
        staging: Staging | None = None,
        prepare: Prepare | None = None,
    ) -> None:
        self._client = client
        self._inbox = db[INBOX]
        self._settings = settings
        self.group = f"{settings.kafka_topic_prefix}{group}"
        self._topics = [settings.topic(t) for t in topic_names]
        self._handlers = dict(handlers)
        self._after_commit = after_commit
        self._staging = staging  # the handlers' staged inserts, written once per transaction
        self._prepare = prepare if staging is not None else None  # what it reads is kept in the staging
        self._stopping = asyncio.Event()
        self._consumer: AIOKafkaConsumer | None = None
        self._dlq: AIOKafkaProducer | None = None
        self.last_poll = 0.0
        self._in_hand: str | None = None
        self.handled = 0
        self.dead_lettered = 0

    @property
    def healthy(self) -> bool:
        """Polled the broker recently: the loop is alive and not stuck."""
        return time.monotonic() - self.last_poll < 30

    @property
    def assignment(self) -> list[str]:
        """The partitions this member holds now, as "topic/partition"; [] while it has no client."""
        client = self._consumer
        return sorted(f"{tp.topic}/{tp.partition}" for tp in client.assignment()) if client is not None else []

    async def run(self) -> None:
        """Consume until `stop()`. A Kafka client that gives up (its group coordination died, a commit refused
        for a partition a rebalance took away) is replaced by a new one after a pause: a consumer never stops
        for good while the service runs; what it had not committed is redelivered, and the inbox makes that
        harmless."""
        restarts = 0
        try:
            await self._start_dead_letters()
            while not self._stopping.is_set():
                began = time.monotonic()
                try:
                    await self._consume()
                    return
                except KafkaError as exc:
                    restarts = 1 if time.monotonic() - began > 60 else restarts + 1
                    log.error("consumer_restarting", group=self.group, error=repr(exc), restarts=restarts)
                    await self._stop_client()
                    await asyncio.sleep(min(0.5 * restarts, 10.0))
        except asyncio.CancelledError:
            if not self._stopping.is_set():
                raise  # killed: leave without committing
        finally:
            await self._stop_client()
            if self._dlq is not None:
                await self._dlq.stop()
            log.info("consumer_stopped", group=self.group, handled=self.handled)

    async def stop(self) -> None:
        """Stop after the record in hand; what was not committed will be redelivered."""
        self._stopping.set()

    async def _consume(self) -> None:
        self._consumer = await self._join()
        log.info("consumer_started", group=self.group, topics=self._topics)
        while not self._stopping.is_set():
            batches = await self._consumer.getmany(timeout_ms=500, max_records=200)
            self.last_poll = time.monotonic()
            if not batches:
                continue
            if self._stopping.is_set():
                return  # uncommitted records are redelivered; the inbox makes them no-ops
            # every partition's records in one transaction (each partition's in its order): a quiet
            # topic spread over many partitions hands over a record or two per partition
            await self._process_batch([r for records in batches.values() for r in records])
            await self._commit({tp: records[-1].offset + 1 for tp, records in batches.items()})

    async def _stop_client(self) -> None:
        client, self._consumer = self._consumer, None
        if client is not None:
            try:
                await client.stop()
            except KafkaError as exc:  # leaving the group failed: the broker expels it after its session
                log.warning("consumer_leave_failed", group=self.group, error=repr(exc))

    async def _start_dead_letters(self) -> None:
        """Make sure the topics and their dead-letter topics exist, and start the dead-letter producer."""
        bootstrap = self._settings.kafka_bootstrap_servers
        dead_letters = [topics.dead_letter(t) for t in self._topics]
        while True:
            try:
                names = [*self._topics, *dead_letters]
                await kafka.ensure_topics(bootstrap, names, **kafka.topic_options(self._settings))
                break
            except (KafkaError, OSError) as exc:
                log.warning("consumer_broker_not_ready", group=self.group, error=str(exc))
                await asyncio.sleep(1.0)
        self._dlq = await kafka.started_producer(self._settings)

    async def _join(self) -> AIOKafkaConsumer:
        consumer = AIOKafkaConsumer(
            *self._topics,
            bootstrap_servers=self._settings.kafka_bootstrap_servers,
            group_id=self.group,
            client_id=f"motcua-{self._settings.service_name}",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            session_timeout_ms=self._settings.consumer_session_timeout_ms,
            heartbeat_interval_ms=1000,
            group_instance_id=self._settings.kafka_group_instance_id or None,
            max_poll_interval_ms=300000,
            **kafka.client_options(self._settings),
        )
        while True:
            try:
                await consumer.start()
                return consumer
            except KafkaError as exc:
                log.warning("consumer_broker_not_ready", group=self.group, error=str(exc))
                await asyncio.sleep(1.0)

    async def _commit(self, offsets: dict[TopicPartition, int]) -> None:
        assert self._consumer is not None
        try:
            await self._consumer.commit(offsets)
            if self._after_commit is not None:
                self._after_commit()
        except (CommitFailedError, IllegalStateError) as exc:
            # The partition moved during a rebalance (to another member, or away and back after this member
            # was expelled for standing still past its session): it will redeliver, harmlessly.
            log.warning("consumer_commit_failed", group=self.group, error=str(exc))

    async def _process_batch(self, records: list[ConsumerRecord[bytes, bytes]]) -> None:
        """Handle a poll's records in one transaction; on any trouble, one record at a time.

        The common case (no redelivery, no failing handler) pays one commit for the whole batch;
        the record-by-record path keeps the exact retry, dead-letter and duplicate rules.
        """
        work: list[tuple[Envelope, Handler]] = []
        for record in records:
            try:
                envelope = decode(record.value, list(record.headers))
            except InvalidEnvelope:
                work = []
                break
            handler = self._handlers.get(envelope.type)
            if handler is not None:
                work.append((envelope, handler))
        else:
            if not work:
                return
            self._in_hand = None
            try:
                await mongo.in_transaction(self._client, functools.partial(self._apply_all, work=work), seconds=60)
                self.handled += len(work)
                return
            except Exception as exc:
                log.info("consumer_batch_fallback", error=repr(exc), records=len(records))
        # the handler that failed inside the batch has had its first attempt
        failed_once = self._in_hand
        for record in records:
            if self._stopping.is_set():
                raise asyncio.CancelledError
            await self._process(record, failed_once)

    async def _apply_all(self, session: mongo.Session, work: list[tuple[Envelope, Handler]]) -> None:
        now = datetime.now(UTC)
        await self._inbox.insert_many(
            [{"_id": f"{self.group}:{e.id}", "type": e.type, "processed_at": now} for e, _ in work],
            session=session,
            ordered=True,
        )
        async with self._staged(session):
            if self._prepare is not None:
                await self._prepare(session, [e for e, _ in work])
            for envelope, handler in work:
                self._in_hand = envelope.id
                with structlog.contextvars.bound_contextvars(
                    event_id=envelope.id, event_type=envelope.type, request_id=envelope.request_id
                ):
                    await handler(envelope, session)
            self._in_hand = None

    @contextlib.asynccontextmanager
    async def _staged(self, session: mongo.Session) -> AsyncIterator[None]:
        """The handlers' staged inserts, written at the end of the transaction's work (dropped if it fails)."""
        if self._staging is None:
            yield
            return
        self._staging.begin(session)
        try:
            yield
            await self._staging.flush(session)
        finally:
            self._staging.discard(session)

    async def _process(self, record: ConsumerRecord[bytes, bytes], failed_once: str | None = None) -> None:
        try:
            envelope = decode(record.value, list(record.headers))
        except InvalidEnvelope as exc:
            await self._dead_letter(record, f"invalid event: {exc}")
            return
        handler = self._handlers.get(envelope.type)
        if handler is None:
            return  # another consumer's business
        with structlog.contextvars.bound_contextvars(
            event_id=envelope.id, event_type=envelope.type, request_id=envelope.request_id
        ):
            await self._handle_with_retries(record, envelope, handler, 1 if envelope.id == failed_once else 0)

    async def _handle_with_retries(
        self, record: ConsumerRecord[bytes, bytes], envelope: Envelope, handler: Handler, attempt: int
    ) -> None:
        outage = 0
        while True:
            try:
                await mongo.in_transaction(self._client, lambda s: self._apply(s, envelope, handler), seconds=30)
                self.handled += 1
                return
            except _INFRASTRUCTURE_ERRORS as exc:
                if self._stopping.is_set():
                    raise
                outage += 1
                log.warning("consumer_waiting_for_infrastructure", error=str(exc), attempt=outage)
                await asyncio.sleep(min(0.5 * outage, 5.0))
            except PyMongoError as exc:
                if exc.timeout:  # the database did not answer in time: an outage, not the record's fault
                    if self._stopping.is_set():
                        raise
                    outage += 1
                    log.warning("consumer_waiting_for_infrastructure", error=str(exc), attempt=outage)
                    await asyncio.sleep(min(0.5 * outage, 5.0))
                    continue
                if exc.has_error_label("TransientTransactionError"):
                    continue
                attempt += 1
                if await self._give_up(record, exc, attempt):
                    return
            except Exception as exc:  # the handler's own failure: bounded retries, then dead letter
                attempt += 1
                if await self._give_up(record, exc, attempt):
                    return

    async def _give_up(self, record: ConsumerRecord[bytes, bytes], exc: BaseException, attempt: int) -> bool:
        if attempt >= self._settings.consumer_max_attempts:
            log.error("consumer_handler_gave_up", error=repr(exc), attempts=attempt)
            await self._dead_letter(record, f"handler failed after {attempt} attempts: {exc!r}")
            return True
        log.warning("consumer_handler_failed", error=repr(exc), attempt=attempt)
        await asyncio.sleep(self._settings.consumer_retry_backoff_seconds * 2 ** (attempt - 1))
        return False

    async def _apply(self, session: mongo.Session, envelope: Envelope, handler: Handler) -> None:
        key = f"{self.group}:{envelope.id}"
        if await self._inbox.find_one({"_id": key}, session=session) is not None:
            log.info("consumer_duplicate_ignored")
            return
        await self._inbox.insert_one(
            {"_id": key, "type": envelope.type, "processed_at": datetime.now(UTC)}, session=session
        )
        async with self._staged(session):
            await handler(envelope, session)

    async def _dead_letter(self, record: ConsumerRecord[bytes, bytes], error: str) -> None:
        """Park the original record, its headers and the error; retried until the broker takes it."""
        assert self._dlq is not None
        headers = [
            *list(record.headers),
            ("dlq_error", error.encode()[:8000]),
            ("dlq_topic", record.topic.encode()),
            ("dlq_partition", str(record.partition).encode()),
            ("dlq_offset", str(record.offset).encode()),
            ("dlq_group", self.group.encode()),
        ]
        while True:
            try:
                await self._dlq.send_and_wait(
                    topics.dead_letter(record.topic), value=record.value, key=record.key, headers=headers
                )
                break
            except KafkaError as exc:
                log.warning("dead_letter_broker_trouble", error=repr(exc))
                if kafka.spends_producer(exc):  # it would refuse for ever: a new one (see kafka.SPENDING_PRODUCER)
                    await kafka.stop_quietly(self._dlq)
                    self._dlq = await kafka.started_producer(self._settings)
                await asyncio.sleep(1.0)
        self.dead_lettered += 1
        log.error(
            "event_dead_lettered",
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            error=error,
        )
