"""The search index of this replica, kept level with MongoDB before every search.

MongoDB holds each listed procedure's folded fields; every listing change (publish, retire, seed)
takes the next number of the `listing` counter in its transaction. Before answering, a search reads
that counter (one indexed read) and, when it moved, loads only the procedures changed since: every
replica answers from the committed state, and the ranking runs in memory over a word index.
Why not query a multikey index on the words: see docs/catalogue.md (it costs a document fetch per
candidate, and common words such as "đăng ký" have thousands).
"""

from __future__ import annotations

import asyncio

import structlog
from motcua.catalogue.model import Status
from motcua.catalogue.search import Entry, Query, Results, SearchIndex
from motcua.catalogue.store import Store
from motcua.common.mongo import Document

log = structlog.get_logger(__name__)


def _entry(doc: Document) -> Entry:
    summary = doc["summary"]
    return Entry(
        code=doc["_id"],
        summary=summary,
        folded=doc["search"],
        agency_code=summary["agency_code"],
        applicant_types=frozenset(summary["applicant_types"]),
    )


class Listing:
    """Searches the published procedures; safe to share between the requests of one process."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._index = SearchIndex()
        self._lock = asyncio.Lock()

    async def catch_up(self) -> None:
        """Apply the listing changes committed since the last look."""
        latest = await self._store.listing_seq()
        if latest <= self._index.seq:
            return
        async with self._lock:
            if latest <= self._index.seq:
                return
            changes = await self._store.listing_changes(self._index.seq)
            listed = [_entry(d) for d in changes if d["status"] == Status.PUBLISHED and d.get("search")]
            unlisted = [d["_id"] for d in changes if d["status"] != Status.PUBLISHED]
            top = max([latest, *(d["seq"] for d in changes)])
            self._index.apply(listed, unlisted, top)
            log.info("search_index_caught_up", changes=len(changes), listed=len(self._index), seq=top)

    async def search(self, query: Query) -> Results:
        await self.catch_up()
        return self._index.search(query)
