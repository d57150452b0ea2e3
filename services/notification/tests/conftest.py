"""Real outside parties for notification's tests: an aiosmtpd SMTP server and an HTTP SMS gateway,
both started by the test; factories for the events identity and submission publish."""

from __future__ import annotations

import asyncio
import contextlib
import email
import threading
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiosmtpd.controller import Controller
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from motcua.common import kafka, topics
from motcua.common.auth import TokenVerifier
from motcua.common.contracts.identity import AccountRegistered
from motcua.common.contracts.submission import ApplicationReceived, ApplicationStatusChanged
from motcua.common.events import Envelope, Event, decode, encode
from motcua.devtools.devservers import free_port
from motcua.devtools.testing import Isolation, Stack, TokenMinter, running_app, topic_partitions
from motcua.notification.app import build_app
from motcua.notification.model import RetryableSendError
from motcua.notification.settings import Settings


class Mailbox:
    """An aiosmtpd handler that keeps what it accepts; can refuse recipients, hold its answer to a
    recipient (the message not yet handed over) or to the end of data (the message in)."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.refuse: dict[str, str] = {}
        self.hold_recipients = False
        self.held_recipients = 0
        self.hold_replies = False
        self.release = threading.Event()
        self.received_at: list[float] = []

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: list[str]) -> str:
        if address in self.refuse:
            return self.refuse[address]
        if self.hold_recipients:  # the envelope is being given; the sender may die before the message is handed over
            self.held_recipients += 1
            await asyncio.get_running_loop().run_in_executor(None, self.release.wait, 60)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        if self.hold_replies:  # the message is in; the reply waits (the sender may die meanwhile)
            await asyncio.get_running_loop().run_in_executor(None, self.release.wait, 60)
        return "250 2.0.0 Ok: queued"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if address in str(m["To"])]


@dataclass
class SmtpServer:
    """A real SMTP server on a fixed port; `stop()` and `start()` simulate an outage."""

    mailbox: Mailbox
    port: int
    controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port, ready_timeout=10)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@dataclass
class SmsGateway:
    """Records each POST and answers the next scripted status (202 once the script runs out)."""

    url: str = ""
    requests: list[dict[str, Any]] = field(default_factory=list)
    script: list[int] = field(default_factory=list)
    accepted: list[dict[str, Any]] = field(default_factory=list)
    delay: float = 0.0

    def to(self, number: str) -> list[dict[str, Any]]:
        """The texts the gateway accepted for this number."""
        return [r for r in self.accepted if r["to"] == number]

    def tried(self, number: str) -> list[dict[str, Any]]:
        """Every request for this number, with the status it got and its Idempotency-Key."""
        return [r for r in self.requests if r["to"] == number]

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/sms")
        async def receive(request: Request) -> JSONResponse:
            body = await request.json()
            status = self.script.pop(0) if self.script else 202
            headers = request.headers
            self.requests.append(
                {**body, "status": status, "key": headers.get("idempotency-key"), "auth": headers.get("authorization")}
            )
            await asyncio.sleep(self.delay)
            if 200 <= status < 300:
                self.accepted.append(body)
            return JSONResponse({"status": status}, status_code=status)

        return app


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
    smtp: SmtpServer
    sms: SmsGateway
    minter: TokenMinter
    publisher: Publisher

    account = staticmethod(new_account)
    received = staticmethod(application_received)
    changed = staticmethod(status_changed)

    def settings(self, **overrides: Any) -> Settings:
        """Its own database and topics, the test's SMTP and SMS servers, quick retries."""
        values: dict[str, Any] = {
            "mongodb_uri": self.stack.mongodb_uri,
            "mongodb_db": self.isolation.db_name,
            "kafka_bootstrap_servers": self.stack.kafka_bootstrap,
            "kafka_topic_prefix": self.isolation.topic_prefix,
            "smtp_host": "127.0.0.1",
            "smtp_port": self.smtp.port,
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
    smtp = SmtpServer(Mailbox(), free_port())
    smtp.start()
    sms = SmsGateway()
    publisher = Publisher(stack.kafka_bootstrap, isolation.topic_prefix)
    await publisher.start()
    try:
        async with running_app(sms.app()) as url:
            sms.url = f"{url}/sms"
            yield Kit(stack, isolation, smtp, sms, token_minter, publisher)
    finally:
        await publisher.stop()
        smtp.mailbox.release.set()
        await asyncio.to_thread(smtp.stop)


@pytest.fixture(scope="module")
async def service(kit: Kit) -> AsyncIterator[Service]:
    """The notification service of a test module, started once."""
    async with kit.service() as running:
        yield running


@pytest.fixture
def hand_overs() -> HandOvers:
    return HandOvers()
