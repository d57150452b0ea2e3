"""The gateway's own capacity: how many requests it forwards at once, all services together.

Forwarding costs the gateway CPU (parsing, the upstream client's pool, streaming both ways), and that
cost grows with the number in flight. When the gateway's CPU is what runs out, every service looks
slow through it and every answer — a quick 503 included — waits in its event loop. So the requests
in flight to all services together have a limit of their own, driven by the lag of the gateway's
event loop (how late a timer fires): AIMD, since the lag is a direct sign of congestion, like a drop
is for TCP. While the lag stays under the target and the limit is used, it grows by one a tenth of a
second; when the lag passes the target, it is cut by a tenth. The priorities' shares apply to it as
to each service's limit, so it is also where searches give way to a submit in another service.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from motcua.gateway.priorities import SHARES, Priority

if TYPE_CHECKING:
    from motcua.gateway.limits import Limiter

TICK_SECONDS = 0.025  # how often the event loop's lag is measured
TICKS_PER_UPDATE = 4  # the limit moves at most once a tenth of a second


@dataclass
class AimdLimit:
    """Additive increase, multiplicative decrease, between `minimum` and `maximum`."""

    initial: int
    minimum: int
    maximum: int
    backoff: float = 0.9
    limit: float = field(init=False)

    def __post_init__(self) -> None:
        self.limit = float(min(self.maximum, max(self.minimum, self.initial)))

    def update(self, *, congested: bool, used: bool) -> None:
        if congested:
            self.limit = max(float(self.minimum), self.limit * self.backoff)
        elif used:
            self.limit = min(float(self.maximum), self.limit + 1)


class Budget:
    """Requests in flight across the service limiters, under an AIMD limit on the event loop's lag."""

    def __init__(self, limit: AimdLimit, *, lag_target_seconds: float, clock: Callable[[], float] = time.monotonic):
        self.aimd = limit
        self.lag_target = lag_target_seconds
        self.clock = clock
        self.in_flight = 0
        self.lag = 0.0  # a moving average of the event loop's lag, in seconds
        self.limiters: list[Limiter] = []
        self._ticks = 0
        self._watching = False

    def share(self, fraction: float) -> bool:
        return self.in_flight < max(1.0, self.aimd.limit * fraction)

    def watch(self) -> None:
        """Start measuring the running event loop's lag (once; nothing to stop: it is a timer, not a task)."""
        if not self._watching:
            self._watching = True
            loop = asyncio.get_running_loop()
            loop.call_later(TICK_SECONDS, self._tick, loop, self.clock() + TICK_SECONDS)

    def _tick(self, loop: asyncio.AbstractEventLoop, due: float) -> None:
        now = self.clock()
        self.observe(max(0.0, now - due))
        loop.call_later(TICK_SECONDS, self._tick, loop, now + TICK_SECONDS)

    def observe(self, lag: float) -> None:
        """One measure of the lag; every few, the limit moves."""
        self.lag += (lag - self.lag) * 0.3
        self._ticks += 1
        if self._ticks % TICKS_PER_UPDATE == 0:
            before = self.aimd.limit
            self.aimd.update(congested=self.lag > self.lag_target, used=self.in_flight >= 0.8 * self.aimd.limit)
            if self.aimd.limit > before:
                self.wake()

    def wake(self) -> None:
        """Hand free slots to waiters: the most urgent priority first, whichever service they wait for."""
        for priority in Priority:
            for limiter in self.limiters:
                limiter.admit_waiting(priority)
            if not self.share(SHARES[priority]):
                return  # the shares only shrink from here

