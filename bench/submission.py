"""Submit throughput beside the bare single-document insert rate of the same MongoDB server.

Run: `.venv/bin/python bench/submission.py [--clients 16] [--submissions 400] [--inserts 2000]`.
It starts its own local MongoDB- and Kafka-protocol servers, runs the submission service in this
process over real HTTP, prepares complete drafts, then measures, with the same number of concurrent
clients: (1) single-document inserts straight into the server, (2) `POST .../submit`, (3) inserts again.
A submit is a transaction (read the draft, update it with its history entry and receipt, write the
outbox event) plus HTTP, token checks and JSON Schema validation; the relay publishes meanwhile.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx
from aiokafka import AIOKafkaProducer
from motcua.common import kafka, mongo, topics
from motcua.common.auth import TokenVerifier
from motcua.common.contracts.catalogue import ProcedurePublished
from motcua.common.contracts.identity import AccountProfileChanged
from motcua.common.events import Envelope, encode
from motcua.devtools.testing import TokenMinter, eventually, running_app, start_local_stack
from motcua.submission.app import build_app
from motcua.submission.settings import Settings

# httpcore tries `import sniffio` on every request; when it is not installed each failed import scans
# sys.path (about 1 ms of CPU here), which the client would steal from the service on the same 2 cores.
sys.modules.setdefault("sniffio", None)  # type: ignore[arg-type]

FORM = {
    "type": "object",
    "properties": {
        "child_full_name": {"type": "string", "minLength": 1, "maxLength": 100},
        "child_date_of_birth": {"type": "string", "format": "date"},
        "child_sex": {"type": "string", "enum": ["male", "female"]},
        "place_of_birth": {"type": "string", "minLength": 1, "maxLength": 200},
    },
    "required": ["child_full_name", "child_date_of_birth", "child_sex", "place_of_birth"],
    "additionalProperties": False,
}
DATA = {
    "child_full_name": "Nguyễn Minh Anh",
    "child_date_of_birth": "2026-11-20",
    "child_sex": "female",
    "place_of_birth": "Bệnh viện Phụ sản Hà Nội",
}


def procedure() -> ProcedurePublished:
    return ProcedurePublished(
        code="BENCH-KS-01",
        version=1,
        name="Đăng ký khai sinh",
        name_en="Birth registration",
        agency_code="UBND-XA",
        applicant_types=["individual"],
        online_level="full",
        processing_days=1,
        fee_vnd=0,
        required_documents=[],
        form_schema=FORM,
        published_at=datetime.now(UTC),
    )


class Timings:
    def __init__(self, name: str) -> None:
        self.name = name
        self.latencies: list[float] = []
        self.elapsed = 0.0

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.elapsed

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000

    def row(self) -> str:
        return (
            f"| {self.name:<34} | {len(self.latencies):>6} | {self.rate:>9.0f} | "
            f"{statistics.median(self.latencies) * 1000:>8.1f} | {self.percentile(99):>8.1f} |"
        )


async def measure(name: str, jobs: list[Callable[[], Awaitable[None]]], clients: int) -> Timings:
    """Run the jobs with `clients` concurrent workers; per-job latency and overall rate."""
    timings = Timings(name)
    queue = list(reversed(jobs))

    async def worker() -> None:
        while queue:
            job = queue.pop()
            began = time.perf_counter()
            await job()
            timings.latencies.append(time.perf_counter() - began)

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    timings.elapsed = time.perf_counter() - began
    return timings


async def bench(mongodb_uri: str, bootstrap: str, args: argparse.Namespace) -> list[Timings]:
    minter = TokenMinter()
    settings = Settings(
        mongodb_uri=mongodb_uri,
        kafka_bootstrap_servers=bootstrap,
        mongodb_db="bench_submission",
        log_level="WARNING",
        draft_limit=1_000_000,
        upload_limit=1_000_000,
    )
    verifier = TokenVerifier(issuer=minter.issuer, audience=minter.audience, jwks=minter.jwks)
    app = build_app(settings, verifier=verifier)
    client = mongo.connect(mongodb_uri)
    inserts = client["bench_bare"]["inserts"]
    await client["bench_bare"].create_collection("inserts")
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    topic = settings.topic(topics.CATALOGUE_PROCEDURE)
    await kafka.ensure_topics(bootstrap, [topic])
    await producer.start()
    published = procedure()
    record = encode(Envelope(data=published, source="/motcua/catalogue"))
    await producer.send_and_wait(topic, value=record.value, key=record.key, headers=record.headers)
    # each citizen's profile, as identity publishes it at activation: submit files it into the dossier
    profile_topic = settings.topic(topics.IDENTITY_PROFILE)
    await kafka.ensure_topics(bootstrap, [profile_topic])
    for i in range(args.clients):
        profile = AccountProfileChanged(
            account_id=f"citizen-{i}",
            account_type="individual",
            full_name="Nguyễn Thị An",
            national_id=f"0011900{i:05d}",
            email=f"citizen-{i}@example.vn",
            phone=f"+8491{i:07d}",
            changed_at=datetime.now(UTC),
        )
        told = encode(Envelope(data=profile, source="/motcua/identity"))
        await producer.send_and_wait(profile_topic, value=told.value, key=told.key, headers=told.headers)
    await producer.stop()
    results: list[Timings] = []
    try:
        async with (
            running_app(app) as url,
            httpx.AsyncClient(
                # Idle connections dropped before uvicorn's 5 s keep-alive ends, never reused as it closes them.
                base_url=url,
                timeout=60,
                limits=httpx.Limits(max_connections=args.clients * 2, keepalive_expiry=2.0),
            ) as http,
        ):
            db = client["bench_submission"]

            async def consumed() -> bool:
                procedures = await db["procedures"].count_documents({"code": published.code})
                return procedures > 0 and await db["applicant_profiles"].count_documents({}) >= args.clients

            await eventually(consumed, timeout=30)
            citizens = [minter.headers(f"citizen-{i}") for i in range(args.clients)]
            drafts: list[tuple[dict[str, str], str]] = []

            async def prepare(who: dict[str, str]) -> None:
                created = await http.post("/v1/applications", json={"procedure_code": published.code}, headers=who)
                saved = await http.patch(
                    f"/v1/applications/{created.json()['id']}",
                    json={"data": DATA},
                    headers={**who, "If-Match": created.headers["etag"]},
                )
                assert saved.status_code == 200, saved.text
                drafts.append((who, created.json()["id"]))

            await measure(
                "prepare drafts (create + autosave)",
                [lambda w=citizens[i % args.clients]: prepare(w) for i in range(args.submissions)],
                args.clients,
            )

            async def insert() -> None:
                await inserts.insert_one({"_id": uuid.uuid4().hex, "at": datetime.now(UTC), "n": 1})

            async def submit(who: dict[str, str], app_id: str) -> None:
                answer = await http.post(
                    f"/v1/applications/{app_id}/submit", headers={**who, "Idempotency-Key": uuid.uuid4().hex}
                )
                assert answer.status_code == 200, answer.text

            results.append(await measure("bare insert_one (before)", [insert] * args.inserts, args.clients))
            results.append(await measure("POST /submit", [lambda d=d: submit(*d) for d in drafts], args.clients))
            results.append(await measure("bare insert_one (after)", [insert] * args.inserts, args.clients))
            began = time.perf_counter()

            async def drained() -> bool:
                return await db["outbox"].count_documents({"published_at": None}) == 0

            await eventually(drained, timeout=30, interval=0.05)
            # each event is one document per topic (the application topic, and the agency's copy): count one
            sent = await db["outbox"].count_documents(
                {"type": "motcua.submission.ApplicationReceived.v1", "topic": {"$not": {"$regex": r"\.agency\."}}}
            )
            print(
                f"relay: {sent} ApplicationReceived published; outbox empty "
                f"{time.perf_counter() - began:.2f} s after the last submit"
            )
    finally:
        await client.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--submissions", type=int, default=300)
    parser.add_argument("--inserts", type=int, default=1500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        stack = start_local_stack(Path(workdir))
        try:
            results = asyncio.run(bench(stack.mongodb_uri, stack.kafka_bootstrap, args))
        finally:
            stack.stop()
    print(f"\nsubmission bench: {args.clients} concurrent clients, same MongoDB server, same run\n")
    print("| operation                          |      n |  per sec  | p50 (ms) | p99 (ms) |")
    print("|------------------------------------|--------|-----------|----------|----------|")
    for timings in results:
        print(timings.row())
    bare = statistics.mean([results[0].rate, results[2].rate])
    print(f"\nsubmit rate / bare insert rate = {results[1].rate:.0f} / {bare:.0f} = {results[1].rate / bare:.2f}")


if __name__ == "__main__":
    main()
