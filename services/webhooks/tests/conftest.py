"""Real outside parties for the webhooks tests: HTTPS receivers with a certificate from a CA the test makes,
the service itself on real uvicorn, and a producer of dossier events on the test's own topics."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import ipaddress
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from aiokafka import AIOKafkaProducer
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from motcua.common import kafka, topics
from motcua.common.auth import TokenVerifier
from motcua.common.contracts.submission import ApplicationReceived, ApplicationStatusChanged
from motcua.common.events import Envelope, Event, encode
from motcua.devtools.devservers import free_port
from motcua.devtools.testing import Isolation, Stack, TokenMinter, running_app
from motcua.webhooks.app import build_app
from motcua.webhooks.settings import Settings
from starlette.requests import Request
from starlette.responses import Response

AGENCY = "UBND-PHUONG-BA-DINH"
OTHER_AGENCY = "SO-KHDT-HA-NOI"
RECEIVED = ApplicationReceived.ce_type
CHANGED = ApplicationStatusChanged.ce_type
BOTH = [RECEIVED, CHANGED]


# --- a certificate authority of the test's own ---------------------------------------------------


@dataclass(frozen=True)
class TestCA:
    """A CA made for the run, and a server certificate it signed for localhost and 127.0.0.1."""

    ca_file: Path
    cert_file: Path
    key_file: Path


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def make_ca(folder: Path) -> TestCA:
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("Mot Cua test CA"))
        .issuer_name(_name("Mot Cua test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    folder.mkdir(parents=True, exist_ok=True)
    found = TestCA(folder / "ca.pem", folder / "server.pem", folder / "server-key.pem")
    found.ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    found.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    found.key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return found


@pytest.fixture(scope="session")
def test_ca(tmp_path_factory: pytest.TempPathFactory) -> TestCA:
    return make_ca(tmp_path_factory.mktemp("webhooks-ca"))


# --- HTTPS receivers ---------------------------------------------------------------------------------


@dataclass
class Received:
    at: float  # time.time() when the request arrived
    headers: dict[str, str]
    body: bytes
    status: int  # what the receiver answered (0: it never answered)

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]


Behaviour = Callable[["Receiver", Received], Awaitable[int]]


async def accept(receiver: Receiver, request: Received) -> int:
    return 204


async def hang(receiver: Receiver, request: Received) -> int:
    """Never answer while the receiver runs (a stuck endpoint)."""
    await receiver.released.wait()
    return 503


@dataclass
class Receiver:
    """A real HTTPS server on 127.0.0.1; `behaviour` decides each answer (a status, or hangs)."""

    ca: TestCA
    behaviour: Behaviour = accept
    port: int = field(default_factory=free_port)
    host: str = "127.0.0.1"
    path: str = "/motcua/hook"
    log: list[Received] = field(default_factory=list)
    failure_body: bytes = b""
    released: asyncio.Event = field(default_factory=asyncio.Event)  # set when it stops: held answers go out
    _server: uvicorn.Server | None = None
    _task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"https://{self.host}:{self.port}{self.path}"

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        body = await request.body()
        entry = Received(time.time(), {k.lower(): v for k, v in request.headers.items()}, body, 0)
        self.log.append(entry)
        entry.status = await self.behaviour(self, entry)
        payload = self.failure_body if entry.status >= 300 else b""
        headers = {"location": "https://127.0.0.1:9/elsewhere"} if 300 <= entry.status < 400 else None
        await Response(payload, status_code=entry.status, headers=headers)(scope, receive, send)

    async def start(self) -> None:
        config = uvicorn.Config(
            self,
            host="127.0.0.1",
            port=self.port,
            log_config=None,
            access_log=False,
            lifespan="off",
            ssl_certfile=str(self.ca.cert_file),
            ssl_keyfile=str(self.ca.key_file),
            timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(config)
        self.released = asyncio.Event()
        self._task = asyncio.create_task(self._server.serve())
        deadline = time.monotonic() + 10
        while not self._server.started:
            if self._task.done():
                await self._task
            assert time.monotonic() < deadline, "receiver did not start"
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        self.released.set()
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            self._server.force_exit = True
            await asyncio.wait_for(self._task, 15)
            self._server = None

    def accepted(self) -> list[Received]:
        """The requests it answered with a 2xx."""
        return [r for r in self.log if 200 <= r.status < 300]

    def accepted_ids(self) -> list[str]:
        return [r.webhook_id for r in self.accepted()]


@contextlib.asynccontextmanager
async def receiving(ca: TestCA, behaviour: Behaviour = accept, **kw: Any) -> AsyncIterator[Receiver]:
    receiver = Receiver(ca, behaviour, **kw)
    await receiver.start()
    try:
        yield receiver
    finally:
        await receiver.stop()


# --- events ---------------------------------------------------------------------------------------


def received(application_id: str | None = None, agency: str = AGENCY, **changes: Any) -> ApplicationReceived:
    values: dict[str, Any] = {
        "application_id": application_id or uuid.uuid4().hex,
        "tracking_code": f"HS-{uuid.uuid4().hex[:8].upper()}",
        "procedure_code": "HT-KS-01",
        "procedure_version": 1,
        "procedure_name": "Đăng ký khai sinh",
        "procedure_name_en": "Birth registration",
        "agency_code": agency,
        "applicant_account_id": uuid.uuid4().hex,
        "due_date": date(2027, 1, 8),
        "submitted_at": datetime.now(UTC),
        **changes,
    }
    return ApplicationReceived(**values)


def changed(first: ApplicationReceived, from_status: str, to_status: str) -> ApplicationStatusChanged:
    common = first.model_dump(exclude={"submitted_at"})
    return ApplicationStatusChanged(
        **common,
        from_status=from_status,
        to_status=to_status,
        by_role="officer",
        comment="",
        changed_at=datetime.now(UTC),
    )


def journey(agency: str = AGENCY) -> list[Event]:
    """One dossier's events in workflow order."""
    first = received(agency=agency)
    return [
        first,
        changed(first, "submitted", "processing"),
        changed(first, "processing", "approved"),
        changed(first, "approved", "completed"),
    ]


class Publisher:
    """Puts events on the test's dossier topic as submission's relay would (binary mode, keyed by dossier)."""

    def __init__(self, bootstrap: str, prefix: str) -> None:
        self.topic = f"{prefix}{topics.SUBMISSION_APPLICATION}"
        self.bootstrap = bootstrap
        self.prefix = prefix
        self.producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=0)

    async def start(self) -> None:
        await kafka.ensure_topics(self.bootstrap, [self.topic, topics.dead_letter(self.topic)], prefix=self.prefix)
        await self.producer.start()

    async def send(self, *events: Event) -> list[Envelope]:
        sent = []
        for event in events:
            envelope = Envelope(data=event, source="/motcua/submission")
            record = encode(envelope)
            await self.producer.send_and_wait(self.topic, record.value, key=record.key, headers=record.headers)
            sent.append(envelope)
        return sent


# --- the service ----------------------------------------------------------------------------------


@dataclass
class Service:
    base_url: str
    minter: TokenMinter
    settings: Settings
    http: httpx.AsyncClient

    def admin(self) -> dict[str, str]:
        return self.minter.headers(roles=["admin"])

    def approver(self, agency: str = AGENCY) -> dict[str, str]:
        return self.minter.headers(roles=["officer"], agency=agency, agency_roles=["intake", "approver"])

    async def subscribe(
        self,
        url: str,
        *,
        event_types: list[str] | None = None,
        agency: str | None = AGENCY,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"url": url, "event_types": event_types or BOTH}
        if agency is not None:
            body["agency_code"] = agency
        answer = await self.http.post("/v1/webhooks", json=body, headers=headers or self.admin())
        assert answer.status_code == 201, answer.text
        created: dict[str, Any] = answer.json()
        return created


@dataclass
class Kit:
    """What a test needs, as one fixture (conftest modules cannot be imported under --import-mode=importlib)."""

    stack: Stack
    isolation: Isolation
    minter: TokenMinter
    ca: TestCA
    publisher: Publisher
    AGENCY: str = AGENCY
    OTHER_AGENCY: str = OTHER_AGENCY

    @staticmethod
    async def hang(receiver: Receiver, request: Received) -> int:
        return await hang(receiver, request)

    def receiving(self, behaviour: Behaviour = accept, **kw: Any) -> contextlib.AbstractAsyncContextManager[Receiver]:
        """A started HTTPS receiver, stopped afterwards."""
        return receiving(self.ca, behaviour, **kw)

    def receiver(self, behaviour: Behaviour = accept, **kw: Any) -> Receiver:
        """A receiver to start and stop by hand."""
        return Receiver(self.ca, behaviour, **kw)

    @staticmethod
    def journey(agency: str = AGENCY) -> list[Event]:
        return journey(agency)

    def settings(self, **overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "mongodb_uri": self.stack.mongodb_uri,
            "mongodb_db": self.isolation.db_name,
            "kafka_bootstrap_servers": self.stack.kafka_bootstrap,
            "kafka_topic_prefix": self.isolation.topic_prefix,
            "deployment_environment": "production",
            "webhooks_secret_keys": "dGVzdCBrZXkgdGVzdCBrZXkgdGVzdCBrZXkgdGVzdCE=",
            # the receivers listen on loopback: that network alone is let through, as an operator would
            "webhooks_allowed_networks": "127.0.0.0/8",
            "webhooks_allowed_ports": "1024-65535",
            "webhooks_ca_file": str(self.ca.ca_file),
            "webhooks_timeout_seconds": 2.0,
            "webhooks_lease_seconds": 10.0,
            "webhooks_retry_base_seconds": 0.05,
            "webhooks_retry_max_delay_seconds": 0.4,
            "webhooks_retry_for_seconds": 60.0,
            "webhooks_breaker_cooldown_seconds": 0.2,
            "webhooks_breaker_max_cooldown_seconds": 0.5,
            "webhooks_idle_poll_seconds": 0.2,
            "webhooks_refresh_seconds": 0.3,
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
        async with running_app(app) as url, httpx.AsyncClient(base_url=url, timeout=20) as http:
            yield Service(url, self.minter, settings, http)


@pytest.fixture
async def kit(stack: Stack, isolation: Isolation, token_minter: TokenMinter, test_ca: TestCA) -> AsyncIterator[Kit]:
    publisher = Publisher(stack.kafka_bootstrap, isolation.topic_prefix)
    await publisher.start()
    try:
        yield Kit(stack, isolation, token_minter, test_ca, publisher)
    finally:
        await publisher.producer.stop()
