"""Rate limit per client address: a token bucket each, in this replica's memory.

Each gateway replica counts on its own, so N replicas admit up to N times the rate; the limit is a
coarse shield against floods, while the limits that matter for secrets (sign-in, codes, resends)
live in the services and are shared through MongoDB. Probes and metrics are never limited.

Reads of the web portal's files draw on a second, larger bucket of the same address: a first visit
fetches about thirty files (a repeat visit revalidates as many), which would otherwise spend a third
of the API's burst before the citizen did anything, and many phones share one carrier address
(CGNAT). They stay limited because the gateway serves (and compresses) them with its own CPU.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from dataclasses import dataclass

import structlog
from motcua.common.problems import problem
from motcua.gateway import routes
from prometheus_client import CollectorRegistry, Counter
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

log = structlog.get_logger(__name__)

UNLIMITED_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


@dataclass
class Bucket:
    tokens: float
    updated: float


class TokenBuckets:
    """`rate` tokens a second up to `burst` per key; the least recently seen keys go past `max_keys`."""

    def __init__(self, *, rate: float, burst: int, max_keys: int) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, Bucket] = OrderedDict()

    def take(self, key: str, now: float | None = None) -> float:
        """0 when a token was taken; otherwise the seconds until the next one."""
        now = time.monotonic() if now is None else now
        bucket = self._buckets.pop(key, None)
        if bucket is None:
            bucket = Bucket(tokens=self.burst, updated=now)
        else:
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
            bucket.updated = now
        self._buckets[key] = bucket
        while len(self._buckets) > self.max_keys:
            # a bucket unused for longest is the likeliest to be full again: forgetting it costs nothing
            self._buckets.popitem(last=False)
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / self.rate

    def __len__(self) -> int:
        return len(self._buckets)


def client_address(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


class RateLimit:
    """Pure ASGI middleware: 429 problem details with Retry-After once a client's bucket is empty.

    `buckets` counts the API (and everything else); `portal_buckets` the reads of the portal's files.
    """

    def __init__(
        self, app: ASGIApp, *, buckets: TokenBuckets, portal_buckets: TokenBuckets, registry: CollectorRegistry
    ) -> None:
        self.app = app
        self.buckets = buckets
        self.portal_buckets = portal_buckets
        self.refused = Counter(
            "gateway_rate_limited_total", "Requests refused by the per-client rate limit", registry=registry
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in UNLIMITED_PATHS:
            await self.app(scope, receive, send)
            return
        portal = routes.is_portal_request(scope["method"], scope["path"])
        wait = (self.portal_buckets if portal else self.buckets).take(client_address(scope))
        if wait <= 0:
            await self.app(scope, receive, send)
            return
        self.refused.inc()
        retry_after = max(1, math.ceil(wait))
        log.warning("rate_limited", client=client_address(scope), retry_after=retry_after)
        response = problem(
            429,
            "Too many requests",
            f"Too many requests from your address; try again in {retry_after} s.",
            request=Request(scope),
            headers={"Retry-After": str(retry_after)},
        )
        await response(scope, receive, send)
