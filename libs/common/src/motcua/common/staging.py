"""Inserts staged during one transaction and written at its end, one `insert_many` per collection.

A consumer's batch handles many events in one transaction, and each event's handler inserts a few
documents (deliveries, an in-app notification, outbox events): written as they come, that is a round
trip per insert per event. Staged, the whole batch costs one insert per collection. A handler stages
with `insert`; the consumer opens the staging when its transaction's work begins (`begin`, again on
each retry of the transaction, which drops what a failed try staged) and writes it before the commit
(`flush`). Outside an open staging `insert` writes at once, so a handler works unchanged anywhere.

Only for documents the rest of the transaction does not read back: a staged insert is invisible until
the flush. A duplicate key surfaces at the flush, inside the same transaction, so it aborts it as an
immediate insert would.

Updates a handler does not read back either (a read model's upserts) are staged the same way with
`update` and written after the inserts, as one ordered `bulk_write` per collection.

The same span also holds what the batch's handlers read once for all of them (`remembered`): a read of
the whole batch's needs made at its start, kept up to date by the handlers' own writes, and forgotten
with the try of the transaction that made it.
"""

from __future__ import annotations

from typing import Any

from motcua.common import mongo
from pymongo import UpdateOne


class Staging:
    """The inserts and updates staged per open transaction (by session)."""

    def __init__(self) -> None:
        self._open: dict[int, dict[str, tuple[mongo.Collection, list[dict[str, Any]]]]] = {}
        self._updates: dict[int, dict[str, tuple[mongo.Collection, list[UpdateOne]]]] = {}
        self._memo: dict[int, dict[str, Any]] = {}

    def begin(self, session: mongo.Session) -> None:
        """The transaction's work starts (or starts again): nothing staged or remembered yet."""
        self._open[id(session)] = {}
        self._updates[id(session)] = {}
        self._memo[id(session)] = {}

    def remembered(self, session: mongo.Session) -> dict[str, Any] | None:
        """What this try of the session's transaction read once for its handlers; None outside a staging."""
        return self._memo.get(id(session))

    async def insert(self, session: mongo.Session, collection: mongo.Collection, docs: list[dict[str, Any]]) -> None:
        """Stage `docs` for `collection` in the session's transaction; written at once when no staging is open."""
        if not docs:
            return
        staged = self._open.get(id(session))
        if staged is None:
            await collection.insert_many(docs, ordered=True, session=session)
            return
        key = f"{collection.database.name}.{collection.name}"
        staged.setdefault(key, (collection, []))[1].extend(docs)

    async def update(
        self,
        session: mongo.Session,
        collection: mongo.Collection,
        query: dict[str, Any],
        change: dict[str, Any],
        *,
        upsert: bool = False,
    ) -> None:
        """Stage one `update_one` in the session's transaction; written at once when no staging is open."""
        staged = self._updates.get(id(session))
        if staged is None:
            await collection.update_one(query, change, upsert=upsert, session=session)
            return
        key = f"{collection.database.name}.{collection.name}"
        staged.setdefault(key, (collection, []))[1].append(UpdateOne(query, change, upsert=upsert))

    async def flush(self, session: mongo.Session) -> None:
        """Write what the transaction staged, in the order staged within each collection: inserts, then updates."""
        staged = self._open.pop(id(session), {})
        updates = self._updates.pop(id(session), {})
        self._memo.pop(id(session), None)
        for collection, docs in staged.values():
            await collection.insert_many(docs, ordered=True, session=session)
        for collection, operations in updates.values():
            await collection.bulk_write(operations, ordered=True, session=session)

    def discard(self, session: mongo.Session) -> None:
        """Forget what a transaction staged and remembered (it is not going to commit, or has flushed)."""
        self._open.pop(id(session), None)
        self._updates.pop(id(session), None)
        self._memo.pop(id(session), None)
