"""A dispatch round that meets an unexpected value fails that one delivery as ambiguous and sends the rest."""

import asyncio
import contextlib
import uuid
from datetime import datetime
from typing import Any

from motcua.common import mongo
from motcua.common.outbox import Outbox
from motcua.devtools.testing import eventually
from motcua.notification import store
from motcua.notification.dispatcher import Dispatcher
from motcua.notification.mail import Mailer


class _OddHandOvers(store.HandOvers):
    """The real hand-over marks, except for one delivery, whose mark answers something no mark answers."""

    def __init__(self, uri: str, db_name: str, odd_id: str) -> None:
        super().__init__(uri, db_name)
        self._odd_id = odd_id

    async def record(self, *, delivery_id: str, token: str, now: datetime) -> asyncio.Task[bool]:
        if delivery_id == self._odd_id:
            return None  # type: ignore[return-value]  # the unexpected value under test
        return await super().record(delivery_id=delivery_id, token=token, now=now)


async def test_an_unexpected_value_mid_batch_fails_that_delivery_as_unknown_and_sends_the_others(kit: Any) -> None:
    settings = kit.settings(dispatch_idle_poll_seconds=0.1)
    client = mongo.connect(settings.mongodb_uri)
    db = client[settings.database_name]
    address = f"odd.{uuid.uuid4().hex[:6]}@example.vn"
    deliveries = [kit.pending_email(address, f"HS-ODD-{n}-{uuid.uuid4().hex[:4].upper()}") for n in range(3)]
    await db[store.DELIVERIES].insert_many(deliveries)
    odd = deliveries[1]["_id"]
    dispatcher = Dispatcher(
        store.Store(client, db),
        Outbox(db, settings),
        settings,
        [Mailer(settings)],
        _OddHandOvers(settings.mongodb_uri, settings.database_name, odd),
    )
    running = asyncio.create_task(dispatcher.run())
    try:

        async def settled() -> dict[str, str] | None:
            docs = await db[store.DELIVERIES].find({"recipient": address}).to_list()
            statuses = {d["_id"]: d["status"] for d in docs}
            return statuses if all(s not in ("pending", "sending") for s in statuses.values()) else None

        statuses = await eventually(settled, timeout=30)
        assert dispatcher.healthy
    finally:
        await dispatcher.stop()
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
        await client.close()

    assert statuses.pop(odd) == "unknown"  # it may be with the provider: never sent again
    assert sorted(statuses.values()) == ["sent", "sent"]
    subjects = [m.subject for m in kit.smtp.to(address)]
    for d in deliveries:
        if d["_id"] != odd:
            assert sum(d["tracking_code"] in s for s in subjects) == 1, subjects
