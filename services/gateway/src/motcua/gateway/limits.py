"""An adaptive concurrency limit per upstream service, and the short priority queue in front of it.

`GradientLimit` is Netflix concurrency-limits' Gradient2: the limit follows the ratio of the
service's long-term latency (its normal) to its latency now; when requests start queueing inside
the service (latency up while the work done stays the same) the limit comes down, when latency is
back to normal it grows again by a small queue allowance. Borrowed from AIMD: an explicit overload
answer from the service (503 from its own admission control, 504) cuts the limit by a tenth at once.
docs/gateway.md says why a gradient and not AIMD alone.

`Limiter` admits a request when fewer than the limit are in flight, else queues it briefly (a
bounded queue, ordered by priority, FIFO within one); when the queue is full, or when the wait it
would have (those ahead of it, at the rate answers come back) passes the queue's patience, it
refuses at once. Each priority may use only its share of the limit, so the last slots are always
kept for the more important work, and an arrival that outranks a waiter takes its place in a full
queue (the waiter is refused then, not after waiting for nothing).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from motcua.gateway.budget import Budget
from motcua.gateway.priorities import RETRY_BASE, SHARES, Priority


@dataclass
class _Window:
    began: float
    count: int = 0
    total: float = 0.0
    most_in_flight: int = 0


@dataclass
class GradientLimit:
    """Gradient2 (Netflix concurrency-limits) with AIMD's cut on an explicit overload answer."""

    initial: int
    minimum: int
    maximum: int
    smoothing: float = 0.2
    tolerance: float = 1.5  # latency may rise to 1.5 x its normal before the limit comes down
    backoff: float = 0.9  # the cut on an overload answer
    window_seconds: float = 0.1  # a window closes after this long and at least `window_samples` samples
    window_samples: int = 10
    long_windows: int = 600  # the long-term latency averages over about this many windows
    warmup_windows: int = 10
    clock: Callable[[], float] = time.monotonic
    limit: float = field(init=False)
    long_rtt: float = field(init=False, default=0.0)
    recent_rtt: float = field(init=False, default=0.0)  # a quick moving average of every answer's time
    _windows_seen: int = field(init=False, default=0)
    _window: _Window = field(init=False)
    _last_cut: float = field(init=False, default=-math.inf)

    def __post_init__(self) -> None:
        self.limit = float(min(self.maximum, max(self.minimum, self.initial)))
        self._window = _Window(began=self.clock())

    def sample(self, rtt: float, in_flight: int, *, overloaded: bool = False) -> None:
        """One answered request: its time to the service's headers and how many were in flight.

        `overloaded`: the service said it is (503, 504); the limit is cut, at most once a window, and the
        answer's time says nothing about the service's normal latency.
        """
        now = self.clock()
        if overloaded:
            if now - self._last_cut >= self.window_seconds:
                self._last_cut = now
                self.limit = max(float(self.minimum), self.limit * self.backoff)
            return
        self.recent_rtt += (rtt - self.recent_rtt) * 0.05
        w = self._window
        w.count += 1
        w.total += rtt
        w.most_in_flight = max(w.most_in_flight, in_flight)
        if now - w.began >= self.window_seconds and w.count >= self.window_samples:
            self._close(w)
            self._window = _Window(began=now)

    def _close(self, w: _Window) -> None:
        short = w.total / w.count
        self._windows_seen += 1
        if self._windows_seen <= self.warmup_windows:
            self.long_rtt += (short - self.long_rtt) / self._windows_seen
        else:
            self.long_rtt += (short - self.long_rtt) * 2 / (self.long_windows + 1)
        if short <= 0:
            return
        if self.long_rtt / short > 2:
            # latency back to normal after a long overload: forget the overload faster than the average would
            self.long_rtt *= 0.95
        if w.most_in_flight < self.limit / 2:
            return  # the service is not what limits this traffic: nothing to learn about the limit
        gradient = max(0.5, min(1.0, self.tolerance * self.long_rtt / short))
        proposed = self.limit * gradient + math.sqrt(self.limit)
        smoothed = self.limit * (1 - self.smoothing) + proposed * self.smoothing
        self.limit = max(float(self.minimum), min(float(self.maximum), smoothed))


@dataclass(eq=False)
class _Waiter:
    priority: Priority
    future: asyncio.Future[bool]
    timer: asyncio.TimerHandle | None = None


class Refused(Exception):
    """No slot: answer 503 with `retry_after` seconds."""

    def __init__(self, reason: str, retry_after: int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class Limiter:
    """Slots for one service: `acquire` waits briefly or raises `Refused`; every slot is `release`d."""

    def __init__(
        self, limit: GradientLimit, *, queue_size: int, queue_seconds: float, budget: Budget | None = None
    ) -> None:
        self.gradient = limit
        self.queue_size = queue_size
        self.queue_seconds = queue_seconds
        self.budget = budget
        self.in_flight = 0
        self.refusing = 0.0  # a moving share of the recent decisions that were refusals
        self._queues: dict[Priority, deque[_Waiter]] = {p: deque() for p in Priority}
        if budget is not None:
            budget.limiters.append(self)

    @property
    def queued(self) -> int:
        return sum(len(q) for q in self._queues.values())

    def measure(self, name: str) -> float:
        """`limit`, `in_flight` or `queued`, for the metrics."""
        return {"limit": self.gradient.limit, "in_flight": float(self.in_flight), "queued": float(self.queued)}[name]

    def _room(self, priority: Priority) -> bool:
        share = SHARES[priority]
        mine = self.in_flight < max(1.0, self.gradient.limit * share)
        return mine and (self.budget is None or self.budget.share(share))

    def _start(self) -> None:
        self.in_flight += 1
        if self.budget is not None:
            self.budget.in_flight += 1

    def _decided(self, refused: bool) -> None:
        self.refusing += ((1.0 if refused else 0.0) - self.refusing) * 0.02

    def retry_after(self, priority: Priority) -> int:
        """Whole seconds a refused client should wait: longer for less urgent work and under more refusals."""
        return math.ceil(RETRY_BASE[priority] * (1 + 4 * self.refusing))

    def _refuse(self, reason: str, priority: Priority) -> Refused:
        self._decided(True)
        return Refused(reason, self.retry_after(priority))

    def _ahead(self, priority: Priority) -> bool:
        return any(self._queues[p] for p in Priority if p <= priority)

    def expected_wait(self, priority: Priority) -> float:
        """Seconds a request of `priority` queued now would wait: those ahead of it, through its share of the
        slots, each slot coming free about once an answer's time."""
        ahead = sum(len(self._queues[p]) for p in Priority if p <= priority)
        slots = max(1.0, self.gradient.limit * SHARES[priority])
        return (ahead + 1) * self.gradient.recent_rtt / slots

    async def acquire(self, priority: Priority) -> None:
        """Take a slot now, or after a short wait in the queue; `Refused` when there is none to be had."""
        if not self._ahead(priority) and self._room(priority):
            self._start()
            self._decided(False)
            return
        if self.expected_wait(priority) > self.queue_seconds:
            raise self._refuse("would_wait", priority)  # refused now rather than after waiting for nothing
        if self.queued >= self.queue_size and not self._make_room(priority):
            raise self._refuse("queue_full", priority)
        loop = asyncio.get_running_loop()
        waiter = _Waiter(priority, loop.create_future())
        waiter.timer = loop.call_later(self.queue_seconds, self._expire, waiter)
        self._queues[priority].append(waiter)
        self._wake()
        try:
            admitted = await waiter.future
        except asyncio.CancelledError:
            if waiter.future.done() and not waiter.future.cancelled() and waiter.future.result():
                self.release()  # the slot was given as the caller went away
            else:
                self._forget(waiter)
            raise
        if not admitted:
            raise self._refuse("evicted" if waiter.timer is None else "timed_out", priority)
        self._decided(False)

    def _make_room(self, priority: Priority) -> bool:
        """Refuse the newest waiter of the least urgent priority below `priority`, if there is one."""
        for lower in sorted(Priority, reverse=True):
            if lower <= priority:
                return False
            if self._queues[lower]:
                waiter = self._queues[lower].pop()
                if waiter.timer is not None:
                    waiter.timer.cancel()
                waiter.timer = None  # marks it evicted
                if not waiter.future.done():
                    waiter.future.set_result(False)
                return True
        return False

    def _expire(self, waiter: _Waiter) -> None:
        self._forget(waiter)
        if not waiter.future.done():
            waiter.future.set_result(False)

    def _forget(self, waiter: _Waiter) -> None:
        queue = self._queues[waiter.priority]
        if waiter in queue:
            queue.remove(waiter)

    def admit_waiting(self, priority: Priority) -> None:
        """Give slots to this priority's waiters while there is room for them."""
        queue = self._queues[priority]
        while queue and self._room(priority):
            waiter = queue.popleft()
            if waiter.future.done():
                continue
            if waiter.timer is not None:
                waiter.timer.cancel()
            self._start()
            waiter.future.set_result(True)

    def _wake(self) -> None:
        if self.budget is not None:
            self.budget.wake()  # a slot here may be what a waiter of another service needed
            return
        for priority in Priority:
            self.admit_waiting(priority)
            if self._queues[priority]:
                return  # the shares only shrink from here: nobody after this priority fits either

    def release(self, rtt: float | None = None, *, overloaded: bool = False) -> None:
        """Give the slot back; `rtt` (seconds to the service's headers) feeds the limit when the service answered."""
        if rtt is not None:
            self.gradient.sample(rtt, self.in_flight, overloaded=overloaded)
        self.in_flight -= 1
        if self.budget is not None:
            self.budget.in_flight -= 1
        self._wake()
