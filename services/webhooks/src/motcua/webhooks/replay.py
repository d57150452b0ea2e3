"""Replay: a subscriber's events since a moment, read again from the Kafka log (its retention, 30 days, bounds
how far back) and queued behind what the subscriber already has, dossier by dossier in log order.

Runs in the background of the replica that was asked; the subscription's `replay` field says how it went.
The log is read without a consumer group (partitions assigned, offsets found by time), up to the end
offsets of the moment it began; events the live consumer queues meanwhile are not read twice by it.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import structlog
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError
from motcua.common import kafka, mongo, topics
from motcua.common.events import Envelope, InvalidEnvelope, decode
from motcua.webhooks.events import agency_of
from motcua.webhooks.model import body_of, structured, wants
from motcua.webhooks.settings import Settings
from motcua.webhooks.store import Store
from pymongo.errors import PyMongoError

log = structlog.get_logger(__name__)


async def _partitions(consumer: AIOKafkaConsumer, topic: str, timeout: float = 20.0) -> list[TopicPartition]:
    # a consumer without a subscription tracks no topic's metadata: ask for this one by name
    deadline = asyncio.get_running_loop().time() + timeout
    consumer._client.add_topic(topic)
    while True:
        await consumer._client.force_metadata_update()
        found = consumer.partitions_for_topic(topic)
        if found or asyncio.get_running_loop().time() > deadline:
            return [TopicPartition(topic, p) for p in sorted(found or ())]
        await asyncio.sleep(0.2)


async def replay(store: Store, settings: Settings, subscription_id: str, since: datetime, replay_id: str) -> int:
    """Queue the subscription's events since `since`; how many were queued. Records the outcome."""
    with structlog.contextvars.bound_contextvars(subscription_id=subscription_id, replay_id=replay_id):
        try:
            queued = await _replay(store, settings, subscription_id, since, replay_id)
        except (KafkaError, OSError, PyMongoError) as exc:
            log.warning("webhook_replay_failed", error=str(exc))
            await store.update_subscription(
                subscription_id, {"replay.status": "failed", "replay.finished_at": datetime.now(UTC)}
            )
            return 0
        await store.update_subscription(
            subscription_id, {"replay.status": "done", "replay.queued": queued, "replay.finished_at": datetime.now(UTC)}
        )
        log.info("webhook_replay_done", queued=queued)
        return queued


async def _replay(store: Store, settings: Settings, subscription_id: str, since: datetime, replay_id: str) -> int:
    subscription = await store.subscription(subscription_id)
    if subscription is None:
        return 0
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        enable_auto_commit=False,
        client_id=f"motcua-{settings.service_name}-replay",
        **kafka.client_options(settings),
    )
    await consumer.start()
    queued = 0
    try:
        partitions = await _partitions(consumer, settings.topic(topics.SUBMISSION_APPLICATION))
        if not partitions:
            return 0
        consumer.assign(partitions)
        starts = await consumer.offsets_for_times({tp: int(since.timestamp() * 1000) for tp in partitions})
        ends = await consumer.end_offsets(partitions)
        remaining: dict[TopicPartition, int] = {}
        for tp in partitions:
            start = starts.get(tp)
            if start is not None and start.offset < ends[tp]:
                remaining[tp] = ends[tp]
        if not remaining:
            return 0
        consumer.assign(list(remaining))
        for tp in remaining:
            start = starts[tp]
            assert start is not None
            consumer.seek(tp, start.offset)
        quiet = 0
        while remaining and quiet < 30:  # records below the end that never come (deleted by retention)
            batches = await consumer.getmany(*remaining, timeout_ms=1000, max_records=500)
            quiet = 0 if batches else quiet + 1
            for tp, records in batches.items():
                end = remaining.get(tp)
                if end is None:
                    continue
                wanted = [e for r in records if r.offset < end and (e := _wanted(r, subscription)) is not None]
                if wanted:
                    queued += await _queue(store, subscription_id, wanted, replay_id)
                if records[-1].offset + 1 >= end:
                    del remaining[tp]
    finally:
        await consumer.stop()
    return queued


def _wanted(record: ConsumerRecord[bytes, bytes], subscription: dict[str, object]) -> Envelope | None:
    try:
        envelope = decode(record.value, list(record.headers))
    except InvalidEnvelope:
        return None
    agency = agency_of(envelope)
    if agency is None or not wants(envelope.type, agency, subscription):
        return None
    return envelope


async def _queue(store: Store, subscription_id: str, envelopes: list[Envelope], replay_id: str) -> int:
    now = datetime.now(UTC)

    async def work(session: mongo.Session) -> int:
        for envelope in envelopes:
            await store.enqueue(
                session, [subscription_id], envelope, body_of(structured(envelope)), now, replay=replay_id
            )
        return len(envelopes)

    return await mongo.in_transaction(store.client, work, seconds=60)
