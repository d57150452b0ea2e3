"""Pytest plugin shared by every service's tests: real servers, isolation, tokens, running apps.

A test session starts its own MongoDB- and Kafka-protocol servers on free ports and stops them by
PID; `MONGODB_URI` / `KAFKA_BOOTSTRAP_SERVERS` point the tests at external servers instead, and
testcontainers is used when a Docker engine answers. Each test gets its own database and topic prefix.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import uvicorn
from aiokafka import AIOKafkaConsumer, TopicPartition
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI
from motcua.common import mongo
from motcua.common.events import Envelope, InvalidEnvelope, decode
from motcua.devtools import devservers


@dataclass
class Stack:
    """The servers a test run talks to; the processes are None when they are external."""

    mongodb_uri: str
    kafka_bootstrap: str
    mongodb: devservers.ServerProcess | None = None
    kafka: devservers.ServerProcess | None = None
    closers: list[Any] = field(default_factory=list)

    def stop(self) -> None:
        for server in (self.kafka, self.mongodb):
            if server is not None:
                server.stop()
        for close in self.closers:
            with contextlib.suppress(Exception):
                close()


# The test run's own key for the secrets identity seals for notification: production refuses none.
TEST_EVENT_SECRET_KEYS = "test-1:" + base64.b64encode(b"motcua test event secrets key!!!").decode()


def _docker_answers() -> bool:
    try:
        import docker  # type: ignore[import-untyped]

        docker.from_env(timeout=2).ping()
        return True
    except Exception:
        return False


def start_local_stack(workdir: Path) -> Stack:
    """Start both pinned servers as processes on free ports under `workdir`."""
    mongodb = devservers.mongodb_server(devservers.free_port(), workdir / "mongodb", workdir)
    kafka = devservers.kafka_server(devservers.free_port(), workdir / "kafka", workdir)
    mongodb.launch()
    try:
        kafka.launch()
        mongodb.wait_listening()
        kafka.wait_listening(timeout=60)
    except BaseException:
        kafka.stop()
        mongodb.stop()
        raise
    return Stack(
        mongodb_uri=f"mongodb://127.0.0.1:{mongodb.port}",
        kafka_bootstrap=f"127.0.0.1:{kafka.port}",
        mongodb=mongodb,
        kafka=kafka,
    )


def _start_stack(workdir: Path) -> Stack:
    external_mongo = os.environ.get("MONGODB_URI")
    external_kafka = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if external_mongo and external_kafka:
        return Stack(mongodb_uri=external_mongo, kafka_bootstrap=external_kafka)
    if _docker_answers() and not os.environ.get("MOTCUA_NO_DOCKER"):
        from testcontainers.kafka import KafkaContainer
        from testcontainers.mongodb import MongoDbContainer

        mongo_c = MongoDbContainer("mongo:8").with_command("--replSet rs0 --bind_ip_all")
        kafka_c = KafkaContainer().with_kraft()
        mongo_c.start()
        kafka_c.start()
        stack = Stack(
            mongodb_uri=external_mongo or mongo_c.get_connection_url() + "/?directConnection=true",
            kafka_bootstrap=external_kafka or kafka_c.get_bootstrap_server(),
        )
        stack.closers = [mongo_c.stop, kafka_c.stop]
        return stack
    stack = start_local_stack(workdir)
    if external_mongo:
        assert stack.mongodb is not None
        stack.mongodb.stop()
        stack.mongodb, stack.mongodb_uri = None, external_mongo
    if external_kafka:
        assert stack.kafka is not None
        stack.kafka.stop()
        stack.kafka, stack.kafka_bootstrap = None, external_kafka
    return stack


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The session's MongoDB- and Kafka-protocol servers."""
    running = _start_stack(tmp_path_factory.mktemp("servers"))
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def private_stack(tmp_path: Path) -> Iterator[Stack]:
    """Servers of this test alone, for tests that stop, kill or restart them."""
    running = start_local_stack(tmp_path / "servers")
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="session")
def mongodb_uri(stack: Stack) -> str:
    return stack.mongodb_uri


@pytest.fixture(scope="session")
def kafka_bootstrap(stack: Stack) -> str:
    return stack.kafka_bootstrap


@dataclass(frozen=True)
class Isolation:
    """A database name and topic prefix no other test uses."""

    db_name: str
    topic_prefix: str


@pytest.fixture
def isolation() -> Isolation:
    tag = uuid.uuid4().hex[:10]
    return Isolation(db_name=f"test_{tag}", topic_prefix=f"t{tag}.")


@pytest.fixture
async def mongo_client(mongodb_uri: str) -> AsyncIterator[mongo.Client]:
    client = mongo.connect(mongodb_uri)
    try:
        yield client
    finally:
        await client.close()


class TokenMinter:
    """Signs access tokens the way identity does, with a key the test makes."""

    issuer = "http://127.0.0.1:8000"  # the default PUBLIC_BASE_URL, which is the default issuer
    audience = "motcua"

    def __init__(self) -> None:
        self.key = Ed25519PrivateKey.generate()
        self.kid = f"test-{uuid.uuid4().hex[:8]}"
        public = jwt.algorithms.OKPAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        self.jwks: dict[str, Any] = {"keys": [{**public, "kid": self.kid, "alg": "EdDSA", "use": "sig"}]}

    def mint(
        self,
        sub: str | None = None,
        *,
        roles: list[str] | None = None,
        agency: str | None = None,
        account_type: str = "individual",
        locale: str = "vi",
        ttl: timedelta = timedelta(minutes=15),
        **extra: Any,
    ) -> str:
        now = datetime.now(UTC)
        claims: dict[str, Any] = {
            "sub": sub or uuid.uuid4().hex,
            "roles": roles if roles is not None else ["citizen"],
            "account_type": account_type,
            "locale": locale,
            "iss": self.issuer,
            "aud": self.audience,
            "iat": now,
            "exp": now + ttl,
            "typ": "access",
            **extra,
        }
        if agency is not None:
            claims["agency"] = agency
        return jwt.encode(claims, self.key, algorithm="EdDSA", headers={"kid": self.kid})

    def headers(self, sub: str | None = None, **kwargs: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.mint(sub, **kwargs)}"}


@pytest.fixture(scope="session")
def token_minter() -> TokenMinter:
    return TokenMinter()


@contextlib.asynccontextmanager
async def running_app(app: FastAPI, *, wait_started: bool = True) -> AsyncIterator[str]:
    """Serve `app` over real HTTP on a free port; yields its base URL; shuts it down gracefully."""
    port = devservers.free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_config=None,
            access_log=False,
            lifespan="on",
            timeout_keep_alive=75,
            proxy_headers=False,  # as the services and the gateway run: the app decides whom to believe
        )
    )
    task = asyncio.create_task(server.serve())
    deadline = time.monotonic() + 30
    while not server.started:
        if task.done():
            await task
            raise RuntimeError("the app stopped while starting")
        if time.monotonic() > deadline:
            raise RuntimeError("the app did not start")
        await asyncio.sleep(0.02)
    if wait_started and getattr(app.state, "runtime", None) is not None:
        await asyncio.wait_for(app.state.runtime.started.wait(), 30)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 30)


def log_tails(log_dir: Path, lines: int = 15) -> str:
    """The last lines of each process's log under `log_dir`: what a failure report needs to say why."""
    parts = []
    for log in sorted(log_dir.glob("*.log")):
        tail = log.read_text(errors="replace").splitlines()[-lines:]
        parts.append(f"--- {log.name}\n" + "\n".join(tail))
    return "\n".join(parts)


@contextlib.asynccontextmanager
async def running_platform(var: Path, overrides: dict[str, str]) -> AsyncIterator[devservers.Platform]:
    """The whole platform as `make run` starts it, every service and server a process on a free port under
    `var`; stopped by PID afterwards. A start that fails is an AssertionError carrying the logs' tails."""
    try:
        running = await asyncio.to_thread(devservers.start_platform, var, overrides, free_ports=True)
    except RuntimeError as exc:
        raise AssertionError(f"the platform did not start: {exc}\n{log_tails(var / 'log')}") from exc
    try:
        yield running
    finally:
        await asyncio.to_thread(running.stop)


async def topic_partitions(consumer: AIOKafkaConsumer, topic: str, *, timeout: float = 20.0) -> list[TopicPartition]:
    """The partitions of `topic` once the broker reports them; [] if it has none by the deadline.

    A consumer without a subscription tracks no topic's metadata, so this one is asked for by name.
    """
    deadline = time.monotonic() + timeout
    consumer._client.add_topic(topic)
    while True:
        await consumer._client.force_metadata_update()
        partitions = consumer.partitions_for_topic(topic)
        if partitions or time.monotonic() >= deadline:
            return [TopicPartition(topic, p) for p in sorted(partitions or ())]
        await asyncio.sleep(0.1)


async def read_events(
    bootstrap: str,
    topic: str,
    *,
    count: int,
    timeout: float = 20.0,
    types: set[str] | None = None,
) -> list[Envelope]:
    """Read a topic from its beginning (every partition, no consumer group) until `count` events of `types`."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest")
    await consumer.start()
    found: list[Envelope] = []
    try:
        deadline = time.monotonic() + timeout
        assigned = await topic_partitions(consumer, topic, timeout=timeout)
        if not assigned:
            return found
        consumer.assign(assigned)
        await consumer.seek_to_beginning(*assigned)
        while len(found) < count and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=200)
            for records in batches.values():
                for record in records:
                    try:
                        envelope = decode(record.value, list(record.headers))
                    except InvalidEnvelope:
                        continue
                    if types is None or envelope.type in types:
                        found.append(envelope)
    finally:
        await consumer.stop()
    return found


async def raw_records(bootstrap: str, topic: str, *, at_least: int, timeout: float = 30.0) -> list[tuple[bytes, str]]:
    """The records of `topic` from its beginning as they lie on the broker, undecoded: (value, repr of the
    headers), until `at_least` were read or the deadline (what an attacker with read access would see)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest")
    await consumer.start()
    found: list[tuple[bytes, str]] = []
    try:
        partitions = await topic_partitions(consumer, topic, timeout=timeout)
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        deadline = time.monotonic() + timeout
        while len(found) < at_least and time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=200)).values():
                found += [(r.value or b"", repr(list(r.headers))) for r in records]
    finally:
        await consumer.stop()
    return found


async def eventually(check: Any, *, timeout: float = 20.0, interval: float = 0.1) -> Any:
    """Await `check()` until it returns something truthy; that value, or AssertionError at the deadline."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s (last value: {last!r})")


def background_report(app: FastAPI) -> str:
    """Where each of a running service's background tasks stands (its chain of awaits) or how it ended, and
    what each consumer has handled and holds: what a failed wait on a consumer needs to say."""
    runtime = getattr(app.state, "runtime", None)
    lines = []
    for task in getattr(runtime, "tasks", []):
        if task.done():
            ended = "cancelled" if task.cancelled() else repr(task.exception())
            lines.append(f"{task.get_name()}: ended ({ended})")
            continue
        where: list[str] = []
        awaited: Any = task.get_coro()
        while awaited is not None and len(where) < 16:  # outermost first
            frame = getattr(awaited, "cr_frame", None)
            if frame is None:
                where.append(type(awaited).__name__)
                break
            where.append(f"{frame.f_code.co_name}:{frame.f_lineno}")
            awaited = getattr(awaited, "cr_await", None)
        lines.append(f"{task.get_name()}: {' -> '.join(where)}")
    for consumer in getattr(runtime, "consumers", []):
        lines.append(f"{consumer.group}: handled {consumer.handled}, assigned {consumer.assignment}")
    return "\n".join(lines)


async def consumed_by(app: FastAPI, http: httpx.AsyncClient, check: Any, *, timeout: float = 20.0) -> Any:
    """`eventually(check)` for what a running service's consumers write; at the deadline the AssertionError
    also carries the service's /readyz and `background_report`, so a slow consumer is told from a dead one."""
    try:
        return await eventually(check, timeout=timeout)
    except AssertionError as exc:
        ready = await http.get("/readyz")
        report = background_report(app)
        raise AssertionError(f"{exc}; /readyz: {ready.status_code} {ready.text}; its loops:\n{report}") from None


@dataclass(frozen=True)
class SampleDossier:
    """A dossier the journeys and load tests file: a procedure, the answers to its form, a document to upload."""

    procedure: str
    form: dict[str, str]
    pdf: bytes
    document_key: str = "birth_certificate_medical"  # the required document `pdf` stands for


BIRTH_REGISTRATION = SampleDossier(
    procedure="HT-KS-01",
    form={
        "child_full_name": "Nguyễn Minh Khang",
        "child_date_of_birth": "2026-11-20",
        "child_sex": "male",
        "place_of_birth": "Bệnh viện Phụ sản Hà Nội",
        "father_full_name": "Nguyễn Văn Bình",
        "mother_full_name": "Trần Thị Hoa",
        "requester_relationship": "father",
    },
    pdf=b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n",
)
