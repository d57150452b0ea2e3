"""Fixed-window counters in MongoDB, so every replica of the service counts the same requests."""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime

from motcua.common import mongo
from motcua.common.errors import TooManyRequests
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError


class RateLimited(TooManyRequests):
    title = "Too many requests"


async def spend(
    counters: mongo.Collection, *, scope: str, who: str, limit: int, window_seconds: int, now: float | None = None
) -> None:
    """Count one request of `who` in `scope`; RateLimited (429, Retry-After) past `limit` per window."""
    moment = time.time() if now is None else now
    window = int(moment // window_seconds)
    ends = (window + 1) * window_seconds
    # Who is stored hashed: an IP address or account id has no business sitting in a counter.
    digest = hashlib.sha256(f"{scope}:{who}".encode()).hexdigest()[:32]
    key = f"{scope}:{digest}:{window}"
    update = {"$inc": {"count": 1}, "$setOnInsert": {"expires_at": datetime.fromtimestamp(ends + 60, UTC)}}
    try:
        doc = await counters.find_one_and_update(
            {"_id": key}, update, upsert=True, return_document=ReturnDocument.AFTER
        )
    except DuplicateKeyError:  # two first requests of a window raced to create the counter
        doc = await counters.find_one_and_update({"_id": key}, update, return_document=ReturnDocument.AFTER)
    if doc is not None and int(doc["count"]) > limit:
        raise RateLimited(
            f"Too many requests; try again in {int(ends - moment) + 1} seconds.", retry_after=int(ends - moment) + 1
        )
