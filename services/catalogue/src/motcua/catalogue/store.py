"""The catalogue's MongoDB collections, indexes and queries.

- `agencies`: one document per agency code (from the seed).
- `procedures`: one per code: status, the draft, the current version's number, its `summary` (what a
  search result shows) and folded search fields (`search`), and `seq`, the last listing change to it.
- `versions`: every published version, immutable, `_id` "CODE@n".
- `counters`: `listing`, the number of the last listing change; the search index of each replica
  reads it to know whether it is behind (changes commit in `seq` order: they all increment it).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from motcua.catalogue.model import Agency
from motcua.common.mongo import Database, Document, Session
from pymongo import ASCENDING, IndexModel, ReturnDocument, UpdateOne
from pymongo.errors import DuplicateKeyError

AGENCIES = "agencies"
PROCEDURES = "procedures"
VERSIONS = "versions"
COUNTERS = "counters"
LISTING = "listing"

INDEXES: dict[str, list[IndexModel]] = {
    AGENCIES: [],
    PROCEDURES: [IndexModel([("seq", ASCENDING)], name="listing_changes")],
    VERSIONS: [IndexModel([("code", ASCENDING), ("version", ASCENDING)], name="code_version", unique=True)],
    COUNTERS: [],
}

SUMMARY_FIELDS = (
    "code",
    "version",
    "name",
    "name_en",
    "agency_code",
    "applicant_types",
    "online_level",
    "processing_days",
    "fee_vnd",
)
_LISTING_PROJECTION = {"status": 1, "seq": 1, "search": 1, "summary": 1}


def version_id(code: str, number: int) -> str:
    return f"{code}@{number}"


class Store:
    """The catalogue's collections, for one database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def agencies(self) -> list[Document]:
        return await self.db[AGENCIES].find({}, {"_id": 0}).sort("code", ASCENDING).to_list()

    async def agency_exists(self, code: str) -> bool:
        return await self.db[AGENCIES].count_documents({"_id": code}, limit=1) > 0

    async def save_agencies(self, found: Sequence[Agency]) -> None:
        """The seed's agencies, as the seed says (a renamed agency is renamed)."""
        if found:
            await self.db[AGENCIES].bulk_write(
                [UpdateOne({"_id": a.code}, {"$set": a.model_dump()}, upsert=True) for a in found]
            )

    async def create_procedure(self, doc: Document) -> None:
        """A new procedure; DuplicateKeyError when its code is taken."""
        await self.db[PROCEDURES].insert_one(doc)

    async def save_draft(self, code: str, draft: dict[str, Any], now: datetime) -> bool:
        """Replace the procedure's draft; False when there is no such procedure."""
        result = await self.db[PROCEDURES].update_one(
            {"_id": code}, {"$set": {"draft": draft, "draft_saved_at": now, "updated_at": now}}
        )
        return result.matched_count == 1

    async def procedure(self, code: str, session: Session | None = None) -> Document | None:
        return await self.db[PROCEDURES].find_one({"_id": code}, session=session)

    async def status(self, code: str) -> Document | None:
        """What a citizen may know of a procedure before reading its version: status, current version."""
        return await self.db[PROCEDURES].find_one({"_id": code}, {"status": 1, "retired_at": 1, "current_version": 1})

    async def existing_codes(self, codes: Sequence[str], session: Session | None = None) -> set[str]:
        found = await self.db[PROCEDURES].find({"_id": {"$in": list(codes)}}, {"_id": 1}, session=session).to_list()
        return {d["_id"] for d in found}

    async def insert_procedures(self, docs: list[Document], session: Session) -> None:
        await self.db[PROCEDURES].insert_many(docs, session=session)

    async def update_procedure(self, code: str, changes: dict[str, Any], session: Session) -> None:
        await self.db[PROCEDURES].update_one({"_id": code}, {"$set": changes}, session=session)

    async def insert_versions(self, docs: list[Document], session: Session) -> None:
        await self.db[VERSIONS].insert_many(docs, session=session)

    async def version(self, code: str, number: int) -> Document | None:
        return await self.db[VERSIONS].find_one({"_id": version_id(code, number)}, {"_id": 0})

    async def versions_of(self, code: str) -> list[Document]:
        return (
            await self.db[VERSIONS]
            .find({"code": code}, {"_id": 0, "version": 1, "published_at": 1})
            .sort("version", ASCENDING)
            .to_list()
        )

    async def ensure_counter(self) -> None:
        """Create the listing counter before any transaction increments it (upserts in transactions race)."""
        try:
            await self.db[COUNTERS].insert_one({"_id": LISTING, "seq": 0})
        except DuplicateKeyError:
            pass

    async def next_listing_seq(self, session: Session, count: int = 1) -> int:
        """Reserve `count` listing changes; returns the last. Serialises listing changes (on purpose)."""
        doc = await self.db[COUNTERS].find_one_and_update(
            {"_id": LISTING}, {"$inc": {"seq": count}}, return_document=ReturnDocument.AFTER, session=session
        )
        assert doc is not None
        return int(doc["seq"])

    async def listing_seq(self) -> int:
        doc = await self.db[COUNTERS].find_one({"_id": LISTING})
        return int(doc["seq"]) if doc else 0

    async def listing_changes(self, after: int) -> list[Document]:
        """Procedures whose listing changed after change number `after`, with just what search needs."""
        return await self.db[PROCEDURES].find({"seq": {"$gt": after}}, _LISTING_PROJECTION).to_list()
