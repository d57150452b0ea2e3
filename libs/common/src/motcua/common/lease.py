"""A lease in a service's own database: one holder at a time among the replicas, taken over when it lapses.

For work that must run in one replica only (the outbox relay, the escalation check): the holder renews it at
each round (a renewal with more than half the lease left costs nothing); a replica that stops holding it
(killed, or cut off from the database) loses it after `seconds`.
"""

from __future__ import annotations

import time
import uuid

from motcua.common import mongo
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError, PyMongoError


class Lease:
    def __init__(self, collection: mongo.Collection, name: str, *, seconds: float, owner: str | None = None) -> None:
        self._collection = collection
        self._name = name
        self._seconds = seconds
        self.owner = owner or uuid.uuid4().hex
        self._until = 0.0  # when the lease this replica holds runs out (0: not held)

    async def hold(self) -> bool:
        """Take or renew the lease; False while another live holder has it."""
        now = time.time()
        if self._until - now > self._seconds / 2:
            return True
        until = now + self._seconds
        try:
            doc = await self._collection.find_one_and_update(
                {"_id": self._name, "$or": [{"owner": self.owner}, {"until": {"$lt": now}}]},
                {"$set": {"owner": self.owner, "until": until}},
                upsert=True,
                return_document=ReturnDocument.AFTER,
            )
        except DuplicateKeyError:  # held by another, not lapsed: the upsert found no match and collided
            doc = None
        held = doc is not None and doc.get("owner") == self.owner
        self._until = until if held else 0.0
        return held

    async def release(self) -> None:
        """Let another replica take over at once (on a clean stop)."""
        self._until = 0.0
        try:
            await self._collection.update_one({"_id": self._name, "owner": self.owner}, {"$set": {"until": 0}})
        except PyMongoError:
            pass
