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
"""

from __future__ import annotations

from typing import Any

from motcua.common import mongo


class Staging:
    """The inserts staged per open transaction (by session)."""

    def __init__(self) -> None:
        self._open: dict[int, dict[str, tuple[mongo.Collection, list[dict[str, Any]]]]] = {}

    def begin(self, session: mongo.Session) -> None:
        """The transaction's work starts (or starts again): nothing staged yet."""
        self._open[id(session)] = {}

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

    async def flush(self, session: mongo.Session) -> None:
        """Write what the transaction staged, in the order staged within each collection."""
        staged = self._open.pop(id(session), {})
        for collection, docs in staged.values():
            await collection.insert_many(docs, ordered=True, session=session)

    def discard(self, session: mongo.Session) -> None:
        """Forget what a transaction staged (it is not going to commit)."""
        self._open.pop(id(session), None)
