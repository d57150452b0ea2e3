"""Event backbone benchmark: outbox → relay → Kafka → consumer → handler, beside bare aiokafka.

Prints, for N events on the local servers (started here): outbox-to-handler throughput (events/s)
and latency p50/p99 (written → handled), and the bare aiokafka produce→consume rate of the same
number of records on the same broker in the same run; the ratio is the figure to improve.
Run: `.venv/bin/python bench/common.py [N]`.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from motcua.common import mongo
from motcua.common.consumer import INDEXES as INBOX
from motcua.common.consumer import Consumer
from motcua.common.contracts.identity import AccountLocked
from motcua.common.events import Envelope
from motcua.common.kafka import ensure_topics
from motcua.common.logging import configure
from motcua.common.outbox import INDEXES as OUTBOX
from motcua.common.outbox import Outbox, Relay
from motcua.common.settings import ServiceSettings
from motcua.devtools.testing import start_local_stack


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def bare_kafka(bootstrap: str, n: int, *, idempotent: bool = True) -> float:
    topic = f"bare-{uuid.uuid4().hex[:6]}"
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5, enable_idempotence=idempotent)
    await producer.start()
    payload = b'{"account_id":"a","locked_until":"2026-11-25T00:00:00Z","failed_attempts":1}'
    await ensure_topics(bootstrap, [topic])
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"g-{topic}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    while not consumer.assignment():  # the group join is not part of the rate
        await consumer.getmany(timeout_ms=200)
    started = time.perf_counter()
    futures = [await producer.send(topic, payload, key=str(i % 50).encode()) for i in range(n)]
    await asyncio.gather(*futures)
    await producer.stop()
    got = 0
    while got < n:
        for records in (await consumer.getmany(timeout_ms=500, max_records=2000)).values():
            got += len(records)
    await consumer.stop()
    return n / (time.perf_counter() - started)


async def backbone(stack_uri: str, bootstrap: str, n: int) -> tuple[float, list[float]]:
    settings = ServiceSettings(
        service_name="bench",
        mongodb_uri=stack_uri,
        mongodb_db="bench",
        kafka_bootstrap_servers=bootstrap,
        kafka_topic_prefix="bench.",
    )
    client = mongo.connect(stack_uri)
    db = client[settings.database_name]
    await mongo.ensure_collections(db, {**OUTBOX, **INBOX, "effects": []})
    outbox = Outbox(db, settings)
    latencies: list[float] = []
    done = asyncio.Event()

    async def handle(envelope: Envelope, session: mongo.Session) -> None:
        await db["effects"].insert_one({"e": envelope.id}, session=session)
        latencies.append((datetime.now(UTC) - envelope.time).total_seconds())
        if len(latencies) >= n:
            done.set()

    consumer = Consumer(
        client=client,
        db=db,
        settings=settings,
        group="bench",
        topic_names=[AccountLocked.topic],
        handlers={AccountLocked.ce_type: handle},
    )
    relay = Relay(db, settings, outbox)
    tasks = [asyncio.create_task(consumer.run()), asyncio.create_task(relay.run())]
    await asyncio.sleep(6)  # let the consumer join its group before the clock starts
    started = time.perf_counter()
    for start in range(0, n, 20):  # a service writing 20 events per transaction

        async def work(session: mongo.Session, start: int = start) -> None:
            await outbox.add(
                session,
                [
                    AccountLocked(account_id=f"acc-{i % 200}", locked_until=datetime.now(UTC), failed_attempts=i)
                    for i in range(start, min(n, start + 20))
                ],
            )

        await mongo.in_transaction(client, work)
        outbox.notify()
    await asyncio.wait_for(done.wait(), 900)
    elapsed = time.perf_counter() - started
    await consumer.stop()
    await relay.stop()
    await asyncio.gather(*tasks, return_exceptions=True)
    await client.close()
    return n / elapsed, latencies


async def main(n: int) -> None:
    configure(service="bench", fmt="console", level="WARNING")
    stack = start_local_stack(Path(tempfile.mkdtemp(prefix="motcua-bench-")))
    try:
        bare = await bare_kafka(stack.kafka_bootstrap, n)
        rate, latencies = await backbone(stack.mongodb_uri, stack.kafka_bootstrap, n)
    finally:
        stack.stop()
    # note: handler latency counts double when a batch falls back; the list may hold > n samples
    print(f"events: {n}")
    print("| measure | value |")
    print("|---|---|")
    print(f"| outbox → handler throughput | {rate:,.0f} events/s |")
    print(f"| outbox → handler latency p50 | {statistics.median(latencies) * 1000:,.0f} ms |")
    print(f"| outbox → handler latency p99 | {_pct(latencies, 0.99) * 1000:,.0f} ms |")
    print(f"| bare aiokafka produce → consume | {bare:,.0f} records/s |")
    print(f"| ratio bare / backbone | {bare / rate:,.1f}× |")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000))
