"""Every query on a hot path uses an index, in the database server's own `explain` output.

The commands explained are the ones the product sends: a command listener records what the
relay, notification's claims and batch contact reads and submission's lists send, and the test asks
the server to explain exactly those. A query that scans the collection, or sorts its matches in memory, costs more with
every dossier already stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable
from datetime import UTC, datetime, timedelta
from typing import Any

from motcua.common import mongo
from motcua.common.consumer import INDEXES as INBOX_INDEXES
from motcua.common.contracts.identity import AccountLocked
from motcua.common.outbox import INDEXES as OUTBOX_INDEXES
from motcua.common.outbox import Outbox, Relay
from motcua.common.settings import ServiceSettings
from motcua.devtools.testing import Isolation, Stack, eventually
from motcua.notification import store as notification_store
from motcua.notification.deliveries import Delivery
from motcua.submission import store as submission_store
from motcua.submission.workflow import Status as ApplicationStatus
from pymongo import monitoring

_READS = {"find", "update", "count", "aggregate", "delete", "findAndModify"}
_INDEX_STAGES = {"IXSCAN", "EXPRESS_IXSCAN", "COUNT_SCAN", "IDHACK", "DISTINCT_SCAN"}


class _Recorder(monitoring.CommandListener):
    """The query commands a client sends, as sent."""

    def __init__(self) -> None:
        self.commands: list[dict[str, Any]] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        pipeline = event.command.get("pipeline") or [{}]
        if event.command_name in _READS and "$changeStream" not in pipeline[0]:  # a stream reads the oplog
            drop = {"$db", "lsid", "$clusterTime", "txnNumber", "autocommit", "startTransaction", "readConcern"}
            self.commands.append({k: v for k, v in event.command.items() if k not in drop})

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


def _stages(plan: Any) -> list[str]:
    """Every `stage` named anywhere in an explain answer (winning plans, nested input stages, pipelines)."""
    found: list[str] = []
    if isinstance(plan, dict):
        for key, value in plan.items():
            if key == "rejectedPlans":
                continue
            if key == "stage" and isinstance(value, str):
                found.append(value)
            else:
                found.extend(_stages(value))
    elif isinstance(plan, list):
        for item in plan:
            found.extend(_stages(item))
    return found


async def _assert_indexed(db: mongo.Database, commands: list[dict[str, Any]], what: str) -> None:
    assert commands, f"{what}: no query was sent"
    for command in commands:
        if command.get("update") is not None and "updates" in command:
            command = {**command, "updates": [dict(u) for u in command["updates"]]}
        explained = await db.command({"explain": command, "verbosity": "queryPlanner"})
        stages = _stages(explained.get("queryPlanner", explained))
        assert "COLLSCAN" not in stages, f"{what}: {command} scans the collection: {stages}"
        assert _INDEX_STAGES & set(stages), f"{what}: {command} uses no index: {stages}"
        assert "SORT" not in stages, f"{what}: {command} sorts in memory, a cost that grows with the data: {stages}"


def _settings(stack: Stack, isolation: Isolation) -> ServiceSettings:
    return ServiceSettings.model_validate(
        {
            "service_name": "identity",
            "mongodb_uri": stack.mongodb_uri,
            "mongodb_db": isolation.db_name,
            "kafka_bootstrap_servers": stack.kafka_bootstrap,
            "kafka_topic_prefix": isolation.topic_prefix,
        }
    )


@contextlib.asynccontextmanager
async def _running(coro: Awaitable[None]) -> AsyncIterator[None]:
    task = asyncio.ensure_future(coro)
    try:
        yield
    finally:
        task.cancel()
        done, _ = await asyncio.wait([task], timeout=30)
        assert done, f"the relay ignored its cancellation: {task.get_stack()}"
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


async def test_the_relay_finds_and_marks_pending_events_through_an_index(
    stack: Stack, isolation: Isolation, mongo_client: mongo.Client
) -> None:
    settings = _settings(stack, isolation)
    db = mongo_client[settings.database_name]
    await mongo.ensure_collections(db, {**OUTBOX_INDEXES, **INBOX_INDEXES})
    recorder = _Recorder()
    watched = mongo.connect(stack.mongodb_uri, listeners=[recorder])
    outbox = Outbox(watched[settings.database_name], settings)
    relay = Relay(watched[settings.database_name], settings, outbox)
    try:
        async with _running(relay.run()):

            async def work(session: mongo.Session) -> None:
                locked = [
                    AccountLocked(account_id=str(uuid.uuid4()), locked_until=datetime.now(UTC), failed_attempts=n)
                    for n in range(5)
                ]
                await outbox.add(session, locked)

            await mongo.in_transaction(watched, work)
            outbox.notify()

            async def published() -> bool:
                return await db["outbox"].count_documents({"published_at": None}) == 0

            await eventually(published)
    finally:
        await watched.close()
    on_outbox = [c for c in recorder.commands if next(iter(c.values())) == "outbox"]
    await _assert_indexed(db, on_outbox, "relay")


async def test_the_consumer_inbox_is_looked_up_by_its_key(
    stack: Stack, isolation: Isolation, mongo_client: mongo.Client
) -> None:
    db = mongo_client[isolation.db_name]
    await mongo.ensure_collections(db, {**INBOX_INDEXES})
    await db["inbox"].insert_many([{"_id": f"group:{uuid.uuid4()}"} for _ in range(20)])
    # what Consumer._apply asks before running a handler
    await _assert_indexed(db, [{"find": "inbox", "filter": {"_id": f"group:{uuid.uuid4()}"}, "limit": 1}], "inbox")


async def test_notifications_claims_leases_and_lists_use_indexes(
    stack: Stack, isolation: Isolation, mongo_client: mongo.Client
) -> None:
    db = mongo_client[isolation.db_name]
    await mongo.ensure_collections(db, {**notification_store.INDEXES})
    recorder = _Recorder()
    watched = mongo.connect(stack.mongodb_uri, listeners=[recorder])
    store = notification_store.Store(watched, watched[isolation.db_name])
    now = datetime.now(UTC)
    deliveries = [
        Delivery(
            id=str(uuid.uuid4()),
            cause_event_id=str(uuid.uuid4()),
            cause_event_type="motcua.submission.ApplicationReceived.v1",
            channel="email",
            recipient=f"c{n}@example.vn",
            next_attempt_at=now - timedelta(seconds=n),
            created_at=now,
        )
        for n in range(30)
    ]
    await db[notification_store.DELIVERIES].insert_many([d.to_doc() for d in deliveries])
    accounts = [str(uuid.uuid4()) for _ in range(30)]
    await db[notification_store.CONTACTS].insert_many(
        [
            {"_id": a, "full_name": "An", "email": f"{a}@example.vn", "phone": "+84912345678", "locale": "vi"}
            for a in accounts
        ]
    )

    async def batch_contacts(session: mongo.Session) -> None:  # what the consumer's batch reads before its handlers
        store.staging.begin(session)
        try:
            await store.read_contacts(session, accounts[:5])
            assert await store.find_contact(session, accounts[0]) is not None
        finally:
            store.staging.discard(session)

    try:
        await mongo.in_transaction(watched, batch_contacts)
        token = uuid.uuid4().hex
        claimed = await store.claim(channel="email", token=token, limit=10, lease_seconds=30, now=now)
        assert claimed
        await store.extend_lease(token=token, lease_seconds=30)
        await store.abandoned(now=now)
        await store.list_notifications(str(uuid.uuid4()), page=1, page_size=20, unread_only=False)
    finally:
        await watched.close()
    await _assert_indexed(db, recorder.commands, "notification")


async def test_the_citizens_list_and_the_agency_queue_use_indexes(
    stack: Stack, isolation: Isolation, mongo_client: mongo.Client
) -> None:
    db = mongo_client[isolation.db_name]
    await mongo.ensure_collections(db, {**submission_store.INDEXES})
    await db[submission_store.APPLICATIONS].insert_many(
        [
            {"_id": str(uuid.uuid4()), "owner_id": f"o{n % 7}", "agency_code": f"A{n % 3}", "status": "draft"}
            for n in range(30)
        ]
    )
    recorder = _Recorder()
    watched = mongo.connect(stack.mongodb_uri, listeners=[recorder])
    store = submission_store.Store(watched, watched[isolation.db_name])
    try:
        await store.owned_by("someone", None, skip=0, limit=20)
        await store.owned_by("someone", ApplicationStatus.SUBMITTED, skip=0, limit=20)
        await store.agency_queue("X", None, skip=0, limit=20)
        await store.agency_queue("X", ApplicationStatus.PROCESSING, skip=0, limit=20)
    finally:
        await watched.close()
    await _assert_indexed(db, recorder.commands, "submission")


async def test_the_service_index_reads_its_months_and_comments_through_indexes(
    stack: Stack, isolation: Isolation, mongo_client: mongo.Client
) -> None:
    from motcua.submission import index_feed, ratings
    from motcua.submission.index_model import Month

    db = mongo_client[isolation.db_name]
    await mongo.ensure_collections(db, {**index_feed.INDEXES, **ratings.INDEXES})
    start = datetime(2026, 10, 5, 2, tzinfo=UTC)
    await db[index_feed.DOSSIERS].insert_many(
        [
            {
                "_id": uuid.uuid4().hex,
                "agency_code": f"A{n % 3}",
                "submitted_at": start + timedelta(days=n),
                **({"finished_at": start + timedelta(days=n + 2)} if n % 2 else {}),
            }
            for n in range(30)
        ]
    )
    recorder = _Recorder()
    watched = mongo.connect(stack.mongodb_uri, listeners=[recorder])
    reader = index_feed.IndexReader(watched[isolation.db_name])
    try:
        await reader.touching(Month(2026, 10), Month(2026, 10), "A1")
        await reader.touching(Month(2026, 1), Month(2026, 12), "A2")
        await reader.touching(Month(2026, 10), Month(2026, 10))
        await ratings.comments(watched[isolation.db_name], "A1", Month(2026, 10))
    finally:
        await watched.close()
    await _assert_indexed(db, recorder.commands, "service index")
