"""Time as the platform keeps it: to the millisecond MongoDB stores, and a strictly increasing order.

Pure (no I/O): the services' domains use it too.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def now() -> datetime:
    """The time in UTC, at MongoDB's millisecond precision, so a stored time reads back equal."""
    t = datetime.now(UTC)
    return t.replace(microsecond=t.microsecond // 1000 * 1000)


class Ticker:
    """Wall-clock nanoseconds, strictly increasing within the process: an order for things that may be
    written in the same millisecond (BSON dates keep no more)."""

    def __init__(self) -> None:
        self._last = 0

    def next(self) -> int:
        """The next number, later than every one handed out before."""
        self._last = max(self._last + 1, time.time_ns())
        return self._last
