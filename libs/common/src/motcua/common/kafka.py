"""Kafka clients (aiokafka): producer with acks=all, topic creation, retry until the broker answers."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Iterable
from typing import Any

import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import (
    InvalidProducerEpoch,
    InvalidProducerIdMapping,
    KafkaError,
    OutOfOrderSequenceNumber,
    ProducerFenced,
    UnknownProducerId,
)
from motcua.common import topics
from motcua.common.settings import ServiceSettings

log = structlog.get_logger(__name__)

TOPIC_ALREADY_EXISTS = 36
REQUEST_TIMEOUT_MS = 10000  # a send not acknowledged by then fails; the relay tries it again later
NOT_AUTHORISED = (29, 31)  # topic / cluster authorisation failed: topics are managed elsewhere (Strimzi)


def client_options(settings: ServiceSettings) -> dict[str, Any]:
    """Connection options shared by every client: TLS and SASL when the deployment asks for them."""
    options: dict[str, Any] = {"security_protocol": settings.kafka_security_protocol}
    if settings.kafka_security_protocol in ("SSL", "SASL_SSL"):
        options["ssl_context"] = ssl.create_default_context(cafile=settings.kafka_ssl_ca_file)
    if settings.kafka_security_protocol.startswith("SASL"):
        options["sasl_mechanism"] = settings.kafka_sasl_mechanism or "SCRAM-SHA-512"
        options["sasl_plain_username"] = settings.kafka_sasl_username
        options["sasl_plain_password"] = (
            settings.kafka_sasl_password.get_secret_value() if settings.kafka_sasl_password else None
        )
    return options


def topic_options(settings: ServiceSettings) -> dict[str, Any]:
    """What `ensure_topics` needs besides the bootstrap address."""
    return {
        "prefix": settings.kafka_topic_prefix,
        "replication": settings.kafka_topic_replication,
        **client_options(settings),
    }


def producer(settings: ServiceSettings) -> AIOKafkaProducer:
    """A producer as the reliability rules want it: every replica acknowledges, keys keep order."""
    return AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        client_id=f"motcua-{settings.service_name}",
        acks="all",
        enable_idempotence=settings.kafka_idempotent_producer,
        linger_ms=5,
        request_timeout_ms=REQUEST_TIMEOUT_MS,
        retry_backoff_ms=200,
        **client_options(settings),
    )


# Errors after which an idempotent producer never sends again: its sequence numbers and the broker's disagree,
# and aiokafka (unlike the Java client) does not reset them (aio-libs/aiokafka#1017: "producing messages stops
# until we restart pods"). Seen here after a leader change at broker start: NotLeaderForPartition, then
# OutOfOrderSequenceNumber on every later send. Only a new producer (a new producer id) sends again.
SPENDING_PRODUCER: tuple[type[KafkaError], ...] = (
    OutOfOrderSequenceNumber,
    InvalidProducerEpoch,
    ProducerFenced,
    UnknownProducerId,
    InvalidProducerIdMapping,
)


def spends_producer(exc: BaseException) -> bool:
    """True when `exc` leaves the producer that raised it unable to send again."""
    return isinstance(exc, SPENDING_PRODUCER)


async def started_producer(settings: ServiceSettings) -> AIOKafkaProducer:
    """A `producer`, started (retrying until the broker answers)."""
    made = producer(settings)
    await start_with_retry(made)
    return made


async def stop_quietly(spent: AIOKafkaProducer) -> None:
    """Stop a producer being replaced (one `spends_producer` gave up on); its own trouble stopping is moot."""
    with contextlib.suppress(KafkaError, OSError):
        await spent.stop()


async def start_with_retry(client: AIOKafkaProducer, *, delay: float = 0.5) -> None:
    """Start a client, retrying until the broker answers (services start in any order)."""
    attempt = 0
    while True:
        try:
            await client.start()
            return
        except KafkaError as exc:
            attempt += 1
            log.warning("kafka_not_ready", error=str(exc), attempt=attempt)
            await asyncio.sleep(min(delay * attempt, 5.0))


async def ensure_topics(
    bootstrap: str, names: Iterable[str], *, prefix: str = "", replication: int = 1, **options: Any
) -> None:
    """Create the named topics (as named on the broker, carrying `prefix`) with their declared partitions
    and settings (retention: the identity topic and its dead-letter topic keep a day, the secrets' lifetime).

    Where the broker refuses (ACLs: topics are declared by the operator, e.g. Strimzi KafkaTopic),
    the refusal is logged and the caller goes on.
    """
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10000, **options)
    try:
        await admin.start()
        wanted = [
            NewTopic(
                name,
                topics.declared_partitions(name, prefix),
                replication,
                topic_configs=topics.declared_config(name, prefix),
            )
            for name in names
        ]
        existing = set(await admin.list_topics())
        missing = [t for t in wanted if t.name not in existing]
        if missing:
            response = await admin.create_topics(missing)
            for topic_error in response.topic_errors:
                name, code = topic_error[0], topic_error[1]
                if code in NOT_AUTHORISED:
                    log.warning("kafka_topic_creation_refused", topic=name, error_code=code)
                elif code not in (0, TOPIC_ALREADY_EXISTS):
                    raise KafkaError(f"cannot create topic {name}: error {code}")
    finally:
        await admin.close()


async def existing_topics(bootstrap: str, **options: Any) -> set[str]:
    """The topics the broker knows now (a metadata request that never auto-creates)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000, **options)
    try:
        await admin.start()
        return set(await admin.list_topics())
    finally:
        await admin.close()


async def ping(bootstrap: str, timeout: float = 2.0, **options: Any) -> bool:
    """True when a broker answers a metadata request within `timeout` seconds."""
    try:
        async with asyncio.timeout(timeout):  # not `wait_for`: see motcua.common.waiting
            await existing_topics(bootstrap, **options)
        return True
    except (TimeoutError, KafkaError, OSError):
        return False
