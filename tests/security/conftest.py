"""Attacks through the gateway, on the services they aim at as `make run` starts them (separate processes), with
the mail server and SMS endpoint the tests read. Clients come from distinct loopback addresses (127.0.0.x), so
the gateway sees, and forwards, each attacker's and each owner's own address."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterator

import httpx
import pytest
from motcua.devtools import devservers
from motcua.devtools.testing import Stack, running_platform
from motcua.devtools.testing_messages import Outbox

Client = Callable[[str], httpx.AsyncClient]


@pytest.fixture(scope="module")
def outbox() -> Iterator[Outbox]:
    with Outbox() as running:
        yield running


@pytest.fixture(scope="module")
async def platform(
    tmp_path_factory: pytest.TempPathFactory, outbox: Outbox, stack: Stack
) -> AsyncIterator[devservers.Platform]:
    """Every service (the gateway is ready only when all are) on the run's MongoDB and Kafka servers, with a
    topic prefix and databases of its own; stopped by PID afterwards."""
    var = tmp_path_factory.mktemp("security") / "var"
    tag = uuid.uuid4().hex[:8]
    overrides = {
        **outbox.settings,
        "MONGODB_URI": stack.mongodb_uri,
        "KAFKA_BOOTSTRAP_SERVERS": stack.kafka_bootstrap,
        "KAFKA_TOPIC_PREFIX": f"sec{tag}.",
        "LOG_LEVEL": "INFO",
    }
    async with running_platform(var, overrides) as running:
        yield running


@pytest.fixture
async def client_from(platform: devservers.Platform) -> AsyncIterator[Client]:
    """`client_from("127.0.0.7")`: an HTTP client of the gateway whose connections come from that address."""
    opened: list[httpx.AsyncClient] = []

    def make(address: str) -> httpx.AsyncClient:
        transport = httpx.AsyncHTTPTransport(local_address=address)
        client = httpx.AsyncClient(base_url=platform.url("gateway"), transport=transport, timeout=30)
        opened.append(client)
        return client

    yield make
    for client in opened:
        await client.aclose()
