"""Real outside parties for notification's tests: the shared SMTP server and SMS webhook
(`motcua.devtools.testing_messages`), started by the test; factories for the events identity and
submission publish."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from fastapi import FastAPI
from motcua.common import kafka, topics
from motcua.common.auth import TokenVerifier
from motcua.common.contracts.identity import AccountRegistered
from motcua.common.contracts.submission import ApplicationReceived, ApplicationStatusChanged
from motcua.common.events import Envelope, Event, decode, encode
from motcua.devtools.devservers import free_port
from motcua.devtools.testing import Isolation, Stack, TokenMinter, running_app, topic_partitions
from motcua.devtools.testing_messages import Outbox, SmsEndpoint, SmtpCapture
from motcua.notification.app import build_app
from motcua.notification.model import RetryableSendError
from motcua.notification.settings import Settings


class HandOvers:
    """Stands where the dispatcher's hand-over mark goes: counts the marks, or refuses them (the
    database away) so the sender must abandon the message."""

    def __init__(self, *, refuse: bool = False) -> None:
        self.count = 0
        self.refuse = refuse

    async def __call__(self) -> None:
        if self.refuse:
            raise RetryableSendError("not handed over, the database is away")
        self.count += 1


class Publisher:
    """Publishes events as identity and submission would (binary-mode CloudEvents, keyed by aggregate)."""

    def __init__(self, bootstrap: str, prefix: str) -> None:
        self.bootstrap = bootstrap
        self.prefix = prefix
        self._producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")

    async def start(self) -> None:
        names = [topics.IDENTITY_ACCOUNT, topics.SUBMISSION_APPLICATION, topics.NOTIFICATION_DELIVERY]
        await kafka.ensure_topics(self.bootstrap, names, prefix=self.prefix)
        await self._producer.start()

    async def stop(self) -> None:
        await self._producer.stop()

    async def send(self, *events: Event | Envelope) -> list[Envelope]:
        sent = []
        for item in events:
            envelope = item if isinstance(item, Envelope) else Envelope(data=item, source="/motcua/test")
            record = encode(envelope)
            await self._producer.send_and_wait(
                f"{self.prefix}{envelope.data.topic}", value=record.value, key=record.key, headers=record.headers
            )
            sent.append(envelope)
        return sent


def new_account(*, locale: str = "vi", full_name: str = "Nguyễn Thị Hồng Nhung", phone: str = "") -> AccountRegistered:
    """An individual's registration with a unique email and phone."""
    tag = uuid.uuid4().hex[:8]
    return AccountRegistered(
        account_id=uuid.uuid4().hex,
        account_type="individual",
        full_name=full_name,
        email=f"citizen.{tag}@example.vn",
        phone=phone or f"09{int(tag, 16) % 100_000_000:08d}",
        locale=locale,
    )


def application_received(account: AccountRegistered, **changes: Any) -> ApplicationReceived:
    values: dict[str, Any] = {
        "application_id": uuid.uuid4().hex,
        "tracking_code": f"HS-{uuid.uuid4().hex[:4].upper()}-{uuid.uuid4().hex[:4].upper()}",
        "procedure_code": "HT-KS-01",
        "procedure_version": 3,
        "procedure_name": "Đăng ký khai sinh",
        "procedure_name_en": "Birth registration",
        "agency_code": "UBND-XA",
        "applicant_account_id": account.account_id,
        "due_date": date(2026, 12, 4),
        "submitted_at": datetime.now(UTC) - timedelta(minutes=1),
        **changes,
    }
    return ApplicationReceived(**values)


def status_changed(
    received: ApplicationReceived, to: str, *, before: str = "submitted", comment: str = ""
) -> ApplicationStatusChanged:
    fields = received.model_dump(exclude={"submitted_at"})
    return ApplicationStatusChanged(
        **fields, from_status=before, to_status=to, comment=comment, by_role="officer", changed_at=datetime.now(UTC)
    )


def pending_email(address: str, tracking_code: str) -> dict[str, Any]:
    """A pending ApplicationReceived email, as the consumer records it (for tests that feed the dispatcher)."""
    now = datetime.now(UTC)
    return {
        "_id": uuid.uuid4().hex,
        "cause_event_id": uuid.uuid4().hex,
        "cause_event_type": "motcua.submission.ApplicationReceived.v1",
        "channel": "email",
        "account_id": uuid.uuid4().hex,
        "recipient": address,
        "tracking_code": tracking_code,
        "message": {
            "subject": f"Đã nộp hồ sơ {tracking_code}",
            "text": f"Mã hồ sơ {tracking_code}",
            "html": f"<p>Mã hồ sơ {tracking_code}</p>",
            "to_name": "Nguyễn Văn An",
        },
        "status": "pending",
        "secret": False,
        "expires_at": None,
        "attempts": 0,
        "attempt_log": [],
        "next_attempt_at": now,
        "created_at": now,
        "updated_at": now,
        "request_id": None,
    }


@contextlib.contextmanager
def service_process(env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`python -m motcua.notification` as a real process, stopped by its PID."""
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "motcua.notification"], env={**os.environ, **env}, stdout=out, stderr=out
        )
        try:
            yield process
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(5)


@dataclass
class Service:
    """A running notification service, its settings and an HTTP client on it."""

    url: str
    settings: Settings
    http: httpx.AsyncClient
    app: FastAPI


@dataclass
class Kit:
    """Everything a notification test touches, with factories for the events it feeds the service."""

    stack: Stack
    isolation: Isolation
    smtp: SmtpCapture
    sms: SmsEndpoint
    minter: TokenMinter
    publisher: Publisher

    account = staticmethod(new_account)
    received = staticmethod(application_received)
    changed = staticmethod(status_changed)
    pending_email = staticmethod(pending_email)
    service_process = staticmethod(service_process)

    def process_env(self) -> dict[str, str]:
        """The service as a process of its own, on the test's servers; a lease long enough that only the
        test decides when an interrupted send counts as abandoned."""
        return {
            "NOTIFICATION_PORT": str(free_port()),
            "MONGODB_URI": self.stack.mongodb_uri,
            "MONGODB_DB": self.isolation.db_name,
            "KAFKA_BOOTSTRAP_SERVERS": self.stack.kafka_bootstrap,
            "KAFKA_TOPIC_PREFIX": self.isolation.topic_prefix,
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(self.smtp.port),
            "SMTP_TIMEOUT_SECONDS": "10",
            "DEPLOYMENT_ENVIRONMENT": "development",  # the SMS webhook is plain http on this machine
            "SMS_PROVIDER": "webhook",
            "SMS_WEBHOOK_URL": self.sms.url,
            "SMS_WEBHOOK_TIMEOUT_SECONDS": "2",
            "DELIVERY_LEASE_SECONDS": "90",
            "DISPATCH_IDLE_POLL_SECONDS": "0.1",
            "LOG_FORMAT": "json",
        }

    def settings(self, **overrides: Any) -> Settings:
        """Its own database and topics, the test's SMTP and SMS servers, quick retries."""
        values: dict[str, Any] = {
            "mongodb_uri": self.stack.mongodb_uri,
            "mongodb_db": self.isolation.db_name,
            "kafka_bootstrap_servers": self.stack.kafka_bootstrap,
            "kafka_topic_prefix": self.isolation.topic_prefix,
            "smtp_host": self.smtp.host,
            "smtp_port": self.smtp.port,
            "deployment_environment": "development",  # the SMS webhook is plain http on this machine
            "sms_provider": "webhook",
            "sms_webhook_url": self.sms.url,
            "smtp_timeout_seconds": 2.0,
            "sms_webhook_timeout_seconds": 2.0,
            "delivery_lease_seconds": 20.0,
            "delivery_retry_backoff_seconds": 0.1,
            "delivery_retry_backoff_max_seconds": 0.4,
            "delivery_max_attempts": 40,
            "secret_messages_per_recipient": 2,
            "dispatch_idle_poll_seconds": 0.1,
            "consumer_retry_backoff_seconds": 0.05,
            "log_format": "console",
            **overrides,
        }
        return Settings(**values)

    @contextlib.asynccontextmanager
    async def service(self, **overrides: Any) -> AsyncIterator[Service]:
        settings = self.settings(**overrides)
        verifier = TokenVerifier(issuer=self.minter.issuer, audience=self.minter.audience, jwks=self.minter.jwks)
        app = build_app(settings, verifier=verifier)
        async with running_app(app) as url, httpx.AsyncClient(base_url=url, timeout=10) as http:
            yield Service(url, settings, http, app)

    async def send(self, *events: Event | Envelope) -> list[Envelope]:
        return await self.publisher.send(*events)

    async def delivery_events(self, *causes: str, count: int, timeout: float = 20.0) -> list[Envelope]:
        """NotificationSent / NotificationFailed caused by these events, once `count` are on the topic (and
        a moment more, to catch any extra). Partitions are assigned, not joined: no consumer-group wait."""
        topic = f"{self.isolation.topic_prefix}{topics.NOTIFICATION_DELIVERY}"
        consumer = AIOKafkaConsumer(bootstrap_servers=self.stack.kafka_bootstrap, enable_auto_commit=False)
        await consumer.start()
        found: list[Envelope] = []
        try:
            consumer.assign(await topic_partitions(consumer, topic, timeout=timeout))
            await consumer.seek_to_beginning()
            deadline = time.monotonic() + timeout
            quiet_until = None
            while time.monotonic() < deadline:
                batches = await consumer.getmany(timeout_ms=100)
                for records in batches.values():
                    events = (decode(r.value, list(r.headers)) for r in records)
                    found.extend(e for e in events if getattr(e.data, "cause_event_id", None) in causes)
                if len(found) >= count:
                    quiet_until = quiet_until or time.monotonic() + 0.3
                    if time.monotonic() >= quiet_until:
                        break
        finally:
            await consumer.stop()
        return found


@pytest.fixture(scope="module")
async def kit(stack: Stack, token_minter: TokenMinter) -> AsyncIterator[Kit]:
    """One per test module: its own database and topics, SMTP server, SMS gateway and publisher.
    Tests in a module may share a running service; each uses its own accounts."""
    tag = uuid.uuid4().hex[:10]
    isolation = Isolation(db_name=f"test_{tag}", topic_prefix=f"t{tag}.")
    outbox = Outbox()
    outbox.start()
    publisher = Publisher(stack.kafka_bootstrap, isolation.topic_prefix)
    try:
        await publisher.start()
        yield Kit(stack, isolation, outbox.mail, outbox.sms, token_minter, publisher)
    finally:
        await publisher.stop()
        await asyncio.to_thread(outbox.stop)  # releases any held SMTP answer first


@pytest.fixture(scope="module")
async def service(kit: Kit) -> AsyncIterator[Service]:
    """The notification service of a test module, started once."""
    async with kit.service() as running:
        yield running


@pytest.fixture
def hand_overs() -> HandOvers:
    return HandOvers()
