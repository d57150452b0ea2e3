"""Identity under test: the real app over HTTP on the run's servers, and the events it puts on its topic."""

from __future__ import annotations

import asyncio
import contextlib
import random
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from aiokafka import AIOKafkaConsumer
from fastapi import FastAPI
from motcua.common import mongo, topics
from motcua.common.events import Envelope, Event, InvalidEnvelope, decode
from motcua.common.sealing import EventSealer, purpose
from motcua.devtools.testing import TEST_EVENT_SECRET_KEYS, Isolation, Stack, eventually, running_app, topic_partitions
from motcua.identity.app import build_app
from motcua.identity.settings import Settings

PASSWORD = "sông Hồng chảy qua bốn mùa"
EVENT = "motcua.identity.{}.v1"


class AccountEvents:
    """Every event on this test's identity topic, read from the start without a consumer group."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.topic = topic
        self._bootstrap = bootstrap
        self._consumer: AIOKafkaConsumer | None = None
        self.seen: dict[str, Envelope] = {}  # by ce_id: a replayed event is the same event

    async def _start(self) -> AIOKafkaConsumer | None:
        if self._consumer is None:
            consumer = AIOKafkaConsumer(bootstrap_servers=self._bootstrap, enable_auto_commit=False)
            await consumer.start()
            parts = await topic_partitions(consumer, self.topic, timeout=0.5)
            if not parts:  # not created yet, or its metadata not settled: look again at the next poll
                await consumer.stop()
                return None
            consumer.assign(parts)
            await consumer.seek_to_beginning(*parts)
            self._consumer = consumer
        return self._consumer

    async def poll(self) -> list[Envelope]:
        consumer = await self._start()
        if consumer is not None:
            for records in (await consumer.getmany(timeout_ms=100)).values():
                for record in records:
                    with contextlib.suppress(InvalidEnvelope):
                        envelope = decode(record.value, list(record.headers))
                        self.seen.setdefault(envelope.id, envelope)
        return list(self.seen.values())

    async def wait_for(self, kind: str, account_id: str, *, count: int = 1, timeout: float = 20) -> list[Envelope]:
        """The first `count` events of `kind` (e.g. "AccountActivated") about this account."""

        async def found() -> list[Envelope] | None:
            matching = [e for e in await self.poll() if e.type == EVENT.format(kind) and e.subject == account_id]
            return matching[:count] if len(matching) >= count else None

        result: list[Envelope] = await eventually(found, timeout=timeout, interval=0.05)
        return result

    async def close(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()


@dataclass
class Person:
    """A registration body with details no other test uses."""

    body: dict[str, Any]
    id: str = ""

    @property
    def email(self) -> str:
        return str(self.body["email"])

    @property
    def phone(self) -> str:
        return str(self.body["phone"])


def person(**overrides: Any) -> Person:
    tag = uuid.uuid4().hex[:8]
    body: dict[str, Any] = {
        "account_type": "individual",
        "full_name": "Nguyễn Thị An",
        "email": f"an.{tag}@example.vn",
        "phone": f"091{random.randint(0, 9_999_999):07d}",
        "password": PASSWORD,
        "national_id": f"001{random.randint(0, 999_999_999):09d}",
    }
    body.update(overrides)
    return Person({k: v for k, v in body.items() if v is not None})


@dataclass
class IdentityUnderTest:
    url: str
    http: httpx.AsyncClient
    settings: Settings
    db: mongo.Database
    events: AccountEvents
    key_file: Path
    app: FastAPI
    directory: AccountEvents  # the officers' directory topic
    profiles: AccountEvents  # the applicants' profile topic
    password: str = PASSWORD

    @staticmethod
    def person(**overrides: Any) -> Person:
        """A registration body with fresh details (override any field; None drops it)."""
        return person(**overrides)

    async def settled(self, task: str) -> None:
        """Wait until a background task started with the service (e.g. "totp-secret-sealing") ends."""
        tasks = [t for t in self.app.state.runtime.tasks if t.get_name() == task]
        assert tasks, f"no background task {task}"
        await asyncio.wait_for(asyncio.gather(*tasks), 20)

    async def register(self, who: Person | None = None, **headers: str) -> Person:
        who = who or person()
        response = await self.http.post("/v1/accounts", json=who.body, headers=headers)
        assert response.status_code == 201, response.text
        who.id = response.json()["id"]
        return who

    def opened(self, event: Event, field: str) -> str:
        """A secret of an event, opened as notification opens it (identity seals it for notification alone)."""
        sealer = EventSealer.configured(self.settings.event_secret_keys.get_secret_value())
        return sealer.open(getattr(event, field), purpose=purpose(event.ce_type, field), owner=event.subject)

    async def link(self, account_id: str, *, nth: int = 1, kind: str = "EmailVerificationRequested") -> str:
        """The nth verification (or reset) link sent to this account."""
        event = (await self.events.wait_for(kind, account_id, count=nth))[-1].data
        return self.opened(event, "verification_url" if hasattr(event, "verification_url") else "reset_url")

    async def link_token(self, account_id: str, *, nth: int = 1, kind: str = "EmailVerificationRequested") -> str:
        """The token in the nth verification (or reset) link sent to this account."""
        url = await self.link(account_id, nth=nth, kind=kind)
        token: str = parse_qs(urlparse(url).query)["token"][0]
        return token

    async def sms_code(self, account_id: str, *, nth: int = 1) -> str:
        sms = (await self.events.wait_for("PhoneVerificationRequested", account_id, count=nth))[-1]
        return self.opened(sms.data, "code")

    async def secrets(self, account_id: str, *, nth: int = 1) -> tuple[str, str]:
        """The token of the nth verification link and the nth SMS code sent to this account."""
        return await self.link_token(account_id, nth=nth), await self.sms_code(account_id, nth=nth)

    async def activate(self, who: Person) -> None:
        token, code = await self.secrets(who.id)
        assert (await self.http.post("/v1/accounts/verify-email", json={"token": token})).status_code == 200
        verified = await self.http.post("/v1/accounts/verify-phone", json={"account_id": who.id, "code": code})
        assert verified.json()["status"] == "active", verified.text

    async def citizen(self, who: Person | None = None) -> Person:
        """Registered and active."""
        who = await self.register(who)
        await self.activate(who)
        return who

    async def login(self, username: str, password: str = PASSWORD, **headers: str) -> httpx.Response:
        return await self.http.post(
            "/v1/auth/login", json={"username": username, "password": password}, headers=headers
        )

    async def tokens(self, who: Person, password: str = PASSWORD) -> dict[str, Any]:
        response = await self.login(who.email, password)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


Launcher = Callable[..., contextlib.AbstractAsyncContextManager[IdentityUnderTest]]


@pytest.fixture
def launch(stack: Stack, isolation: Isolation, tmp_path: Path) -> Launcher:
    """Start identity (settings overridable); every launch of one test shares its database and topic."""

    @contextlib.asynccontextmanager
    async def start(**overrides: Any) -> AsyncIterator[IdentityUnderTest]:
        values: dict[str, Any] = {
            "mongodb_uri": stack.mongodb_uri,
            "mongodb_db": isolation.db_name,
            "kafka_bootstrap_servers": stack.kafka_bootstrap,
            "kafka_topic_prefix": isolation.topic_prefix,
            "identity_signing_key_file": tmp_path / "keys" / "signing-key.pem",
            "event_secret_keys": TEST_EVENT_SECRET_KEYS,  # a deployment's own key, as production requires
            "log_level": "WARNING",
        }
        values.update(overrides)
        settings = Settings(**values)
        client = mongo.connect(stack.mongodb_uri)
        events = AccountEvents(stack.kafka_bootstrap, settings.topic(topics.IDENTITY_ACCOUNT))
        directory = AccountEvents(stack.kafka_bootstrap, settings.topic(topics.IDENTITY_DIRECTORY))
        profiles = AccountEvents(stack.kafka_bootstrap, settings.topic(topics.IDENTITY_PROFILE))
        try:
            app = build_app(settings)
            async with running_app(app) as url, httpx.AsyncClient(base_url=url, timeout=20) as http:
                yield IdentityUnderTest(
                    url,
                    http,
                    settings,
                    client[isolation.db_name],
                    events,
                    settings.identity_signing_key_file,
                    app,
                    directory,
                    profiles,
                )
        finally:
            await profiles.close()
            await directory.close()
            await events.close()
            await client.close()

    return start


@pytest.fixture
async def identity(launch: Launcher) -> AsyncIterator[IdentityUnderTest]:
    async with launch() as running:
        yield running
