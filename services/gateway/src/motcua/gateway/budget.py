"""The gateway's own capacity: how many requests it forwards at once, all services together.

Forwarding costs the gateway CPU (parsing, the upstream client's pool, streaming both ways), and the
cost of each request grows with the number in flight (the pool's bookkeeping is quadratic in its
connections). The gateway runs on one event loop, so one core is all it has: when that core is what
runs out, every service looks slow through it and every answer — a quick 503 included — waits in
line. So the requests in flight to all services together have a limit of their own, driven by the
share of a core the gateway's process used over the last tenth of a second: AIMD, since that share
is a direct sign of congestion, as a drop is for TCP. While it stays under the target and the limit
is used, the limit grows by one a tenth of a second; above the target it is cut by a tenth.
The gateway's own CPU time is the signal, not the lag of its event loop: on a machine shared with
other busy processes the loop is late because it is not given the CPU, which no shedding cures.
The priorities' shares apply to this limit as to each service's, so it is also where searches give
way to a submit bound for another service.
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

TICK_SECONDS = 0.025  # how often the event loop's lag is measured (for the metrics)
TICKS_PER_UPDATE = 4  # the limit moves at most once a tenth of a second, after a look at the CPU used


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
    """Requests in flight across the service limiters, under an AIMD limit on the process's CPU use."""

    def __init__(
        self,
        limit: AimdLimit,
        *,
        cpu_target: float,
        clock: Callable[[], float] = time.monotonic,
        cpu_clock: Callable[[], float] = time.process_time,
    ) -> None:
        self.aimd = limit
        self.cpu_target = cpu_target
        self.clock = clock
        self.cpu_clock = cpu_clock
        self.in_flight = 0
        self.lag = 0.0  # a moving average of the event loop's lag, in seconds
        self.busy = 0.0  # the share of one core the process used in the last update's window
        self.limiters: list[Limiter] = []
        self._ticks = 0
        self._watching = False
        self._window = (clock(), cpu_clock())

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
        """One measure of the lag; every few, a look at the CPU used since the last, and the limit moves."""
        self.lag += (lag - self.lag) * 0.3
        self._ticks += 1
        if self._ticks % TICKS_PER_UPDATE == 0:
            now, cpu = self.clock(), self.cpu_clock()
            began, cpu_before = self._window
            self._window = (now, cpu)
            if now > began:
                self.busy = (cpu - cpu_before) / (now - began)
            before = self.aimd.limit
            self.aimd.update(congested=self.busy > self.cpu_target, used=self.in_flight >= 0.8 * self.aimd.limit)
            if self.aimd.limit > before:
                self.wake()

    def wake(self) -> None:
        """Hand free slots to waiters: the most urgent priority first, whichever service they wait for."""
        for priority in Priority:
            for limiter in self.limiters:
                limiter.admit_waiting(priority)
            if not self.share(SHARES[priority]):
                return  # the shares only shrink from here
