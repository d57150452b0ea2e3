"""Notifications per second from event to SMTP accept, with p50/p99 latency.

Starts its own MongoDB- and Kafka-protocol servers and an aiosmtpd sink, runs the notification service
in-process, registers 50 accounts through AccountRegistered events, then publishes a burst of
ApplicationReceived events for them (all at once), then a paced run (a steady rate), and times each
event from its publication to the SMTP server accepting its email. Each event also makes an SMS (log
provider) and an in-app notification. Anchor: GOV.UK Notify's target of 1,000,000 messages an hour,
about 278 a second.

It also times the hand-over of each email: from the moment the `handed_over_at` mark leaves for the
database to the moment the SMTP server has the message — a bound on the only instant in which a killed
service loses an email — against an acknowledged write of the same mark on the same server (how long
that instant would last if the mark waited for the database's answer). Both are timed from outside the
product: a PyMongo command listener on every client (the mark's client writes a command in the step it
announces it) and the SMTP server's own clock; no product class is patched.

Run: .venv/bin/python bench/notification.py [--events 400] [--paced-rate 10] [--paced-seconds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import tempfile
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer
from aiosmtpd.controller import Controller
from motcua.common import kafka, mongo, topics
from motcua.common.auth import TokenVerifier
from motcua.common.contracts.identity import AccountRegistered
from motcua.common.contracts.submission import ApplicationReceived
from motcua.common.events import Envelope, Event, encode
from motcua.devtools.devservers import free_port
from motcua.devtools.testing import running_app, start_local_stack
from motcua.notification.app import build_app
from motcua.notification.settings import Settings
from pymongo import monitoring

ANCHOR_PER_SECOND = 1_000_000 / 3600  # GOV.UK Notify
CONTACTS = 50  # registered accounts; the dossiers are spread over them


TRACKING = re.compile(rb"HS-[0-9A-F]{10}")


class Sink:
    """Notes when each dossier's email is accepted (the controller runs in its own thread). The tracking
    code is ASCII, so it reads as is in the quoted-printable body."""

    def __init__(self) -> None:
        self.accepted: dict[str, float] = {}

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        found = TRACKING.search(envelope.content)
        if found:
            self.accepted[found.group().decode()] = time.monotonic()
        return "250 2.0.0 queued"


class HandOverClock(monitoring.CommandListener):
    """Notes when each delivery's `handed_over_at` mark is announced, which for the mark's client (no
    operation timeout) is the step its bytes are written to the socket; told by PyMongo, not by a patch."""

    def __init__(self) -> None:
        self.marked: dict[str, float] = {}

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name != "update" or event.command.get("update") != "deliveries":
            return
        for update in event.command.get("updates", []):
            if "handed_over_at" in update.get("u", {}).get("$set", {}):
                self.marked.setdefault(str(update["q"]["_id"]), time.monotonic())

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


async def acknowledged_marks(client: mongo.Client, db_name: str, n: int = 200) -> list[float]:
    """Seconds per acknowledged update of one delivery's mark (the old way: wait for the answer)."""
    deliveries = client[db_name]["bench_marks"]
    await deliveries.insert_one({"_id": "d", "status": "sending"})
    took = []
    for _ in range(n):
        began = time.perf_counter()
        await deliveries.update_one({"_id": "d", "status": "sending"}, {"$set": {"handed_over_at": datetime.now(UTC)}})
        took.append(time.perf_counter() - began)
    return took


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def publish(producer: AIOKafkaProducer, prefix: str, events: list[Event]) -> dict[str, float]:
    """Send all events without waiting for each; answers when each was handed to the producer."""
    sent: dict[str, float] = {}
    futures = []
    for event in events:
        record = encode(Envelope(data=event, source="/motcua/bench"))
        sent[getattr(event, "tracking_code", "")] = time.monotonic()
        futures.append(
            await producer.send(f"{prefix}{event.topic}", value=record.value, key=record.key, headers=record.headers)
        )
    await asyncio.gather(*futures)
    return sent


async def wait_for(sink: Sink, codes: list[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    wanted = set(codes)
    while not wanted <= sink.accepted.keys():
        if time.monotonic() > deadline:
            missing = len(wanted - sink.accepted.keys())
            raise SystemExit(f"{missing} emails not accepted within {timeout}s")
        await asyncio.sleep(0.02)


def application(account: AccountRegistered) -> ApplicationReceived:
    return ApplicationReceived(
        application_id=uuid.uuid4().hex,
        tracking_code=f"HS-{uuid.uuid4().hex[:10].upper()}",
        procedure_code="HT-KS-01",
        procedure_version=1,
        procedure_name="Đăng ký khai sinh",
        procedure_name_en="Birth registration",
        agency_code="UBND-XA",
        applicant_account_id=account.account_id,
        due_date=date(2026, 12, 4),
        submitted_at=datetime.now(UTC),
    )


def accounts(n: int) -> list[AccountRegistered]:
    return [
        AccountRegistered(
            account_id=uuid.uuid4().hex,
            account_type="individual",
            full_name="Nguyễn Văn An",
            email=f"citizen{i}.{uuid.uuid4().hex[:6]}@example.vn",
            phone=f"09{i:08d}",
        )
        for i in range(n)
    ]


Result = tuple[str, int, float, list[float]]


async def run(
    mongodb_uri: str, bootstrap: str, n: int, paced_rate: float, paced_seconds: float, clock: HandOverClock
) -> tuple[list[Result], list[float], list[float]]:
    sink = Sink()
    smtp = Controller(sink, hostname="127.0.0.1", port=free_port(), ready_timeout=10)
    smtp.start()
    prefix = f"bench{uuid.uuid4().hex[:6]}."
    settings = Settings(
        mongodb_uri=mongodb_uri,
        mongodb_db=f"bench_{uuid.uuid4().hex[:8]}",
        kafka_bootstrap_servers=bootstrap,
        kafka_topic_prefix=prefix,
        smtp_port=smtp.port,
        deployment_environment="development",
        sms_provider="log",
        log_level="WARNING",
        dispatch_idle_poll_seconds=0.05,
        dispatch_batch_size=100,
    )
    verifier = TokenVerifier(issuer="bench", audience="bench", jwks={"keys": []})
    await kafka.ensure_topics(bootstrap, [topics.IDENTITY_ACCOUNT, topics.SUBMISSION_APPLICATION], prefix=prefix)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=2)
    await producer.start()
    results: list[Result] = []
    client = mongo.connect(mongodb_uri)
    try:
        async with running_app(build_app(settings, verifier=verifier)):
            people = accounts(CONTACTS)
            await publish(producer, prefix, list(people))
            contacts = client[settings.database_name]["contacts"]
            while await contacts.count_documents({}) < len(people):  # noqa: ASYNC110
                await asyncio.sleep(0.1)
            warm = application(people[0])
            await publish(producer, prefix, [warm])
            await wait_for(sink, [warm.tracking_code], 30)

            burst = [application(people[i % CONTACTS]) for i in range(n)]
            began = time.monotonic()
            sent = await publish(producer, prefix, list(burst))
            await wait_for(sink, [a.tracking_code for a in burst], 120)
            results.append(measure("burst", burst, sent, sink, began))

            paced = [application(people[i % CONTACTS]) for i in range(int(paced_rate * paced_seconds))]
            if paced:
                began = time.monotonic()
                paced_sent: dict[str, float] = {}
                for i, event in enumerate(paced):
                    await asyncio.sleep(max(0.0, began + i / paced_rate - time.monotonic()))
                    paced_sent.update(await publish(producer, prefix, [event]))
                await wait_for(sink, [a.tracking_code for a in paced], 60)
                results.append(measure(f"paced {paced_rate:g}/s", paced, paced_sent, sink, began))
        acknowledged = await acknowledged_marks(client, settings.database_name)
        emails = await client[settings.database_name]["deliveries"].find({"channel": "email"}).to_list()
        gaps = [
            sink.accepted[d["tracking_code"]] - clock.marked[d["_id"]]
            for d in emails
            if d.get("tracking_code") in sink.accepted and d["_id"] in clock.marked
        ]
    finally:
        await producer.stop()
        await client.close()
        smtp.stop()
    return results, acknowledged, gaps


def measure(name: str, events: list[ApplicationReceived], sent: dict[str, float], sink: Sink, began: float) -> Result:
    took = max(sink.accepted[a.tracking_code] for a in events) - began
    return name, len(events), took, [sink.accepted[a.tracking_code] - sent[a.tracking_code] for a in events]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=400, help="ApplicationReceived events in the burst")
    parser.add_argument("--paced-rate", type=float, default=10.0, help="events per second of the paced run (0: skip)")
    parser.add_argument("--paced-seconds", type=float, default=5.0)
    args = parser.parse_args()
    clock = HandOverClock()
    mongo.watch_commands(clock)  # every client connected from now on tells the clock of its commands
    with tempfile.TemporaryDirectory() as tmp:
        stack = start_local_stack(Path(tmp))
        try:
            results, acknowledged, hand_overs = asyncio.run(
                run(stack.mongodb_uri, stack.kafka_bootstrap, args.events, args.paced_rate, args.paced_seconds, clock)
            )
        finally:
            stack.stop()
    print("\nnotification: event published → email accepted by SMTP (each event also makes an SMS and an in-app)")
    print(f"{'run':<14}{'emails':>8}{'seconds':>9}{'emails/s':>10}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}{'max ms':>9}")
    for name, count, took, latencies in results:
        ms = [x * 1000 for x in latencies]
        print(
            f"{name:<14}{count:>8}{took:>9.2f}{count / took:>10.1f}{statistics.median(ms):>9.0f}"
            f"{percentile(ms, 0.9):>9.0f}{percentile(ms, 0.99):>9.0f}{max(ms):>9.0f}"
        )
    burst_rate = results[0][1] / results[0][2]
    print(f"\nanchor: GOV.UK Notify, 1,000,000 messages/hour ≈ {ANCHOR_PER_SECOND:.0f}/s")
    print(f"ratio (burst emails/s ÷ anchor): {burst_rate / ANCHOR_PER_SECOND:.2f}")
    gaps = [g * 1e6 for g in hand_overs]
    waited = [a * 1e6 for a in acknowledged]
    print(
        f"\nhand-over: mark sent → message accepted by the SMTP server, {len(gaps)} emails: "
        f"median {statistics.median(gaps):.0f} µs, "
        f"p99 {percentile(gaps, 0.99):.0f} µs, max {max(gaps):.0f} µs"
    )
    print(
        f"an acknowledged mark on the same server: median {statistics.median(waited):.0f} µs, "
        f"p99 {percentile(waited, 0.99):.0f} µs"
    )
    print(f"ratio (acknowledged ÷ hand-over gap, medians): {statistics.median(waited) / statistics.median(gaps):.0f}×")


if __name__ == "__main__":
    main()
