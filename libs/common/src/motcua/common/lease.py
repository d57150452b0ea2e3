"""A lease in a service's own database: one holder at a time among the replicas, taken over when it lapses.

For scheduled work that must run in one replica only (the escalation check): the holder renews it at each
round; a replica that stops holding it (killed, or cut off from the database) loses it after `seconds`.
"""

from __future__ import annotations

import time
import uuid

from motcua.common import mongo
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError, PyMongoError


class Lease:
    def __init__(self, collection: mongo.Collection, name: str, *, seconds: float) -> None:
        self._collection = collection
        self._name = name
        self._seconds = seconds
        self.owner = uuid.uuid4().hex

    async def hold(self) -> bool:
        """Take or renew the lease; False while another live holder has it."""
        now = time.time()
        try:
            doc = await self._collection.find_one_and_update(
                {"_id": self._name, "$or": [{"owner": self.owner}, {"until": {"$lt": now}}]},
                {"$set": {"owner": self.owner, "until": now + self._seconds}},
                upsert=True,
                return_document=ReturnDocument.AFTER,
            )
        except DuplicateKeyError:  # held by another, not lapsed: the upsert found no match and collided
            return False
        return doc is not None and doc.get("owner") == self.owner

    async def release(self) -> None:
        """Let another replica take over at once (on a clean stop)."""
        try:
            await self._collection.update_one({"_id": self._name, "owner": self.owner}, {"$set": {"until": 0}})
        except PyMongoError:
            pass
