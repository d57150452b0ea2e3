"""How often a citizen or an address may do something: fixed windows counted in MongoDB, so every
replica of the service counts the same requests."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from motcua.common import counters, mongo
from motcua.common.clock import Clock, now
from motcua.common.errors import TooManyRequests
from motcua.submission.settings import Settings

Scope = Literal["lookup", "draft", "upload", "verify"]


class RateLimited(TooManyRequests):
    title = "Too many requests"


@dataclass(frozen=True)
class Limit:
    requests: int
    window_seconds: int


class RateLimits:
    """The limits of the settings, counted in `counters` by the windows of `clock` (tests freeze it)."""

    def __init__(self, counters: mongo.Collection, settings: Settings, *, clock: Clock = now) -> None:
        self._counters = counters
        self._clock = clock
        self._limits: dict[Scope, Limit] = {
            "lookup": Limit(settings.lookup_limit, settings.lookup_window_seconds),
            "draft": Limit(settings.draft_limit, settings.draft_window_seconds),
            "upload": Limit(settings.upload_limit, settings.upload_window_seconds),
            "verify": Limit(settings.verify_limit, settings.verify_window_seconds),
        }

    async def spend(self, scope: Scope, who: str) -> None:
        """Count one request of `who` in `scope`; RateLimited (429, Retry-After) past its limit per window."""
        limit = self._limits[scope]
        moment = self._clock()
        # Who is stored hashed: an IP address or account id has no business sitting in a counter.
        digest = hashlib.sha256(f"{scope}:{who}".encode()).hexdigest()[:32]
        count, window = await counters.count(
            self._counters, f"{scope}:{digest}", now=moment, seconds=limit.window_seconds, keep=timedelta(seconds=60)
        )
        if count > limit.requests:
            wait = int((window.ends - moment).total_seconds()) + 1
            raise RateLimited(f"Too many requests; try again in {wait} seconds.", retry_after=wait)
