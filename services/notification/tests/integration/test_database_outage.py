"""A database outage in the middle of a batch: what went out is settled `sent` once the database is back,
never announced `unknown` and never sent again — even when the outage outlasts the batch's lease."""

import asyncio
import contextlib
import uuid
from typing import Any

from motcua.common import mongo
from motcua.common.outbox import Outbox
from motcua.devtools.testing import Stack, eventually
from motcua.notification import store
from motcua.notification.dispatcher import Dispatcher
from motcua.notification.mail import Mailer


async def test_a_database_outage_longer_than_the_lease_mid_batch_sends_each_email_once_and_settles_it_sent(
    kit: Any, private_stack: Stack
) -> None:
    assert private_stack.mongodb is not None
    settings = kit.settings(
        mongodb_uri=private_stack.mongodb_uri,
        kafka_bootstrap_servers=private_stack.kafka_bootstrap,
        smtp_timeout_seconds=0.5,
        delivery_lease_seconds=5.0,
        dispatch_idle_poll_seconds=0.1,
        smtp_pool_size=1,  # one message at a time: the first is in when the database goes, the others wait
    )
    client = mongo.connect(settings.mongodb_uri)
    db = client[settings.database_name]
    codes = [f"HS-DB-{n:04d}-{uuid.uuid4().hex[:4].upper()}" for n in range(3)]
    address = f"outage.{uuid.uuid4().hex[:6]}@example.vn"
    await db[store.DELIVERIES].insert_many([kit.pending_email(address, code) for code in codes])
    smtp = kit.smtp
    smtp.hold_data_replies()  # the first message is in; its reply waits while the database goes away
    seen = len(smtp.to(address))
    dispatcher = Dispatcher(
        store.Store(client, db),
        Outbox(db, settings),
        settings,
        [Mailer(settings)],
        store.HandOvers(settings.mongodb_uri, settings.database_name),
    )
    running = asyncio.create_task(dispatcher.run())
    try:

        async def first_in() -> bool:
            return len(smtp.to(address)) == seen + 1

        await eventually(first_in)
        await asyncio.to_thread(private_stack.mongodb.kill)
        smtp.release()
        await asyncio.sleep(8.0)  # longer than the lease: its own recovery must not judge the batch abandoned
        await asyncio.to_thread(private_stack.mongodb.start)

        async def all_settled() -> list[dict[str, Any]] | None:
            with contextlib.suppress(Exception):
                docs = await db[store.DELIVERIES].find({"recipient": address}).to_list()
                if (docs and all(d["status"] == "sent" for d in docs)) or any(d["status"] == "unknown" for d in docs):
                    return docs
            return None

        docs = await eventually(all_settled, timeout=90)
    finally:
        await dispatcher.stop()
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
        await client.close()

    assert sorted(d["status"] for d in docs) == ["sent", "sent", "sent"], [(d["status"], d.get("reason")) for d in docs]
    subjects = [m.subject for m in smtp.to(address)]
    for code in codes:
        assert sum(code in s for s in subjects) == 1, subjects
