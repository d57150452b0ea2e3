"""Each service process protects itself: a bounded number of requests at once, a short queue, 503 beyond.

The gateway's admission control keeps the platform's services from being flooded, but a replica may
also be reached by another gateway replica or straight from an Ingress, and the gateway's limit is
one for all the replicas behind a service. So every process admits at most `REQUEST_CONCURRENCY`
requests at once; up to `REQUEST_QUEUE_SIZE` more wait, each at most `REQUEST_QUEUE_TIMEOUT_SECONDS`,
for a slot in arrival order; beyond that a request is answered at once with 503 problem details and
`Retry-After`, before its body is read and before anything is done. Probes and metrics are never
held back, so an overloaded process is not also taken for a dead one.

The database pool is sized for it (`pool_size`): one connection for each request admitted, and room
for the background loops (outbox relay, consumers, sweepers, readiness pings). An admitted request
then never waits for a connection, and its database time stays bounded by the client's operation
timeout (5 s, `mongo.connect`) and a transaction's (10 s, `mongo.in_transaction`); the queue's wait
is short beside the gateway's 30 s read timeout, so the gateway relays a prompt 503, never a 504.
"""

from __future__ import annotations

import asyncio
from collections import deque

import structlog
from fastapi import FastAPI
from motcua.common.settings import ServiceSettings
from prometheus_client import CollectorRegistry, Counter, Gauge
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

log = structlog.get_logger(__name__)

NEVER_HELD = frozenset({"/healthz", "/readyz", "/metrics"})
BACKGROUND_CONNECTIONS = 16  # relay, consumers, sweepers, readiness pings: what runs besides requests
RETRY_AFTER_SECONDS = 2


def pool_size(settings: ServiceSettings) -> int:
    """MongoDB connections for this process: one per admitted request, plus the background loops'."""
    return settings.request_concurrency + BACKGROUND_CONNECTIONS


class Slots:
    """`concurrency` slots and a FIFO queue of at most `queue_size` waiters, each waiting `queue_seconds`."""

    def __init__(self, *, concurrency: int, queue_size: int, queue_seconds: float) -> None:
        self.concurrency = concurrency
        self.queue_size = queue_size
        self.queue_seconds = queue_seconds
        self.in_flight = 0
        self._waiters: deque[asyncio.Future[None]] = deque()

    @property
    def queued(self) -> int:
        return len(self._waiters)

    async def take(self) -> bool:
        """True once a slot is held (release it); False when the queue is full or the wait ran out."""
        if self.in_flight < self.concurrency and not self._waiters:
            self.in_flight += 1
            return True
        if len(self._waiters) >= self.queue_size:
            return False
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            async with asyncio.timeout(self.queue_seconds):  # not `wait_for`: see motcua.common.waiting
                await asyncio.shield(waiter)
        except TimeoutError:
            if waiter.done():
                return True  # handed over just as the wait ran out: keep it
            waiter.cancel()
            self._waiters.remove(waiter)
            return False
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.release()
            else:
                waiter.cancel()
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
            raise
        return True

    def release(self) -> None:
        """Give a slot back: to the longest waiter if there is one."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)  # the slot passes on: in_flight stays the same
                return
        self.in_flight -= 1


class Admission:
    """Pure ASGI middleware, just inside the request-id middleware (so a refusal carries the id)."""

    def __init__(self, app: ASGIApp, *, slots: Slots, registry: CollectorRegistry) -> None:
        self.app = app
        self.slots = slots
        self.refused = Counter(
            "http_requests_shed_total", "Requests refused with 503 because the process was busy", registry=registry
        )
        Gauge("http_requests_in_flight", "Requests being served", registry=registry).set_function(
            lambda: float(slots.in_flight)
        )
        Gauge("http_requests_queued", "Requests waiting for a slot", registry=registry).set_function(
            lambda: float(slots.queued)
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in NEVER_HELD:
            await self.app(scope, receive, send)
            return
        if not await self.slots.take():
            self.refused.inc()
            await _busy(scope, receive, send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self.slots.release()


async def _busy(scope: Scope, receive: Receive, send: Send) -> None:
    from motcua.common.problems import problem  # web imports this module to install it

    response = problem(
        503,
        "Service busy",
        f"This service has more requests than it can serve just now; nothing was done. "
        f"Try again in {RETRY_AFTER_SECONDS} s.",
        request=Request(scope),
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )
    await response(scope, receive, send)


def install(app: FastAPI, settings: ServiceSettings, registry: CollectorRegistry) -> None:
    """Add the middleware; call it before the request-id middleware is added, so that one stays outside."""
    slots = Slots(
        concurrency=settings.request_concurrency,
        queue_size=settings.request_queue_size,
        queue_seconds=settings.request_queue_timeout_seconds,
    )
    app.add_middleware(Admission, slots=slots, registry=registry)
