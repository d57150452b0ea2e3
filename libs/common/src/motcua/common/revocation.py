"""Access tokens of ended sessions refused everywhere, at no cost per request: a deny list in each process's
memory, fed from identity's session topic.

Access tokens are verified locally (motcua.common.auth), so a sign-out or a password reset would otherwise
leave a stolen access token working for up to its 15 minutes. Identity publishes `SessionsRevoked` on
`motcua.identity.session.v1` when sessions end; every process of every service that verifies tokens reads
that topic without a consumer group (each process needs every record), from a little more than an access
token's lifetime ago, and keeps the revoked session ids until `valid_until` — when the last access token of
those sessions has expired anyway. A request then costs a dictionary lookup, never a round trip.

A record that is not a `SessionsRevoked` event is logged and passed over: the list is a cache of what
identity decided, not a ledger, and a record it cannot read must not stop the ones behind it. Until the
reader has caught up with the topic's end once, the service is not ready (`/readyz` check `revocations`).
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import structlog
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError
from motcua.common import kafka, topics
from motcua.common.contracts.identity import SessionsRevoked
from motcua.common.events import InvalidEnvelope, decode
from motcua.common.settings import ServiceSettings

log = structlog.get_logger(__name__)

# How far back a starting reader looks: the longest access-token lifetime (900 s) and a margin.
LOOKBACK = timedelta(minutes=20)


class DenyList:
    """Revoked session ids, each kept until the last access token of its session has expired."""

    def __init__(self) -> None:
        self._until: dict[str, datetime] = {}
        self._next_prune = datetime.min.replace(tzinfo=UTC)

    def __len__(self) -> int:
        return len(self._until)

    def add(self, revoked: SessionsRevoked) -> None:
        for session_id in revoked.session_ids:
            self._until[session_id] = max(self._until.get(session_id, revoked.valid_until), revoked.valid_until)

    def refuses(self, session_id: str | None, now: datetime | None = None) -> bool:
        """Whether an access token of this session must be refused."""
        if session_id is None:
            return False
        until = self._until.get(session_id)
        return until is not None and until > (now or datetime.now(UTC))

    def prune(self, now: datetime) -> None:
        """Forget the sessions whose tokens have all expired (at most once a minute)."""
        if now < self._next_prune:
            return
        self._next_prune = now + timedelta(minutes=1)
        for session_id in [s for s, until in self._until.items() if until <= now]:
            del self._until[session_id]


class RevocationFeed:
    """Reads the session topic into a `DenyList`, in every process, without a consumer group."""

    def __init__(self, settings: ServiceSettings, deny_list: DenyList) -> None:
        self._settings = settings
        self._topic = settings.topic(topics.IDENTITY_SESSION)
        self.deny_list = deny_list
        self.caught_up = False
        self.last_poll = 0.0

    @property
    def healthy(self) -> bool:
        """Caught up once, and polled the broker recently."""
        return self.caught_up and time.monotonic() - self.last_poll < 30

    async def run(self) -> None:
        """Read until cancelled; broker outages are waited out (the list keeps what it had)."""
        while True:
            try:
                await self._read()
            except (KafkaError, OSError) as exc:
                log.warning("revocations_broker_trouble", error=str(exc))
                await asyncio.sleep(1.0)
            except Exception:  # never leave the list unfed for good: start again from the lookback
                log.exception("revocations_reader_failed")
                await asyncio.sleep(5.0)

    async def _read(self) -> None:
        bootstrap = self._settings.kafka_bootstrap_servers
        await kafka.ensure_topics(bootstrap, [self._topic], **kafka.topic_options(self._settings))
        consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap,
            client_id=f"motcua-{self._settings.service_name}-revocations",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            **kafka.client_options(self._settings),
        )
        await consumer.start()
        try:
            partitions = [
                TopicPartition(self._topic, p) for p in range(topics.declared_partitions(self._topic, self._prefix))
            ]
            consumer.assign(partitions)
            since = int((datetime.now(UTC) - LOOKBACK).timestamp() * 1000)
            starts = await consumer.offsets_for_times(dict.fromkeys(partitions, since))
            ends = await consumer.end_offsets(partitions)
            for tp in partitions:
                start = starts.get(tp)
                consumer.seek(tp, start.offset if start is not None else ends[tp])
            behind = {tp: end for tp, end in ends.items() if end > (starts[tp].offset if starts.get(tp) else end)}
            self.caught_up = self.caught_up or not behind
            while True:
                batches = await consumer.getmany(timeout_ms=500, max_records=500)
                self.last_poll = time.monotonic()
                for tp, records in batches.items():
                    for record in records:
                        self._take(record)
                    if tp in behind and records[-1].offset + 1 >= behind[tp]:
                        del behind[tp]
                if not behind and not self.caught_up:
                    self.caught_up = True
                    log.info("revocations_caught_up", sessions=len(self.deny_list))
                self.deny_list.prune(datetime.now(UTC))
        finally:
            await consumer.stop()

    @property
    def _prefix(self) -> str:
        return self._settings.kafka_topic_prefix

    def _take(self, record: ConsumerRecord[bytes, bytes]) -> None:
        try:
            envelope = decode(record.value, list(record.headers))
        except InvalidEnvelope as exc:
            log.error("revocation_unreadable", partition=record.partition, offset=record.offset, error=str(exc))
            return
        if isinstance(envelope.data, SessionsRevoked):
            self.deny_list.add(envelope.data)
            log.info(
                "sessions_revoked",
                account_id=envelope.data.account_id,
                sessions=len(envelope.data.session_ids),
                reason=envelope.data.reason,
            )
