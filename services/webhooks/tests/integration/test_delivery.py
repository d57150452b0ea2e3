"""Deliveries to real HTTPS receivers: signed, in order per dossier, retried, shelved, re-driven, replayed."""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from motcua.devtools.testing import eventually
from standardwebhooks.webhooks import Webhook, WebhookVerificationError


def by_dossier(entries: list[Any]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = defaultdict(list)
    for entry in entries:
        event = json.loads(entry.body)
        found[event["subject"]].append(event["id"])
    return found


async def test_deliveries_are_cloud_events_signed_as_standard_webhooks_say(kit: Any) -> None:
    async with kit.receiving() as receiver, kit.service() as service:
        created = await service.subscribe(receiver.url)
        sent = await kit.publisher.send(*kit.journey())
        await eventually(lambda: _count(receiver, 4), timeout=20)
    verifier = Webhook(created["secret"])
    assert created["secret"].startswith("whsec_")
    for entry, envelope in zip(receiver.accepted(), sent, strict=True):
        event = verifier.verify(entry.body, entry.headers)
        assert entry.webhook_id == envelope.id == event["id"]
        assert entry.headers["content-type"] == "application/json"
        assert event["specversion"] == "1.0"
        assert event["type"] == envelope.type
        assert event["source"] == "/motcua/submission"
        assert event["subject"] == envelope.subject
        assert event["datacontenttype"] == "application/json"
        assert event["data"]["agency_code"] == kit.AGENCY
        assert abs(int(entry.headers["webhook-timestamp"]) - entry.at) < 5
    forged = Webhook("whsec_" + "QUJD" * 8)
    with pytest.raises(WebhookVerificationError):
        forged.verify(receiver.accepted()[0].body, receiver.accepted()[0].headers)


async def _count(receiver: Any, n: int) -> bool:
    return len(receiver.accepted()) >= n


async def test_each_dossiers_events_arrive_in_order_across_retries(kit: Any) -> None:
    tries: dict[str, int] = defaultdict(int)

    async def fails_twice_then_accepts(receiver: Any, entry: Any) -> int:
        tries[entry.webhook_id] += 1
        return 204 if tries[entry.webhook_id] > 2 else 500

    journeys = [kit.journey() for _ in range(5)]
    interleaved = [event for step in zip(*journeys, strict=True) for event in step]
    async with (
        kit.receiving(fails_twice_then_accepts) as receiver,
        kit.service(webhooks_breaker_failures=1000) as service,
    ):
        await service.subscribe(receiver.url)
        sent = await kit.publisher.send(*interleaved)
        await eventually(lambda: _count(receiver, len(sent)), timeout=60)
    expected: dict[str, list[str]] = defaultdict(list)
    for envelope in sent:
        expected[envelope.subject].append(envelope.id)
    assert by_dossier(receiver.accepted()) == expected
    # and no event was even tried before the one before it in its dossier was accepted
    done: set[str] = set()
    for entry in receiver.log:
        event = json.loads(entry.body)
        order = expected[event["subject"]]
        assert all(earlier in done for earlier in order[: order.index(event["id"])]), "an event overtook its dossier"
        if 200 <= entry.status < 300:
            done.add(event["id"])
    assert all(tries[i] == 3 for i in done)


async def test_a_receiver_down_for_a_while_gets_everything_once_back(kit: Any) -> None:
    receiver = kit.receiver()
    await receiver.start()
    async with kit.service() as service:
        await service.subscribe(receiver.url)
        await receiver.stop()
        sent = await kit.publisher.send(*(e for _ in range(3) for e in kit.journey()))
        await asyncio.sleep(3)  # attempts fail (connection refused), the circuit opens
        assert receiver.accepted() == []
        await receiver.start()
        try:
            await eventually(lambda: _count(receiver, len(sent)), timeout=30)
            await asyncio.sleep(1)
        finally:
            await receiver.stop()
    assert sorted(receiver.accepted_ids()) == sorted(e.id for e in sent)  # each once
    expected: dict[str, list[str]] = defaultdict(list)
    for envelope in sent:
        expected[envelope.subject].append(envelope.id)
    assert by_dossier(receiver.accepted()) == expected


async def test_a_permanently_failing_receivers_events_go_to_its_shelf_and_a_redrive_delivers_them(kit: Any) -> None:
    refusing = True

    async def unwell(receiver: Any, entry: Any) -> int:
        return 503 if refusing else 200

    async with (
        kit.receiving(unwell, failure_body=b"x" * 5000) as receiver,
        kit.service(webhooks_retry_for_seconds=2.0, webhooks_retry_max_delay_seconds=0.3) as service,
    ):
        created = await service.subscribe(receiver.url)
        sent = await kit.publisher.send(*kit.journey())
        url = f"/v1/webhooks/{created['id']}/dead-letters"

        async def shelved() -> list[dict[str, object]] | None:
            page = (await service.http.get(url, headers=service.admin())).json()
            return page["items"] if page["total"] == len(sent) else None

        items = await eventually(shelved, timeout=30)
        assert [i["event_id"] for i in items] == [e.id for e in sent]
        tried = [a for i in items for a in i["attempts"]]
        assert tried, "the shelf keeps the attempts"
        assert all(a["status_code"] == 503 and a["outcome"] == "failed" for a in tried)
        assert all(len(a["response_body"].encode()) <= 1024 for a in tried)
        assert all(a["latency_ms"] >= 0 for a in tried)
        assert receiver.accepted() == []

        refusing = False
        answer = await service.http.post(f"{url}/redrive", headers=service.admin())
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"redriven": len(sent)}
        await eventually(lambda: _count(receiver, len(sent)), timeout=20)
        assert receiver.accepted_ids() == [e.id for e in sent]
        assert (await service.http.get(url, headers=service.admin())).json()["total"] == 0


async def test_an_agency_subscription_gets_only_its_agencys_dossiers(kit: Any) -> None:
    async with kit.receiving() as mine, kit.receiving() as everyone, kit.service() as service:
        await service.subscribe(mine.url, headers=service.approver(kit.AGENCY))
        await service.subscribe(everyone.url, agency=None)
        ours = await kit.publisher.send(*kit.journey(kit.AGENCY))
        theirs = await kit.publisher.send(*kit.journey(kit.OTHER_AGENCY))
        await eventually(lambda: _count(everyone, 8), timeout=20)
        await eventually(lambda: _count(mine, 4), timeout=20)
        await asyncio.sleep(0.5)
    assert mine.accepted_ids() == [e.id for e in ours]
    assert sorted(everyone.accepted_ids()) == sorted(e.id for e in ours + theirs)


async def test_only_the_event_types_asked_for_are_delivered(kit: Any) -> None:
    async with kit.receiving() as receiver, kit.service() as service:
        await service.subscribe(receiver.url, event_types=["motcua.submission.ApplicationReceived.v1"])
        sent = await kit.publisher.send(*kit.journey(), *kit.journey())
        await eventually(lambda: _count(receiver, 2), timeout=20)
        await asyncio.sleep(0.5)
    # two dossiers: each dossier's events arrive in order, the two dossiers in either order
    assert sorted(receiver.accepted_ids()) == sorted([sent[0].id, sent[4].id])


async def test_a_redirect_is_not_followed_and_counts_as_a_failure(kit: Any) -> None:
    async def redirect(receiver: Any, entry: Any) -> int:
        return 307

    async with kit.receiving(redirect) as receiver, kit.receiving() as elsewhere, kit.service() as service:
        receiver.path = f"/hook?then=https://127.0.0.1:{elsewhere.port}/"
        created = await service.subscribe(receiver.url)
        await kit.publisher.send(kit.journey()[0])

        async def attempts() -> list[dict[str, object]] | None:
            page = (await service.http.get(f"/v1/webhooks/{created['id']}/deliveries", headers=service.admin())).json()
            found = [a for item in page["items"] for a in item["attempts"]]
            return found if len(found) >= 2 else None

        found = await eventually(attempts, timeout=20)
    assert all(a["status_code"] == 307 and a["outcome"] == "failed" for a in found)
    assert elsewhere.log == []


async def test_a_replay_sends_the_logs_events_again_with_the_same_ids(kit: Any) -> None:
    async with kit.receiving() as receiver, kit.service() as service:
        before = datetime.now(UTC) - timedelta(seconds=5)
        created = await service.subscribe(receiver.url)
        sent = await kit.publisher.send(*kit.journey())
        await eventually(lambda: _count(receiver, 4), timeout=20)
        answer = await service.http.post(
            f"/v1/webhooks/{created['id']}/replay", params={"since": before.isoformat()}, headers=service.admin()
        )
        assert answer.status_code == 202, answer.text
        assert answer.json()["replay"]["status"] == "running"
        await eventually(lambda: _count(receiver, 8), timeout=30)

        async def done() -> dict[str, object] | None:
            hook = (await service.http.get(f"/v1/webhooks/{created['id']}", headers=service.admin())).json()
            return hook["replay"] if hook["replay"]["status"] == "done" else None

        replay = await eventually(done, timeout=20)
    assert replay["queued"] == 4
    assert receiver.accepted_ids() == [e.id for e in sent] * 2
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    async with kit.service() as service:
        answer = await service.http.post(
            f"/v1/webhooks/{created['id']}/replay", params={"since": future}, headers=service.admin()
        )
        assert answer.status_code == 422
        assert answer.json()["errors"][0]["pointer"] == "/since"


async def test_a_rotated_secret_signs_beside_the_old_one_until_the_overlap_ends(kit: Any) -> None:
    async with kit.receiving() as receiver, kit.service() as service:
        created = await service.subscribe(receiver.url, event_types=["motcua.submission.ApplicationReceived.v1"])
        old, hook = Webhook(created["secret"]), created["id"]
        answer = await service.http.post(
            f"/v1/webhooks/{hook}/rotate-secret", params={"overlap_seconds": 3}, headers=service.admin()
        )
        assert answer.status_code == 200, answer.text
        new = Webhook(answer.json()["secret"])
        assert answer.json()["previous_secrets_expire_at"] is not None
        await asyncio.sleep(0.6)  # the lanes pick up the new secret
        await kit.publisher.send(kit.journey()[0])
        await eventually(lambda: _count(receiver, 1), timeout=20)
        during = receiver.accepted()[0]
        await asyncio.sleep(3.5)
        await kit.publisher.send(kit.journey()[0])
        await eventually(lambda: _count(receiver, 2), timeout=20)
        after = receiver.accepted()[1]
        listed = (await service.http.get(f"/v1/webhooks/{hook}", headers=service.admin())).json()
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    old.verify(during.body, during.headers)
    new.verify(during.body, during.headers)
    new.verify(after.body, after.headers)
    with pytest.raises(WebhookVerificationError):
        old.verify(after.body, after.headers)
    assert "secret" not in listed
    assert len(listed["secrets"]) == 1


async def test_a_paused_webhook_queues_and_a_resumed_one_delivers_in_order(kit: Any) -> None:
    async with kit.receiving() as receiver, kit.service() as service:
        created = await service.subscribe(receiver.url)
        paused = await service.http.post(f"/v1/webhooks/{created['id']}/pause", headers=service.admin())
        assert paused.json()["status"] == "paused"
        await asyncio.sleep(0.6)
        sent = await kit.publisher.send(*kit.journey())

        async def queued() -> bool:
            hook = (await service.http.get(f"/v1/webhooks/{created['id']}", headers=service.admin())).json()
            return bool(hook["queue"]["pending"] == 4)

        await eventually(queued, timeout=20)
        await asyncio.sleep(0.5)
        assert receiver.log == []
        resumed = await service.http.post(f"/v1/webhooks/{created['id']}/resume", headers=service.admin())
        assert resumed.json()["status"] == "active"
        await eventually(lambda: _count(receiver, 4), timeout=20)
    assert receiver.accepted_ids() == [e.id for e in sent]


async def test_a_deleted_webhook_gets_nothing_more(kit: Any) -> None:
    async with kit.receiving() as receiver, kit.service() as service:
        created = await service.subscribe(receiver.url)
        answer = await service.http.delete(f"/v1/webhooks/{created['id']}", headers=service.admin())
        assert answer.status_code == 204
        assert (await service.http.get(f"/v1/webhooks/{created['id']}", headers=service.admin())).status_code == 404
        await asyncio.sleep(0.6)
        await kit.publisher.send(*kit.journey())
        await asyncio.sleep(2)
    assert receiver.log == []
