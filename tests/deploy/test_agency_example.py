"""docs/examples/agency_consumer.py, run as an agency would, against a real Kafka-protocol broker."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from motcua.common import topics
from motcua.common.contracts.submission import ApplicationReceived, ApplicationStatusChanged
from motcua.common.events import Envelope, Event, encode
from motcua.devtools import devservers

EXAMPLE = Path(__file__).resolve().parents[2] / "docs/examples/agency_consumer.py"


@contextlib.contextmanager
def _apache_kafka() -> Iterator[str]:
    """The local Apache Kafka broker (motcua.devtools.devservers), on a free port, its log in a temporary folder."""
    with tempfile.TemporaryDirectory(prefix="agency-kafka-") as workdir:
        broker = devservers.kafka_server(devservers.free_port(), Path(workdir) / "kafka", Path(workdir))
        broker.start()
        try:
            yield f"127.0.0.1:{broker.port}"
        finally:
            broker.stop()


@pytest.fixture(scope="module")
def bootstrap(request: pytest.FixtureRequest) -> Iterator[str]:
    """The test session's broker when the project's test plugin provides one, else our own."""
    try:
        yield str(request.getfixturevalue("kafka_bootstrap"))
    except pytest.FixtureLookupError:
        with _apache_kafka() as address:
            yield address


OURS, OTHERS = "UBND-PHUONG-BA-DINH", "SO-TU-PHAP-HN"


def received(agency: str = OURS) -> ApplicationReceived:
    return ApplicationReceived(
        application_id=str(uuid.uuid4()),
        tracking_code=f"HT-{uuid.uuid4().hex[:8].upper()}",
        procedure_code="HT-KS-01",
        procedure_version=1,
        procedure_name="Đăng ký khai sinh",
        procedure_name_en="Birth registration",
        agency_code=agency,
        applicant_account_id=str(uuid.uuid4()),
        due_date=date(2026, 3, 2),
        submitted_at=datetime(2026, 2, 24, 9, 30, tzinfo=UTC),
    )


async def publish(bootstrap: str, prefix: str, *envelopes: Envelope) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for envelope in envelopes:
            record = encode(envelope)
            # as submission's relay writes them: on the agency's own topic too
            for topic in (envelope.data.topic, *envelope.data.copied_to()):
                await producer.send_and_wait(prefix + topic, value=record.value, key=record.key, headers=record.headers)
    finally:
        await producer.stop()


async def run_example(bootstrap: str, prefix: str, *args: str) -> list[str]:
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": bootstrap, "KAFKA_TOPIC_PREFIX": prefix}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(EXAMPLE),
        "--group",
        f"agency-{uuid.uuid4().hex[:8]}",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    assert process.returncode == 0, stderr.decode()
    return stdout.decode().splitlines()


def submission(event: Event) -> Envelope:
    return Envelope(event, source="/motcua/submission")


async def new_topic_prefix(bootstrap: str) -> str:
    prefix = f"test-{uuid.uuid4().hex[:8]}."
    names = [topics.SUBMISSION_APPLICATION, topics.agency(OURS), topics.agency(OTHERS)]
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(prefix + name, 3, 1) for name in names])
    finally:
        await admin.close()
    return prefix


@dataclass(frozen=True)
class Scenario:
    """Events published to a topic of their own, and what the example printed when run with `args`."""

    events: list[Envelope]
    args: tuple[str, ...]
    lines: list[str] = field(default_factory=list)


def status_changed(event: ApplicationReceived, to: str) -> ApplicationStatusChanged:
    return ApplicationStatusChanged(
        **event.model_dump(exclude={"submitted_at"}),
        from_status="submitted",
        to_status=to,
        by_role="officer",
        changed_at=datetime(2026, 2, 25, 8, 0, tzinfo=UTC),
    )


@pytest.fixture(scope="module")
async def scenarios(bootstrap: str) -> dict[str, Scenario]:
    """Each scenario runs the example once; they run side by side (joining a group takes seconds)."""
    one, twice, ours, other = received(), received(), received(OURS), received(OTHERS)
    repeated = submission(twice)
    planned = {
        "one": Scenario([submission(one)], ("--agency", OURS, "--max-events", "1")),
        # The same event twice (same ce_id), as after a producer retry, then the officer's acceptance.
        "repeated": Scenario(
            [repeated, repeated, submission(status_changed(twice, "processing"))],
            ("--agency", OURS, "--max-events", "2"),
        ),
        # another agency's dossier never reaches this agency's topic, so the example never sees it
        "agency": Scenario([submission(other), submission(ours)], ("--agency", OURS, "--max-events", "1")),
    }

    async def play(scenario: Scenario) -> Scenario:
        prefix = await new_topic_prefix(bootstrap)
        await publish(bootstrap, prefix, *scenario.events)
        return Scenario(scenario.events, scenario.args, await run_example(bootstrap, prefix, *scenario.args))

    results = await asyncio.gather(*(play(s) for s in planned.values()))
    return dict(zip(planned, results, strict=True))


def test_the_example_prints_a_received_application(scenarios: dict[str, Scenario]) -> None:
    (envelope,) = scenarios["one"].events
    event = envelope.data
    assert isinstance(event, ApplicationReceived)
    (line,) = scenarios["one"].lines
    assert "ApplicationReceived" in line
    for part in (
        f"tracking_code={event.tracking_code}",
        "procedure=HT-KS-01",
        f"agency={event.agency_code}",
        "due_date=2026-03-02",
        f"application_id={event.application_id}",
        f"ce_id={envelope.id}",
    ):
        assert part in line


def test_the_example_skips_a_redelivered_event_and_follows_status_changes(scenarios: dict[str, Scenario]) -> None:
    lines = scenarios["repeated"].lines
    assert [line.split()[1] for line in lines] == ["ApplicationReceived", "ApplicationStatusChanged"]
    assert "from=submitted to=processing by=officer" in lines[1]


def test_the_example_shows_only_the_chosen_agencys_dossiers(scenarios: dict[str, Scenario]) -> None:
    ours = scenarios["agency"].events[1].data
    assert isinstance(ours, ApplicationReceived)
    (line,) = scenarios["agency"].lines
    assert f"tracking_code={ours.tracking_code}" in line
