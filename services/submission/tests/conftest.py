"""Factories and a running submission service against the run's real MongoDB and Kafka servers."""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from fastapi import FastAPI
from motcua.common import kafka, mongo, topics
from motcua.common.auth import TokenVerifier
from motcua.common.clock import Clock, now
from motcua.common.contracts.catalogue import ProcedurePublished, ProcedureRetired
from motcua.common.contracts.identity import AccountProfileChanged, OfficerProfileChanged
from motcua.common.events import Envelope, Event, decode, encode
from motcua.devtools.payment_provider import LocalGateway, ProviderConfig, build_provider
from motcua.devtools.testing import (
    Isolation,
    Stack,
    TokenMinter,
    consumed_by,
    running_app,
    topic_partitions,
)
from motcua.submission.app import build_app
from motcua.submission.settings import Settings

SIGNING_DIR = Path(tempfile.gettempdir()) / f"motcua-test-signing-{os.getpid()}"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64 + b"\xff\xd9"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 64
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 200

BIRTH_FORM = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "properties": {
        "child_full_name": {"type": "string", "minLength": 1, "maxLength": 100},
        "child_date_of_birth": {"type": "string", "format": "date"},
        "child_sex": {"type": "string", "enum": ["male", "female"]},
        "place_of_birth": {"type": "string", "minLength": 1, "maxLength": 200},
        "father_full_name": {"type": "string", "maxLength": 100},
        "mother_full_name": {"type": "string", "maxLength": 100},
    },
    "required": ["child_full_name", "child_date_of_birth", "child_sex", "place_of_birth"],
    "additionalProperties": False,
}
BIRTH_DATA = {
    "child_full_name": "Nguyễn Minh Anh",
    "child_date_of_birth": "2026-11-20",
    "child_sex": "female",
    "place_of_birth": "Bệnh viện Phụ sản Hà Nội",
}


def birth_registration(
    code: str | None = None,
    *,
    version: int = 1,
    agency: str = "UBND-XA",
    applicant_types: list[str] | None = None,
    max_size_mb: float = 5,
    processing_days: int = 1,
) -> ProcedurePublished:
    """HT-KS-01 as the catalogue publishes it (under a random code unless one is given)."""
    return ProcedurePublished(
        code=code or f"HT-KS-{uuid.uuid4().hex[:6].upper()}",
        version=version,
        name="Đăng ký khai sinh",
        name_en="Birth registration",
        agency_code=agency,
        applicant_types=applicant_types or ["individual"],
        online_level="full",
        processing_days=processing_days,
        fee_vnd=0,
        required_documents=[
            {
                "key": "birth_certificate_medical",
                "name": "Giấy chứng sinh",
                "name_en": "Medical birth certificate",
                "required": True,
                "accepted_types": ["application/pdf", "image/jpeg", "image/png"],
                "max_size_mb": max_size_mb,
            },
            {
                "key": "marriage_certificate",
                "name": "Giấy chứng nhận kết hôn",
                "name_en": "Marriage certificate",
                "required": False,
                "accepted_types": ["application/pdf", "image/jpeg", "image/png"],
                "max_size_mb": max_size_mb,
            },
        ],
        form_schema=BIRTH_FORM,
        published_at=datetime.now(UTC),
    )


def retirement(published: ProcedurePublished) -> ProcedureRetired:
    return ProcedureRetired(code=published.code, version=published.version, retired_at=datetime.now(UTC))


@dataclass
class Service:
    """A running submission service, its database, and ways to act as citizens, officers and the catalogue."""

    url: str
    http: httpx.AsyncClient
    settings: Settings
    db: mongo.Database
    minter: TokenMinter
    producer: AIOKafkaProducer
    app: FastAPI  # to say where its background tasks stand when a wait fails
    # the citizens made here (their Authorization header → account id and type), and those identity has told of
    citizens: dict[str, tuple[str, str]] = field(default_factory=dict)
    profiled: set[str] = field(default_factory=set)

    def topic(self, name: str) -> str:
        return self.settings.topic(name)

    async def publish(self, *events: Event) -> None:
        for event in events:
            record = encode(Envelope(data=event, source="/motcua/catalogue"))
            await self.producer.send_and_wait(
                self.topic(event.topic), value=record.value, key=record.key, headers=record.headers
            )

    async def consumed(self, check: Callable[[], Awaitable[bool]]) -> None:
        """Wait for what the service's consumers write (a timeout says how its loops stood)."""
        await consumed_by(self.app, self.http, check)

    async def catalogue_publishes(self, *published: ProcedurePublished) -> None:
        """Publish on the catalogue's topic and wait until submission's read model has every version."""
        await self.publish(*published)
        wanted = {f"{p.code}@{p.version}" for p in published}

        async def stored() -> bool:
            return await self.db["procedures"].count_documents({"_id": {"$in": sorted(wanted)}}) == len(wanted)

        await self.consumed(stored)

    async def application_events(
        self, application_id: str, count: int, *, settle: float = 0.0, timeout: float = 20.0
    ) -> list[Envelope]:
        """The application's events on submission's topic, from the start: at least `count`, then whatever
        more arrives within `settle` seconds (to show nothing else was sent)."""
        # Assigned partitions, not a consumer group: joining a group costs seconds on the local broker.
        topic = self.topic(topics.SUBMISSION_APPLICATION)
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.settings.kafka_bootstrap_servers,
            group_id=None,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        await consumer.start()
        await kafka.ensure_topics(
            self.settings.kafka_bootstrap_servers, [topic], prefix=self.settings.kafka_topic_prefix
        )
        consumer.assign(await topic_partitions(consumer, topic))
        await consumer.seek_to_beginning()
        found: list[Envelope] = []
        try:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                batches = await consumer.getmany(timeout_ms=200)
                for records in batches.values():
                    for record in records:
                        envelope = decode(record.value, list(record.headers))
                        if envelope.subject == application_id:
                            found.append(envelope)
                if len(found) >= count:
                    deadline = min(deadline, time.monotonic() + settle)
                    if settle == 0:
                        break
        finally:
            await consumer.stop()
        return found

    def citizen(self, sub: str | None = None, *, account_type: str = "individual") -> dict[str, str]:
        sub = sub or f"citizen-{uuid.uuid4().hex[:8]}"
        headers = self.minter.headers(sub, account_type=account_type)
        self.citizens[headers["Authorization"]] = (sub, account_type)
        return headers

    async def profile_known(
        self, who: dict[str, str], *, full_name: str = "Nguyễn Thị Ánh", changed_at: datetime | None = None
    ) -> AccountProfileChanged:
        """Identity tells of `who`'s profile (AccountProfileChanged on its profile topic, as at activation), once
        submission keeps it: the event."""
        sub, account_type = self.citizens[who["Authorization"]]
        tag = int(uuid.uuid4().hex[:8], 16)
        business = account_type != "individual"
        event = AccountProfileChanged(
            account_id=sub,
            account_type=account_type,
            full_name=full_name,
            national_id=None if business else f"0792{tag % 100_000_000:08d}",
            tax_code=f"01{tag % 100_000_000:08d}" if account_type == "business" else None,
            organisation_name="Hộ kinh doanh Ánh Dương" if business else None,
            email=f"cong.dan.{tag:x}@example.vn",
            phone=f"+8491{tag % 10_000_000:07d}",
            changed_at=changed_at or datetime.now(UTC),
        )
        await self.publish(event)

        async def stored() -> bool:
            # this record, or a later one (concurrent submits each tell of a profile: the latest is kept)
            found = await self.db["applicant_profiles"].find_one(
                {"_id": sub, "profile_changed_at": {"$gte": event.changed_at}}
            )
            return found is not None

        await self.consumed(stored)
        self.profiled.add(sub)
        return event

    def officer(
        self, agency: str, roles: tuple[str, ...] = ("intake", "specialist", "approver"), *, sub: str | None = None
    ) -> dict[str, str]:
        return self.minter.headers(
            sub or f"officer-{uuid.uuid4().hex[:8]}",
            roles=["officer"],
            agency=agency,
            account_type="officer",
            agency_roles=list(roles),
        )

    async def officer_in_directory(
        self, agency: str, roles: tuple[str, ...], *, name: str = "Trần Thị Bình", active: bool = True
    ) -> tuple[dict[str, str], str]:
        """An officer identity has created (OfficerProfileChanged on its directory topic), once submission has
        them: their headers and account id."""
        sub = f"officer-{uuid.uuid4().hex[:8]}"
        await self.publish(
            OfficerProfileChanged(
                account_id=sub,
                full_name=name,
                agency_code=agency,
                agency_roles=list(roles),
                active=active,
                changed_at=datetime.now(UTC),
            )
        )

        async def stored() -> bool:
            return await self.db["officers"].count_documents({"_id": sub}) == 1

        await self.consumed(stored)
        return self.officer(agency, roles, sub=sub), sub

    async def draft(self, who: dict[str, str], code: str) -> tuple[dict[str, Any], str]:
        response = await self.http.post("/v1/applications", json={"procedure_code": code}, headers=who)
        assert response.status_code == 201, response.text
        return response.json(), response.headers["etag"]

    async def autosave(self, who: dict[str, str], app_id: str, data: dict[str, Any], tag: str) -> httpx.Response:
        return await self.http.patch(
            f"/v1/applications/{app_id}",
            json={"data": data},
            headers={**who, "If-Match": tag, "Content-Type": "application/merge-patch+json"},
        )

    async def upload(
        self,
        who: dict[str, str],
        app_id: str,
        key: str,
        content: bytes,
        filename: str = "scan.pdf",
        declared: str = "application/pdf",
    ) -> httpx.Response:
        return await self.http.post(
            f"/v1/applications/{app_id}/documents",
            headers=who,
            data={"document_key": key},
            files={"file": (filename, content, declared)},
        )

    async def submit(self, who: dict[str, str], app_id: str, key: str | None = None) -> httpx.Response:
        """Submit as `who`, whose profile identity has told of first (unless it already has)."""
        known = self.citizens.get(who.get("Authorization", ""))
        if known is not None and known[0] not in self.profiled:
            await self.profile_known(who)
        return await self.http.post(
            f"/v1/applications/{app_id}/submit", headers={**who, "Idempotency-Key": key or uuid.uuid4().hex}
        )

    async def act(self, officer: dict[str, str], app_id: str, action: str, comment: str = "") -> httpx.Response:
        return await self.http.post(
            f"/v1/agency/applications/{app_id}/actions", headers=officer, json={"action": action, "comment": comment}
        )

    async def submitted(self, procedure: ProcedurePublished) -> tuple[dict[str, str], str]:
        """A new citizen's birth registration of `procedure` (published first), submitted: their headers and its id."""
        await self.catalogue_publishes(procedure)
        owner = self.citizen()
        app_id = await self.ready_to_submit(owner, procedure.code)
        assert (await self.submit(owner, app_id)).status_code == 200
        return owner, app_id

    async def ready_to_submit(self, who: dict[str, str], code: str) -> str:
        """A complete draft of a birth registration: its form filled and its certificate uploaded."""
        app, tag = await self.draft(who, code)
        assert (await self.autosave(who, app["id"], BIRTH_DATA, tag)).status_code == 200
        assert (await self.upload(who, app["id"], "birth_certificate_medical", PDF)).status_code == 201
        return str(app["id"])


class Samples:
    """Files and factories for tests (conftest cannot be imported under --import-mode=importlib)."""

    PDF = PDF
    SIGNING_DIR = SIGNING_DIR
    JPEG = JPEG
    PNG = PNG
    EXE = EXE
    BIRTH_DATA = BIRTH_DATA
    birth_registration = staticmethod(birth_registration)
    retirement = staticmethod(retirement)


@pytest.fixture
def samples() -> type[Samples]:
    return Samples


Launcher = Callable[..., contextlib.AbstractAsyncContextManager[Service]]


@contextlib.asynccontextmanager
async def _running(
    stack: Stack, isolation: Isolation, minter: TokenMinter, *, window_clock: Clock = now, **overrides: Any
) -> AsyncIterator[Service]:
    fields: dict[str, Any] = {
        "log_format": "console",
        "log_level": "WARNING",
        # the result documents' development CA and agency keys: made on first use, outside the checkout
        "result_signing_dev_ca_dir": str(SIGNING_DIR),
        **overrides,
    }
    settings = Settings(
        mongodb_uri=stack.mongodb_uri,
        mongodb_db=isolation.db_name,
        kafka_bootstrap_servers=stack.kafka_bootstrap,
        kafka_topic_prefix=isolation.topic_prefix,
        **fields,
    )
    verifier = TokenVerifier(issuer=minter.issuer, audience=minter.audience, jwks=minter.jwks)
    app = build_app(settings, verifier=verifier, window_clock=window_clock)
    client = mongo.connect(stack.mongodb_uri)
    await kafka.ensure_topics(
        stack.kafka_bootstrap, [settings.topic(topics.CATALOGUE_PROCEDURE)], prefix=isolation.topic_prefix
    )
    producer = AIOKafkaProducer(bootstrap_servers=stack.kafka_bootstrap, acks="all")
    await producer.start()
    try:
        async with running_app(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
            yield Service(
                url=url,
                http=http,
                settings=settings,
                db=client[isolation.db_name],
                minter=minter,
                producer=producer,
                app=app,
            )
    finally:
        await producer.stop()
        await client.close()


@pytest.fixture
def launch(stack: Stack, isolation: Isolation, token_minter: TokenMinter) -> Launcher:
    """Start the service for one test, with settings overridden (small limits, say), and optionally the clock
    its rate-limit windows are counted by (`window_clock`)."""

    def start(**overrides: Any) -> contextlib.AbstractAsyncContextManager[Service]:
        return _running(stack, isolation, token_minter, **overrides)

    return start


@pytest.fixture(scope="session")
async def service(stack: Stack, token_minter: TokenMinter) -> AsyncIterator[Service]:
    """One service for the run (each start costs seconds of consumer-group join on the local broker);
    every test uses its own procedures, people and agencies, so they do not see each other's data."""
    tag = uuid.uuid4().hex[:10]
    async with _running(stack, Isolation(db_name=f"test_{tag}", topic_prefix=f"t{tag}."), token_minter) as running:
        yield running


@dataclass
class Paying:
    """A submission service paid through the local VNPAY gateway (a separate app on its own port)."""

    service: Service
    provider_url: str
    gateway: LocalGateway
    secret: str


@pytest.fixture(scope="session")
async def paying(stack: Stack, token_minter: TokenMinter) -> AsyncIterator[Paying]:
    """One submission service for the payment tests, and the local provider it pays through; the provider's
    IPN goes to the service, the service's querydr and refunds to the provider, over real HTTP."""
    secret = f"test-secret-{uuid.uuid4().hex}"
    config = ProviderConfig(hash_secret=secret, tmn_code="TESTTMN1")
    provider = build_provider(config)
    tag = uuid.uuid4().hex[:10]
    async with (
        running_app(provider) as provider_url,
        _running(
            stack,
            Isolation(db_name=f"test_{tag}", topic_prefix=f"t{tag}."),
            token_minter,
            payment_provider_url=provider_url,
            vnpay_hash_secret=secret,
            vnpay_tmn_code="TESTTMN1",
            payment_query_every_seconds=0.5,
            payment_query_after_seconds=4,
        ) as running,
    ):
        config.ipn_url = f"{running.url}/v1/payments/vnpay/ipn"
        yield Paying(service=running, provider_url=provider_url, gateway=provider.state.gateway, secret=secret)


@dataclass
class SplitPaying:
    """A submission service whose VNPAY page and merchant API are two local apps on two ports (production's
    pay.vnpay.vn and merchant.vnpay.vn), with attempts that expire after a few seconds."""

    service: Service
    page_url: str  # the payment page's full address
    api_url: str  # the merchant API's full address
    gateway: LocalGateway
    secret: str
    attempt_seconds: float


ATTEMPT_MINUTES = 0.1  # six seconds on the provider's page


@pytest.fixture(scope="module")
async def split_paying(stack: Stack, token_minter: TokenMinter) -> AsyncIterator[SplitPaying]:
    """The page at `/vpcpay.html` on one port, the merchant API on another, one provider state behind both;
    PAYMENT_PROVIDER_URL names neither (a closed port), so only the two separate settings can reach them."""
    secret = f"test-secret-{uuid.uuid4().hex}"
    gateway = LocalGateway(ProviderConfig(hash_secret=secret, tmn_code="TESTTMN2"))
    page_app = build_provider(gateway=gateway, parts=("page",), page_path="/vpcpay.html")
    api_app = build_provider(gateway=gateway, parts=("api",))
    tag = uuid.uuid4().hex[:10]
    async with (
        running_app(page_app) as page_host,
        running_app(api_app) as api_host,
        _running(
            stack,
            Isolation(db_name=f"test_{tag}", topic_prefix=f"t{tag}."),
            token_minter,
            payment_provider_url="http://127.0.0.1:9",
            vnpay_payment_url=f"{page_host}/vpcpay.html",
            vnpay_api_url=f"{api_host}/merchant_webapi/api/transaction",
            vnpay_hash_secret=secret,
            vnpay_tmn_code="TESTTMN2",
            payment_attempt_minutes=ATTEMPT_MINUTES,
            payment_expiry_grace_seconds=0,
            payment_query_every_seconds=0.5,
            payment_query_after_seconds=1,
        ) as running,
    ):
        gateway.config.ipn_url = f"{running.url}/v1/payments/vnpay/ipn"
        yield SplitPaying(
            service=running,
            page_url=f"{page_host}/vpcpay.html",
            api_url=f"{api_host}/merchant_webapi/api/transaction",
            gateway=gateway,
            secret=secret,
            attempt_seconds=ATTEMPT_MINUTES * 60,
        )
