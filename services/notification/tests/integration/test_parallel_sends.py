"""Emails and SMS go out several at a time, bounded per provider; SMTP connections carry message after
message; a kill in the middle of a parallel batch still sends no email twice.

Everything is observed by the real servers (the SMTP capture counts the messages it is answering at
once and names the connection each came on; the SMS endpoint counts the requests it is answering at
once), never by the wall clock.
"""

import asyncio
import contextlib
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from motcua.common import mongo
from motcua.common.outbox import Outbox
from motcua.devtools.testing import eventually
from motcua.notification import store
from motcua.notification.dispatcher import Dispatcher
from motcua.notification.mail import Mailer
from motcua.notification.settings import Settings
from motcua.notification.sms import WebhookSms


def sms_delivery(kit: Any, phone: str, tracking_code: str) -> dict[str, Any]:
    """A pending SMS, as the consumer records it."""
    doc = kit.pending_email("unused@example.vn", tracking_code)
    return {**doc, "channel": "sms", "recipient": phone, "message": {"text": f"Ho so {tracking_code}"}}


@contextlib.asynccontextmanager
async def dispatching(settings: Settings, senders: list[Any]) -> AsyncIterator[mongo.Database]:
    """A dispatcher with these senders on the test's database, stopped at the end."""
    client = mongo.connect(settings.mongodb_uri)
    db = client[settings.database_name]
    hand_overs = store.HandOvers(settings.mongodb_uri, settings.database_name)
    dispatcher = Dispatcher(store.Store(client, db), Outbox(db, settings), settings, senders, hand_overs)
    running = asyncio.create_task(dispatcher.run())
    try:
        yield db
    finally:
        await dispatcher.stop()
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
        await client.close()


async def settled(db: mongo.Database, ids: set[str]) -> dict[str, str]:
    async def final() -> dict[str, str] | None:
        docs = await db[store.DELIVERIES].find({"_id": {"$in": sorted(ids)}}).to_list()
        statuses = {d["_id"]: d["status"] for d in docs}
        return statuses if all(s not in ("pending", "sending") for s in statuses.values()) else None

    result: dict[str, str] = await eventually(final, timeout=60)
    return result


async def test_emails_to_a_slow_server_go_out_as_many_at_once_as_the_pool_holds_each_connection_reused(
    kit: Any,
) -> None:
    settings = kit.settings(smtp_pool_size=4, dispatch_batch_size=50)
    address = f"pool.{uuid.uuid4().hex[:6]}@example.vn"
    deliveries = [kit.pending_email(address, f"HS-POOL-{n:02d}-{uuid.uuid4().hex[:4].upper()}") for n in range(12)]
    kit.smtp.answer_delay = 0.3  # each end of data answered late: the others must not wait for it
    try:
        async with dispatching(settings, [Mailer(settings)]) as db:
            await db[store.DELIVERIES].insert_many(deliveries)
            statuses = await settled(db, {d["_id"] for d in deliveries})
    finally:
        kit.smtp.answer_delay = 0.0

    assert set(statuses.values()) == {"sent"}
    mails = kit.smtp.to(address)
    for d in deliveries:
        assert sum(d["tracking_code"] in m.subject for m in mails) == 1
    assert kit.smtp.most_answering == 4  # as many at once as the pool holds, and never more
    per_connection = Counter(m.peer for m in mails)
    assert len(per_connection) <= 4
    assert sum(per_connection.values()) == 12
    assert max(per_connection.values()) >= 2  # a connection carried several messages, one after another


async def test_sms_go_out_at_most_sms_concurrency_at_once(kit: Any) -> None:
    settings = kit.settings(sms_concurrency=3)
    phone = f"+8491{uuid.uuid4().int % 10**7:07d}"
    deliveries = [sms_delivery(kit, phone, f"HS-SMS-{n:02d}") for n in range(9)]
    kit.sms.answer_delay = 0.3
    try:
        async with dispatching(settings, [WebhookSms(settings)]) as db:
            await db[store.DELIVERIES].insert_many(deliveries)
            statuses = await settled(db, {d["_id"] for d in deliveries})
    finally:
        kit.sms.answer_delay = 0.0

    assert set(statuses.values()) == {"sent"}
    assert len(kit.sms.to(phone)) == 9
    assert kit.sms.most_answering == 3


async def test_a_service_killed_in_the_middle_of_a_parallel_batch_sends_no_email_twice(
    kit: Any, tmp_path: Path
) -> None:
    address = f"par.{uuid.uuid4().hex[:6]}@example.vn"
    deliveries = [kit.pending_email(address, f"HS-PAR-{n:02d}-{uuid.uuid4().hex[:4].upper()}") for n in range(10)]
    client = mongo.connect(kit.stack.mongodb_uri)
    db = client[kit.isolation.db_name]
    try:
        await db[store.DELIVERIES].insert_many(deliveries)  # waiting before the service starts: one claim takes all
        kit.smtp.hold_data_replies()  # every message the server takes waits for its reply: in flight at the kill
        with kit.service_process({**kit.process_env(), "SMTP_POOL_SIZE": "4"}, tmp_path / "service.log") as process:

            async def several_in_flight() -> bool:
                return len(kit.smtp.to(address)) >= 4

            await eventually(several_in_flight, timeout=90)  # a process starting on a busy machine
            process.kill()  # SIGKILL with several messages handed over and unanswered
            process.wait(5)
        kit.smtp.release()
        assert len(kit.smtp.to(address)) == 4  # the pool's four connections, each with a message awaiting its reply

        await db[store.DELIVERIES].update_many(  # their lease runs out now rather than in 90 seconds
            {"recipient": address, "status": "sending"}, {"$set": {"lease_until": datetime(2000, 1, 1, tzinfo=UTC)}}
        )
        async with kit.service(smtp_timeout_seconds=10, delivery_lease_seconds=90, smtp_pool_size=4):
            statuses = await settled(db, {d["_id"] for d in deliveries})
    finally:
        await client.close()

    mails = kit.smtp.to(address)
    for d in deliveries:
        copies = sum(d["tracking_code"] in m.subject for m in mails)
        if statuses[d["_id"]] == "unknown":
            assert copies == 1  # in flight at the kill: with the server, and never resent
        else:
            assert (statuses[d["_id"]], copies) == ("sent", 1)  # not yet handed over: sent after the restart
    assert Counter(statuses.values()) == {"unknown": 4, "sent": 6}
