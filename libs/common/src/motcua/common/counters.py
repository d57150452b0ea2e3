"""Fixed-window counters in MongoDB, so every replica of a service counts the same events.

A window is a slice of time of a fixed length counted from the epoch; each (key, window) is one
document, created by the first event in it and expired by the collection's TTL index some time after
the window ends.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from motcua.common import mongo
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

ATTEMPTS = 5


@dataclass(frozen=True)
class Window:
    """The `number`-th window of `seconds` since the epoch, ending at `ends`."""

    number: int
    ends: datetime

    @classmethod
    def containing(cls, moment: datetime, seconds: float) -> Window:
        number = int(moment.timestamp() // seconds)
        return cls(number, datetime.fromtimestamp((number + 1) * seconds, UTC))


async def count(
    counters: mongo.Collection,
    key: str,
    *,
    now: datetime,
    seconds: float,
    keep: timedelta = timedelta(0),
    expiry_field: str = "expires_at",
    session: mongo.Session | None = None,
) -> tuple[int, Window]:
    """Count one event of `key` in the window containing `now`: the count so far, this one included, and
    the window. The counter's `expiry_field` is the window's end plus `keep` (for the TTL index).

    Outside a transaction, two first events of a window racing to create its counter are counted again;
    inside one (`session`), the transaction's own retry does that."""
    window = Window.containing(now, seconds)
    update = {"$inc": {"count": 1}, "$setOnInsert": {expiry_field: window.ends + keep}}
    for _ in range(ATTEMPTS):
        try:
            doc = await counters.find_one_and_update(
                {"_id": f"{key}:{window.number}"},
                update,
                upsert=True,
                return_document=ReturnDocument.AFTER,
                session=session,
            )
        except DuplicateKeyError:
            if session is not None:
                raise
            continue
        if doc is not None:
            return int(doc["count"]), window
        if session is not None:  # counted in the transaction, though the answer was lost
            return 1, window
        # the local server may answer None when first events race: count again
    raise RuntimeError(f"the counter of {key} kept colliding")
