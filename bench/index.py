"""The service index: how fast a replay folds the submission topic into an empty read model, and how long the
public answers take over a year of dossiers, beside a bare `find_one` by _id on the same server.

Run: `.venv/bin/python bench/index.py [dossiers] [replayed]` (defaults 20,000 and 2,000; starts its own MongoDB-
and Kafka-protocol servers and stops them). The read model is filled directly with `dossiers` documents (20
agencies, spread over the 12 months of 2026, half decided, a third rated); `replayed` dossiers of five events
each are published on the topic and a fresh service consumes them from the beginning.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer
from motcua.common import kafka, mongo, topics
from motcua.common.contracts.submission import ApplicationRated, ApplicationReceived, ApplicationStatusChanged
from motcua.common.events import Envelope, Event, encode
from motcua.devtools.testing import running_app, start_local_stack
from motcua.submission import index_feed
from motcua.submission.app import build_app
from motcua.submission.settings import Settings

ROUNDS = 30
AGENCIES = [f"UBND-BENCH-{n:02d}" for n in range(20)]


def _dossier(n: int) -> dict[str, Any]:
    submitted = datetime(2026, 1, 5, 2, tzinfo=UTC) + timedelta(minutes=n * 26 % (340 * 24 * 60))
    doc: dict[str, Any] = {
        "_id": uuid.uuid4().hex,
        "agency_code": AGENCIES[n % len(AGENCIES)],
        "procedure_code": f"P-{n % 7}",
        "procedure_name": "Thủ tục",
        "tracking_code": f"HS{n:08d}",
        "submitted_at": submitted,
        "dues": [{"at": submitted, "due_date": (submitted + timedelta(days=7)).date().isoformat()}],
    }
    if n % 2:
        finished = submitted + timedelta(days=n % 11)
        doc |= {"finished_at": finished, "outcome": "completed", "finish_due": doc["dues"][0]["due_date"]}
        if n % 3 == 0:
            doc["rating"] = {"at": finished + timedelta(days=1), "guidance": 5, "timeliness": 4, "courtesy": n % 5 + 1}
    return doc


def _events(n: int) -> list[Event]:
    app_id = uuid.uuid4().hex
    at = datetime(2026, 10, 5, 2, tzinfo=UTC) + timedelta(minutes=n)
    due = date(2026, 10, 12)
    common = {
        "application_id": app_id,
        "tracking_code": f"HS{n:08d}",
        "procedure_code": "P-1",
        "procedure_version": 1,
        "procedure_name": "Thủ tục",
        "agency_code": "UBND-REPLAY",
        "applicant_account_id": f"c{n}",
        "due_date": due,
    }

    def moved(a: str, b: str, minutes: int) -> ApplicationStatusChanged:
        return ApplicationStatusChanged(
            **common, from_status=a, to_status=b, by_role="officer", changed_at=at + timedelta(minutes=minutes)
        )

    return [
        ApplicationReceived(**common, submitted_at=at),
        moved("submitted", "processing", 60),
        moved("processing", "approved", 120),
        moved("approved", "completed", 180),
        ApplicationRated(**common, guidance=5, timeliness=5, courtesy=4, rated_at=at + timedelta(days=1)),
    ]


async def _timed(http: httpx.AsyncClient, path: str) -> tuple[float, float]:
    took = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        answer = await http.get(path)
        took.append((time.perf_counter() - start) * 1000)
        assert answer.status_code == 200, answer.text
    took.sort()
    return statistics.median(took), took[int(len(took) * 0.95) - 1]


async def main(size: int, replayed: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        stack = start_local_stack(workdir / "servers")
        try:
            settings = Settings(
                mongodb_uri=stack.mongodb_uri,
                mongodb_db="bench_index",
                kafka_bootstrap_servers=stack.kafka_bootstrap,
                kafka_topic_prefix="bench.",
                log_level="WARNING",
            )
            topic = settings.topic(topics.SUBMISSION_APPLICATION)
            await kafka.ensure_topics(stack.kafka_bootstrap, [topic], prefix="bench.")
            producer = AIOKafkaProducer(bootstrap_servers=stack.kafka_bootstrap, acks="all", linger_ms=5)
            await producer.start()
            try:
                sent = [
                    producer.send(topic, value=r.value, key=r.key, headers=r.headers)
                    for n in range(replayed)
                    for r in (encode(Envelope(data=e, source="/motcua/submission")) for e in _events(n))
                ]
                await asyncio.gather(*sent)
            finally:
                await producer.stop()
            client = mongo.connect(stack.mongodb_uri)
            db = client[settings.mongodb_db]
            async with running_app(build_app(settings), wait_started=False) as url:
                began = time.perf_counter()
                rated = {"rating": {"$exists": True}}
                while await db[index_feed.DOSSIERS].count_documents(rated) < replayed:  # noqa: ASYNC110 - polls the db
                    await asyncio.sleep(0.2)
                replay = time.perf_counter() - began
                docs = [_dossier(n) for n in range(size)]
                for chunk in range(0, size, 1000):
                    await db[index_feed.DOSSIERS].insert_many(docs[chunk : chunk + 1000])
                async with httpx.AsyncClient(base_url=url, timeout=60) as http:
                    agency = AGENCIES[0]
                    rows = {
                        "index (one agency, one month)": f"/v1/public/agencies/{agency}/index?month=2026-10",
                        "12 months (one agency)": f"/v1/public/agencies/{agency}/index/months?to=2026-12",
                        "ranking (every agency, one month)": "/v1/public/ranking?month=2026-10",
                    }
                    results = {name: await _timed(http, path) for name, path in rows.items()}
                baseline = []
                for _ in range(ROUNDS):
                    start = time.perf_counter()
                    await db[index_feed.DOSSIERS].find_one({"_id": docs[0]["_id"]})
                    baseline.append((time.perf_counter() - start) * 1000)
            await client.close()
            print(
                f"replay: {replayed * 5} events ({replayed} dossiers) folded in {replay:.1f} s "
                f"= {replayed * 5 / replay:.0f} events/s (includes the consumer group's join)"
            )
            print(f"read model: {size} dossiers, {len(AGENCIES)} agencies; {ROUNDS} requests each (ms, median / p95)")
            for name, (median, p95) in results.items():
                print(f"  {name:36} {median:7.1f} / {p95:7.1f}")
            print(f"  {'bare find_one by _id (baseline)':36} {statistics.median(baseline):7.2f}")
        finally:
            stack.stop()


if __name__ == "__main__":
    arguments = [int(a) for a in sys.argv[1:3]]
    asyncio.run(main(*(arguments + [20_000, 2_000][len(arguments) :])))
