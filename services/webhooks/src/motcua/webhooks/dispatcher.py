"""Delivery: one lane per subscriber, each with its own position in its own queue, its own connection
pool, its own concurrency and its own circuit breaker, so a slow or dead subscriber never delays another.

A lane takes the due deliveries of its subscriber, oldest first, one dossier at a time: a delivery is
attempted only when no earlier event of its dossier is still waiting or in flight, so each dossier's
events arrive in order however many retries it takes. Claims are conditional updates with a lease, so
replicas share the work without sending one delivery twice at once; a lease that lapses (a replica died
mid-attempt) makes the delivery due again. No database transaction is held across a network call.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import structlog
from motcua.common.waiting import set_within
from motcua.webhooks import sending
from motcua.webhooks.addresses import Policy
from motcua.webhooks.model import Attempt, Breaker, Key, RetryPolicy, SubscriptionStatus, signing_keys
from motcua.webhooks.sealing import Sealer, UnreadableSecret
from motcua.webhooks.settings import Settings
from motcua.webhooks.store import Store
from prometheus_client import CollectorRegistry, Counter, Histogram
from pymongo.errors import PyMongoError

log = structlog.get_logger(__name__)

Doc = dict[str, Any]


class Metrics:
    def __init__(self, registry: CollectorRegistry | None) -> None:
        self.attempts = Counter("webhook_attempts_total", "Delivery attempts", ["outcome"], registry=registry)
        self.lag = Histogram(
            "webhook_delivery_lag_seconds",
            "From an event's time to its successful delivery",
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 60, 600, 3600, 86400),
            registry=registry,
        )
        self.shelved = Counter("webhook_dead_letters_total", "Deliveries put on a dead-letter shelf", registry=registry)


@dataclass(frozen=True)
class Target:
    """What a lane needs of its subscription; a change of any of it restarts the lane."""

    id: str
    url: str
    paused: bool
    keys: tuple[Key, ...]


def _first_of_each_dossier(candidates: list[Doc]) -> list[Doc]:
    """The earliest candidate of each dossier, in the order they are due."""
    first: dict[str, Doc] = {}
    for doc in candidates:
        seen = first.get(doc["subject"])
        if seen is None or doc["seq"] < seen["seq"]:
            first[doc["subject"]] = doc
    return sorted(first.values(), key=lambda d: (d["next_attempt_at"], d["seq"]))


class Lane:
    """One subscriber's deliveries from this replica."""

    def __init__(self, target: Target, dispatcher: Dispatcher) -> None:
        self.target = target
        self._d = dispatcher
        s = dispatcher.settings
        self.breaker = Breaker(
            s.webhooks_breaker_failures, s.webhooks_breaker_cooldown_seconds, s.webhooks_breaker_max_cooldown_seconds
        )
        self.http: httpx.AsyncClient = sending.client(
            policy=dispatcher.policy,
            context=dispatcher.context,
            connections=s.webhooks_concurrency_per_subscriber,
            timeout=s.webhooks_timeout_seconds,
        )
        self._wake = asyncio.Event()
        self._stopping = False
        self._in_flight: dict[str, asyncio.Task[None]] = {}  # dossier → its attempt
        self._task: asyncio.Task[None] | None = None
        self._leases_checked = 0.0

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"webhook-lane-{self.target.id}")

    def wake(self) -> None:
        self._wake.set()

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            await asyncio.wait({self._task}, timeout=self._d.settings.webhooks_timeout_seconds + 1)
            if not self._task.done():
                self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self.http.aclose()

    def _capacity(self) -> int:
        # a troubled subscriber gets one attempt at a time until one succeeds
        return 1 if self.breaker.troubled else self._d.settings.webhooks_concurrency_per_subscriber

    async def _run(self) -> None:
        bound = structlog.contextvars.bound_contextvars(subscription_id=self.target.id)
        with bound:
            while not self._stopping:
                try:
                    pause = await self._round()
                except PyMongoError as exc:
                    log.warning("webhook_lane_database_trouble", error=str(exc))
                    pause = 1.0
                except Exception:
                    log.exception("webhook_lane_failed")
                    pause = 1.0
                if pause > 0 and not self._stopping:
                    self._wake.clear()
                    await set_within(self._wake, pause)
            if self._in_flight:
                await asyncio.wait(list(self._in_flight.values()), timeout=self._d.settings.webhooks_timeout_seconds)

    async def _round(self) -> float:
        """Start what may start now; how long to wait before looking again (a wake-up cuts it short)."""
        s = self._d.settings
        idle = s.webhooks_idle_poll_seconds
        if self.target.paused:
            return s.webhooks_refresh_seconds
        mono = time.monotonic()
        if not self.breaker.allows(mono):
            return min(idle * 5, self.breaker.open_until - mono)
        now = datetime.now(UTC)
        if mono - self._leases_checked > s.webhooks_lease_seconds / 3:
            self._leases_checked = mono
            await self._d.store.release_lapsed_leases(self.target.id, now)
        free = self._capacity() - len(self._in_flight)
        if free <= 0:
            return idle
        candidates = await self._d.store.due(self.target.id, now, busy=self._in_flight, limit=free * 4 + 8)
        heads = _first_of_each_dossier(candidates)
        started = 0
        for doc in heads:
            if started >= free:
                break
            if await self._start(doc, now):
                started += 1
        if started:
            return 0.0
        if candidates or self._in_flight:
            # due ones wait behind an earlier event of their dossier (here or at another replica), or
            # another replica took them: look again when an attempt here ends, or after the idle pause
            return idle
        next_at = await self._d.store.next_due_at(self.target.id)
        if next_at is None:
            return idle
        return max(0.0, min(idle, (next_at - datetime.now(UTC)).total_seconds()))

    async def _start(self, doc: Doc, now: datetime) -> bool:
        """Claim and send `doc` if no earlier event of its dossier is still open; whether it started."""
        if await self._d.store.has_earlier_open(doc):
            return False
        claimed = await self._d.store.claim(doc["_id"], now, timedelta(seconds=self._d.settings.webhooks_lease_seconds))
        if claimed is None:
            return False
        subject: str = claimed["subject"]
        task = asyncio.create_task(self._deliver(claimed), name=f"webhook-{claimed['_id']}")
        self._in_flight[subject] = task
        task.add_done_callback(lambda _task: self._done(subject))
        return True

    def _done(self, subject: str) -> None:
        self._in_flight.pop(subject, None)
        self._wake.set()

    async def _deliver(self, delivery: Doc) -> None:
        with structlog.contextvars.bound_contextvars(delivery_id=delivery["_id"], event_id=delivery["event_id"]):
            try:
                await self._attempt_and_settle(delivery)
            except PyMongoError as exc:  # the lease lapses and the delivery is due again
                log.warning("webhook_settle_failed", error=str(exc))
            except Exception:
                log.exception("webhook_delivery_crashed")

    async def _attempt_and_settle(self, delivery: Doc) -> None:
        d = self._d
        now = datetime.now(UTC)
        if d.retry.expired(delivery["arrived_at"], now):
            await d.store.shelve(delivery, None, "not delivered in time", now, d.keep_dead)
            d.metrics.shelved.inc()
            log.warning("webhook_shelved", reason="expired", attempts=delivery.get("attempt_count", 0))
            return
        secrets = [k.secret for k in signing_keys(self.target.keys, now)]
        headers = sending.signature_headers(delivery["event_id"], delivery["body"], secrets, now)
        async with d.slots:
            outcome = await sending.attempt(
                self.http, self.target.url, delivery["body"], headers, d.settings.webhooks_timeout_seconds
            )
        d.metrics.attempts.labels(outcome.outcome).inc()
        mono = time.monotonic()
        if outcome.ok:
            self.breaker.succeeded()
            await d.store.delivered(delivery, outcome, d.keep_delivered)
            lag = (outcome.at - delivery["event_time"]).total_seconds() if delivery.get("event_time") else None
            if lag is not None and delivery.get("replay_id") is None:
                d.metrics.lag.observe(max(0.0, lag))
            log.info(
                "webhook_delivered",
                status_code=outcome.status_code,
                ms=outcome.latency_ms,
                attempt=delivery.get("attempt_count", 0) + 1,
            )
            return
        self.breaker.failed(mono)
        await self._failed(delivery, outcome)

    async def _failed(self, delivery: Doc, outcome: Attempt) -> None:
        d = self._d
        number = delivery.get("attempt_count", 0) + 1
        at = d.retry.next_attempt(attempt=number, arrived_at=delivery["arrived_at"], now=outcome.at, rand=d.rand)
        log.warning(
            "webhook_attempt_failed",
            outcome=outcome.outcome,
            status_code=outcome.status_code,
            error=outcome.error,
            attempt=number,
            circuit=self.breaker.state,
        )
        if at is None:
            await d.store.shelve(delivery, outcome, f"failed {number} attempts", outcome.at, d.keep_dead)
            d.metrics.shelved.inc()
            log.warning("webhook_shelved", reason="attempts exhausted", attempts=number)
        else:
            await d.store.retry_later(delivery, outcome, at)


class Dispatcher:
    """Keeps one lane per subscription in step with the database, and wakes them when events arrive."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        sealer: Sealer,
        *,
        registry: CollectorRegistry | None = None,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.store = store
        self.settings = settings
        self.sealer = sealer
        self.rand = rand
        self.policy = Policy(development=settings.development, allowed=settings.allowed_networks)
        self.context = sending.ssl_context(settings.webhooks_ca_file)
        self.retry = RetryPolicy(
            settings.webhooks_retry_base_seconds,
            settings.webhooks_retry_max_delay_seconds,
            settings.webhooks_retry_for_seconds,
        )
        self.keep_delivered = timedelta(seconds=settings.webhooks_keep_delivered_seconds)
        self.keep_dead = timedelta(seconds=settings.webhooks_keep_dead_letters_seconds)
        self.slots = asyncio.Semaphore(settings.webhooks_concurrency)
        self.metrics = Metrics(registry)
        self.lanes: dict[str, Lane] = {}
        self._refresh = asyncio.Event()
        self._stopping = False
        self.last_loop = 0.0
        self._swept = 0.0
        self._stopping_lanes: set[asyncio.Task[None]] = set()

    @property
    def healthy(self) -> bool:
        return time.monotonic() - self.last_loop < max(30.0, 5 * self.settings.webhooks_refresh_seconds)

    def wake(self) -> None:
        """Events were queued: every lane looks now rather than at its next poll."""
        for lane in self.lanes.values():
            lane.wake()

    def changed(self) -> None:
        """A subscription was created, changed or deleted here: refresh the lanes now."""
        self._refresh.set()

    def lane_state(self, subscription_id: str) -> str | None:
        lane = self.lanes.get(subscription_id)
        return lane.breaker.state if lane else None

    async def run(self) -> None:
        while not self._stopping:
            try:
                await self._sync()
                await self._sweep()
                self.last_loop = time.monotonic()
            except PyMongoError as exc:
                log.warning("webhook_dispatcher_database_trouble", error=str(exc))
            self._refresh.clear()
            await set_within(self._refresh, self.settings.webhooks_refresh_seconds)

    async def stop(self) -> None:
        self._stopping = True
        self._refresh.set()
        await asyncio.gather(
            *(lane.stop() for lane in self.lanes.values()), *self._stopping_lanes, return_exceptions=True
        )
        self.lanes.clear()

    def _target(self, doc: Doc) -> Target | None:
        try:
            keys = tuple(
                Key(self.sealer.open(k["sealed"], doc["_id"]), k["created_at"], k.get("expires_at"))
                for k in doc.get("keys", [])
            )
        except UnreadableSecret as exc:
            log.error("webhook_secret_unreadable", subscription_id=doc["_id"], error=str(exc))
            return None
        return Target(doc["_id"], doc["url"], doc["status"] == SubscriptionStatus.PAUSED.value, keys)

    async def _sync(self) -> None:
        wanted = {}
        for doc in await self.store.all_subscriptions():
            target = self._target(doc)
            if target is not None:
                wanted[target.id] = target
        for sid in [sid for sid, lane in self.lanes.items() if wanted.get(sid) != lane.target]:
            # stopped in the background (it finishes its attempts in flight): a slow subscriber's lane
            # never holds up the others' refresh; its claimed deliveries keep the new lane from overtaking
            stopping = asyncio.create_task(self.lanes.pop(sid).stop())
            self._stopping_lanes.add(stopping)
            stopping.add_done_callback(self._stopping_lanes.discard)
        for sid, target in wanted.items():
            if sid not in self.lanes:
                lane = Lane(target, self)
                self.lanes[sid] = lane
                lane.start()

    async def _sweep(self) -> None:
        mono = time.monotonic()
        if mono - self._swept < 60:
            return
        self._swept = mono
        now = datetime.now(UTC)
        shelved = await self.store.shelve_expired(
            now - timedelta(seconds=self.settings.webhooks_retry_for_seconds), now, self.keep_dead
        )
        if shelved:
            self.metrics.shelved.inc(shelved)
            log.warning("webhook_expired_shelved", deliveries=shelved)
