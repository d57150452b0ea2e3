"""Faults under load: while citizens submit dossiers through the gateway, the broker, the notification
service and the database fail in turn; afterwards nothing accepted is lost or told twice.

Each test runs a crowd of citizens at a modest rate, lets it work, breaks one thing while it keeps
working, restores it, and lets it work again. Then: every submission answered 200 with a tracking
code is in the submission database and got exactly one ApplicationReceived email; no email or SMS
arrived twice; every service's /readyz is 200 again without anyone restarting it; every error the
citizens saw was problem details, never a 500 and never a hang (the crowd's client times out).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING

import httpx
import pytest

if TYPE_CHECKING:
    from motcua.devtools.testing import SampleDossier

    from tests.pressure.conftest import Crowd, Outcome, Person, Pressure

PROCEDURE = "HT-KS-01"

CITIZENS = 4
WORK_SECONDS = 4.0
OUTAGE_SECONDS = 4.0
QUIET_SECONDS = 2.0
# How long the crowd's client waits for an answer: longer than the gateway's upstream read timeout
# (30 s), so any answer the platform gives is seen, and only a true hang times out.
PATIENCE_SECONDS = 35.0
# What the architecture promises instead: a database outage is a prompt 503 (the client connects with
# serverSelectionTimeoutMS=3000 for that reason).
PROMPT_SECONDS = 20.0


@pytest.fixture(scope="module")
async def people(pressure: Pressure) -> AsyncIterator[list[Person]]:
    async with pressure.client() as client:
        yield await pressure.citizens(client, CITIZENS)


async def work(crowd: Crowd, seconds: float = WORK_SECONDS) -> float:
    """Let the crowd submit for a while; the moment it started."""
    began = time.monotonic()
    await asyncio.sleep(seconds)
    return began


async def accepted_dossiers_are_stored_and_told_once(pressure: Pressure, crowd: Crowd) -> None:
    codes = list(crowd.accepted)
    assert codes, "the crowd got no submission accepted"
    stored = await pressure.stored(codes)
    missing = [c for c in codes if c not in stored]
    assert not missing, f"answered 200 but not in the submission database: {missing}"
    assert set(stored.values()) == {"submitted"}, stored

    async def all_told() -> bool:
        return all(pressure.mailbox.received(c) for c in codes)

    with contextlib.suppress(AssertionError):
        await pressure.until(all_told, timeout=90)
    silent = [c for c in codes if not pressure.mailbox.received(c)]
    if silent:
        statuses = await pressure.email_deliveries(silent)
        raise AssertionError(f"{len(silent)} of {len(codes)} accepted dossiers got no email: {statuses}")
    await asyncio.sleep(QUIET_SECONDS)  # room for a late duplicate to show itself
    twice = {c: len(pressure.mailbox.received(c)) for c in codes if len(pressure.mailbox.received(c)) > 1}
    assert not twice, f"ApplicationReceived emails per tracking code: {twice}"
    addresses, phones = {p.email for p in crowd.people}, {p.phone for p in crowd.people}
    assert not pressure.mailbox.repeated(addresses), pressure.mailbox.repeated(addresses)
    assert not pressure.sms.repeated(phones), pressure.sms.repeated(phones)


def nothing_broke_badly(outcomes: list[Outcome]) -> None:
    """No 500, no hang or dropped connection; every error is problem details."""
    hangs = [o for o in outcomes if o.status is None]
    assert not hangs, [f"{o.step}: {o.error}" for o in hangs[:5]]
    errors = [o for o in outcomes if o.status is not None and o.status >= 400]
    not_problems = [o for o in errors if not o.content_type.startswith("application/problem+json")]
    assert not not_problems, [f"{o.step} {o.status} {o.content_type}: {o.body}" for o in not_problems[:5]]
    internal = [o for o in errors if o.status == 500]
    assert not internal, [f"{o.step}: {o.body}" for o in internal[:5]]


def all_went_through(outcomes: list[Outcome]) -> None:
    refused = [o for o in outcomes if o.status is None or o.status >= 400]
    assert not refused, [f"{o.step} {o.status}: {o.body or o.error}" for o in refused[:5]]


async def under_a_fault(
    pressure: Pressure, people: list[Person], fail: Callable[[], object], recover: Callable[[], object]
) -> tuple[Crowd, float, float]:
    """The crowd submits; `fail` breaks something and the crowd keeps on through the outage; `recover`
    mends it; once every service is ready again the crowd works a while more and stops. Answers the
    crowd and when the outage began and ended."""
    crowd = pressure.crowd(people)
    crowd.start()
    await work(crowd)
    await asyncio.to_thread(fail)
    down = await work(crowd, OUTAGE_SECONDS)
    await asyncio.to_thread(recover)
    up = time.monotonic()
    await pressure.all_ready()
    await work(crowd)
    await crowd.stop()
    return crowd, down, up


async def test_a_broker_killed_under_load_loses_nothing_and_repeats_nothing(
    pressure: Pressure, people: list[Person]
) -> None:
    broker = pressure.platform.servers["kafka"]
    # SIGKILL mid-produce; Apache Kafka comes back with its log from disk
    crowd, down, up = await under_a_fault(pressure, people, broker.kill, broker.start)

    # the broker is not on a citizen's path: the outbox keeps the events until it is back
    all_went_through([o for o in crowd.since(down) if o.began < up])
    assert any(o.step == "submit" and o.status == 200 for o in crowd.since(down) if o.began < up)
    nothing_broke_badly(crowd.outcomes)
    await accepted_dossiers_are_stored_and_told_once(pressure, crowd)


async def test_notification_killed_under_load_sends_each_message_once(pressure: Pressure, people: list[Person]) -> None:
    notification = pressure.platform.services["notification"]
    crowd, down, up = await under_a_fault(pressure, people, notification.kill, lambda: notification.start(60))

    all_went_through([o for o in crowd.since(down) if o.began < up])
    nothing_broke_badly(crowd.outcomes)
    await accepted_dossiers_are_stored_and_told_once(pressure, crowd)


async def prepared_dossier(client: httpx.AsyncClient, person: Person, sample: SampleDossier) -> str:
    """A draft with its form filled and its document uploaded: ready to submit."""
    draft = await client.post("/v1/applications", json={"procedure_code": PROCEDURE}, headers=person.headers)
    assert draft.status_code == 201, draft.text
    app_id = str(draft.json()["id"])
    saved = await client.patch(
        f"/v1/applications/{app_id}",
        content=json.dumps({"data": sample.form}),
        headers={**person.headers, "If-Match": draft.headers["etag"], "Content-Type": "application/merge-patch+json"},
    )
    assert saved.status_code == 200, saved.text
    uploaded = await client.post(
        f"/v1/applications/{app_id}/documents",
        headers=person.headers,
        data={"document_key": "birth_certificate_medical"},
        files={"file": ("giay-chung-sinh.pdf", sample.pdf, "application/pdf")},
    )
    assert uploaded.status_code == 201, uploaded.text
    return app_id


async def test_a_database_outage_under_load_is_answered_and_loses_nothing(
    pressure: Pressure, people: list[Person]
) -> None:
    citizen = people[0]
    async with pressure.client(timeout=PATIENCE_SECONDS) as client:
        app_id = await prepared_dossier(client, citizen, pressure.dossier)
        crowd = pressure.crowd(people, timeout=PATIENCE_SECONDS)
        crowd.start()
        await work(crowd)
        database = pressure.platform.servers["mongodb"]
        await asyncio.to_thread(database.stop)
        down = time.monotonic()
        key = {"Idempotency-Key": uuid.uuid4().hex}
        try:
            refused = await client.post(f"/v1/applications/{app_id}/submit", headers={**citizen.headers, **key})
        except httpx.TimeoutException:
            pytest.fail(f"a submit while the database is down got no answer within {PATIENCE_SECONDS} s")
        finally:
            not_ready = not await pressure.ready("submission")
            await asyncio.to_thread(database.start)
        up = time.monotonic()
        # 503 (nothing saved) is the contract; 504 is the gateway giving up first (see test_regressions)
        assert refused.status_code in (503, 504), refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["status"] == refused.status_code
        assert not_ready, "submission's /readyz said ready while its database was down"

        await pressure.all_ready()
        after = await work(crowd)
        await crowd.stop()
        if refused.status_code == 503:
            kept = await client.get(f"/v1/applications/{app_id}", headers=citizen.headers)
            assert kept.json()["status"] == "draft", "a submit refused with 503 left something half-written"
        retried = await client.post(f"/v1/applications/{app_id}/submit", headers={**citizen.headers, **key})
        assert retried.status_code == 200, retried.text
        crowd.accepted[retried.json()["tracking_code"]] = citizen

    during = [o for o in crowd.since(down) if o.began < up]
    assert all(o.status in (200, 201, 503, 504) for o in during), [f"{o.step} {o.status}: {o.body}" for o in during]
    nothing_broke_badly(crowd.outcomes)
    assert any(o.step == "submit" and o.status == 200 for o in crowd.since(after)), "no submission after recovery"
    await accepted_dossiers_are_stored_and_told_once(pressure, crowd)


async def test_a_submit_while_the_database_is_down_is_refused_with_503_promptly(
    pressure: Pressure, people: list[Person]
) -> None:
    citizen = people[1]
    async with pressure.client(timeout=PROMPT_SECONDS) as client:
        app_id = await prepared_dossier(client, citizen, pressure.dossier)
        database = pressure.platform.servers["mongodb"]
        await asyncio.to_thread(database.stop)
        try:
            answer = await client.post(
                f"/v1/applications/{app_id}/submit", headers={**citizen.headers, "Idempotency-Key": uuid.uuid4().hex}
            )
        finally:
            await asyncio.to_thread(database.start)
            await pressure.all_ready()
    assert answer.status_code == 503, answer.text
