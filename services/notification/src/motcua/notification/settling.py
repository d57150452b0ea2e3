"""Settling deliveries: their moves out of `sending` written with the final events they cause, in one
transaction. Used by the dispatcher's lanes (after a batch is sent) and its recovery (abandoned sends)."""

from __future__ import annotations

from motcua.common import mongo
from motcua.common.events import Event
from motcua.common.outbox import Outbox
from motcua.notification.deliveries import Move
from motcua.notification.events import final_event
from motcua.notification.store import Store


class _Contended(Exception):
    """A delivery of the batch was taken over meanwhile: settle one by one instead."""


async def commit(store: Store, outbox: Outbox, moves: list[Move]) -> None:
    """The fast way (one bulk write) when every delivery is still ours, as it nearly always is; otherwise
    one by one, so only the moves that happened announce anything. The caller notifies the outbox."""

    async def at_once(session: mongo.Session) -> None:
        if not await store.move_all(session, moves):
            raise _Contended
        await _announce(outbox, session, moves)

    async def one_by_one(session: mongo.Session) -> None:
        done = await store.move_each(session, moves)
        await _announce(outbox, session, [m for m, ok in zip(moves, done, strict=True) if ok])

    try:
        await mongo.in_transaction(store.client, at_once)
    except _Contended:
        await mongo.in_transaction(store.client, one_by_one)


async def _announce(outbox: Outbox, session: mongo.Session, moves: list[Move]) -> None:
    """The final events, each carrying the request id of the request that caused its message: one insert."""
    events: list[tuple[Event, str | None]] = [
        (final_event(m.delivery, m.status, m.reason, m.at), m.delivery.request_id) for m in moves if m.final
    ]
    await outbox.add_each(session, events)
