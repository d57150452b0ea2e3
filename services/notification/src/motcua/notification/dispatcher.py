"""The dispatcher: claims pending deliveries, sends them outside any transaction, settles them.

One lane per channel (a slow SMS gateway never holds up email). A lane claims a batch (pending →
sending, attempts + 1, under a lease), sends, then settles the whole batch in one transaction with
the NotificationSent / NotificationFailed events. A delivery found `sending` with its lease run out
was interrupted by a crash: if it was marked handed over, it may have gone out, so it is settled
`unknown`, never resent; if not, nothing of it reached the provider and it is simply due again.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

import structlog
from motcua.common.outbox import Outbox
from motcua.common.waiting import set_within
from motcua.notification import model, settling
from motcua.notification.deliveries import Delivery
from motcua.notification.model import (
    AmbiguousSendError,
    ExpiredBeforeSending,
    ProviderDown,
    RetryableSendError,
    SendError,
)
from motcua.notification.senders import HandOver, Sender
from motcua.notification.settings import Settings
from motcua.notification.store import HandOvers, Store
from pymongo.errors import PyMongoError

log = structlog.get_logger(__name__)


@dataclass
class Attempt:
    delivery: Delivery
    error: SendError | None = None
    answer: str = ""
    ours: bool = True  # False: taken over by another claim meanwhile, not ours to settle


@dataclass
class _Batch:
    """What a lane knows of the batch it is sending: its claim, the deliveries the claim still holds, when
    the lease was last renewed, and whether the provider was found down (the rest then waits)."""

    token: str
    held: set[str]
    renewed: float = field(default_factory=time.monotonic)
    down: ProviderDown | None = None


class Dispatcher:
    """Runs one lane per sender and the recovery of abandoned sends."""

    def __init__(
        self, store: Store, outbox: Outbox, settings: Settings, senders: list[Sender], hand_overs: HandOvers
    ) -> None:
        self._store = store
        self._hand_overs = hand_overs
        self._outbox = outbox
        self._settings = settings
        self._policy = model.RetryPolicy(
            settings.delivery_max_attempts,
            settings.delivery_retry_backoff_seconds,
            settings.delivery_retry_backoff_max_seconds,
        )
        self.senders = senders
        self._wake = {s.channel: asyncio.Event() for s in senders}
        self._stopping = asyncio.Event()
        self._running = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._beats: dict[str, float] = {}
        # claims whose batch this process is sending or settling: its own recovery leaves them alone
        # (it knows what went out, even when a hand-over mark was lost with a database going away)
        self._in_hand: set[str] = set()

    @property
    def healthy(self) -> bool:
        """Every lane went round recently (a lane waits at most the idle poll between rounds)."""
        horizon = max(30.0, 3 * self._settings.delivery_lease_seconds)
        now = time.monotonic()
        return bool(self._beats) and all(now - beat < horizon for beat in self._beats.values())

    def wake(self) -> None:
        """New deliveries were committed: look now rather than at the next poll."""
        for event in self._wake.values():
            event.set()

    async def run(self) -> None:
        """Until `stop()`: the lanes and the recovery of abandoned sends."""
        self._running = len(self.senders) + 1
        self._idle.clear()
        await asyncio.gather(self._recovery(), *(self._lane(s) for s in self.senders))

    async def stop(self, timeout: float = 10.0) -> None:
        """Finish and settle the batches in hand (for at most `timeout` seconds), then close the providers."""
        self._stopping.set()
        self.wake()
        if not await set_within(self._idle, timeout):
            log.warning("dispatcher_stopped_mid_batch")  # what is in flight stays `sending`, then `unknown`
        for sender in self.senders:
            try:
                await sender.close()
            except Exception:
                log.exception("sender_close_failed", channel=sender.channel)
        await self._hand_overs.close()

    async def _lane(self, sender: Sender) -> None:
        try:
            while not self._stopping.is_set():
                self._beats[sender.channel] = time.monotonic()
                try:
                    done = await self._round(sender)
                except PyMongoError as exc:
                    log.warning("dispatch_database_trouble", channel=sender.channel, error=str(exc))
                    done = 0
                    await self._pause(sender.channel, 1.0)
                except Exception:  # keep the lane alive; a claimed batch left unsettled ends `unknown`
                    log.exception("dispatch_round_crashed", channel=sender.channel)
                    done = 0
                    await self._pause(sender.channel, 1.0)
                if done == 0:
                    if await self._pause(sender.channel, self._settings.dispatch_idle_poll_seconds):
                        # woken by new work: let more of it gather, since every round costs a claim and a
                        # settling transaction whatever its size (a burst then goes in few large rounds)
                        await asyncio.sleep(self._settings.dispatch_linger_seconds)
                elif done < self._settings.dispatch_batch_size:
                    # let work gather: each round costs a claim and a settling transaction, whatever its size
                    await asyncio.sleep(self._settings.dispatch_linger_seconds)
        finally:
            self._left()

    async def _pause(self, channel: str, seconds: float) -> bool:
        """Wait up to `seconds` for new work; True when woken by it."""
        wake = self._wake[channel]
        woken = await set_within(wake, seconds)
        wake.clear()
        return woken

    async def _round(self, sender: Sender) -> int:
        token = uuid.uuid4().hex
        s = self._settings
        batch = await self._store.claim(
            channel=sender.channel,
            token=token,
            limit=s.dispatch_batch_size,
            lease_seconds=s.delivery_lease_seconds,
            now=datetime.now(UTC),
        )
        if not batch:
            return 0
        self._in_hand.add(token)
        try:
            attempts = await self._send_all(sender, batch, token)
            await self._settle(attempts)
        finally:
            self._in_hand.discard(token)
        return len(batch)

    async def _send_all(self, sender: Sender, batch: list[Delivery], token: str) -> list[Attempt]:
        """Send a claimed batch, at most `sender.concurrency` at a time; the claim is kept alive meanwhile."""
        state = _Batch(token, {d.id for d in batch})
        gate = asyncio.Semaphore(sender.concurrency)
        renewing = asyncio.Lock()

        async def one(delivery: Delivery) -> Attempt:
            async with gate:
                async with renewing:
                    await self._keep_claim(sender, state)
                try:
                    return await self._attempt(sender, delivery, state)
                except Exception as exc:  # a bug met mid-attempt: this one may be out, the rest of the batch goes on
                    log.exception("delivery_attempt_crashed", delivery_id=delivery.id, channel=sender.channel)
                    return Attempt(delivery, AmbiguousSendError(f"unexpected error: {type(exc).__name__}"))

        return list(await asyncio.gather(*(one(d) for d in batch)))

    async def _keep_claim(self, sender: Sender, batch: _Batch) -> None:
        """A long batch renews its lease every third of it, and learns which deliveries it still holds."""
        lease = self._settings.delivery_lease_seconds
        if time.monotonic() - batch.renewed <= lease / 3:
            return
        try:
            batch.held = await self._store.extend_lease(token=batch.token, lease_seconds=lease)
            batch.renewed = time.monotonic()
        except PyMongoError as exc:  # keep the batch: what it sent must still be settled
            log.warning("dispatch_lease_not_renewed", channel=sender.channel, error=str(exc))

    async def _attempt(self, sender: Sender, delivery: Delivery, batch: _Batch) -> Attempt:
        """One delivery of the batch: skipped when no longer ours, held back when the provider is down or
        the message expired, otherwise sent with its hand-over marked and the mark confirmed."""
        if delivery.id not in batch.held:
            return Attempt(delivery, ours=False)
        if batch.down is not None:
            return Attempt(delivery, ProviderDown(batch.down.answer))
        now = datetime.now(UTC)
        if model.is_expired(delivery.expires_at, now):
            return Attempt(delivery, ExpiredBeforeSending("expired before it could be sent"))
        confirmations: list[asyncio.Task[bool]] = []
        try:
            hand_over = self._hand_over(delivery, batch.token, now, confirmations)
            attempt = await self._sent(sender, delivery, now, hand_over)
        finally:
            for confirmation in confirmations:
                await self._confirm(confirmation, delivery, batch.token, now)
        if isinstance(attempt.error, ProviderDown):
            batch.down = attempt.error  # the rest of the batch waits for the next round
        return attempt

    def _hand_over(
        self, delivery: Delivery, token: str, now: datetime, confirmations: list[asyncio.Task[bool]]
    ) -> HandOver:
        """The sender's hand-over call: the mark goes on its way; its answer is confirmed after the send."""

        async def hand_over() -> None:
            try:
                confirmations.append(await self._hand_overs.record(delivery_id=delivery.id, token=token, now=now))
            except PyMongoError as exc:  # unmarked, so the provider must not get it: tried again later
                reason = f"not handed over, the database is away: {type(exc).__name__}"
                raise RetryableSendError(reason) from exc

        return hand_over

    async def _sent(self, sender: Sender, delivery: Delivery, now: datetime, hand_over: HandOver) -> Attempt:
        """One send, its outcome classified."""
        try:
            return Attempt(delivery, answer=await sender.send(delivery, now=now, hand_over=hand_over))
        except SendError as exc:
            return Attempt(delivery, exc)
        except Exception as exc:  # a bug, not the provider: whether it went out is unknown
            log.exception("delivery_send_crashed", delivery_id=delivery.id, channel=sender.channel)
            return Attempt(delivery, AmbiguousSendError(f"unexpected error: {type(exc).__name__}"))

    async def _confirm(self, confirmation: asyncio.Task[bool], delivery: Delivery, token: str, now: datetime) -> None:
        """The hand-over mark's answer. Refused or lost, it is written again at once: the message may be
        with the provider, and only the mark keeps a crash from sending it twice."""
        for attempt in range(4):
            try:
                async with asyncio.timeout(10):  # the mark's client has no operation timeout of its own
                    if attempt == 0:
                        marked = await confirmation
                    else:
                        marked = await self._hand_overs.mark(delivery_id=delivery.id, token=token, now=now)
            except (PyMongoError, TimeoutError) as exc:
                log.warning("hand_over_mark_retrying", delivery_id=delivery.id, error=str(exc))
                await asyncio.sleep(0.2 * 2**attempt)
                continue
            if not marked:
                log.warning("hand_over_mark_not_ours", delivery_id=delivery.id)  # settling finds it so too
            return
        log.error("hand_over_mark_lost", delivery_id=delivery.id)  # settling still records what happened

    async def _settle(self, attempts: list[Attempt]) -> None:
        """Record every outcome of a batch and its final events in one transaction, retried for as long as
        the database is away: the messages went out and only this process knows it for sure (a hand-over
        mark written as the database went away may be lost), so it never gives up while it runs."""
        mine = [a for a in attempts if a.ours]
        now = datetime.now(UTC)
        moves = [a.delivery.settled(a.error, answer=a.answer, policy=self._policy, now=now) for a in mine]
        waits = (0.5, 1.0, 2.0, 4.0, 8.0, 15.0)
        tries = 0
        while True:
            try:
                await settling.commit(self._store, self._outbox, moves)
                break
            except PyMongoError as exc:
                if self._stopping.is_set():
                    ids = [m.delivery.id for m in moves]
                    log.error("dispatch_settle_abandoned", deliveries=ids, error=str(exc))
                    return
                log.warning("dispatch_settle_retrying", error=str(exc), tries=tries + 1)
                await asyncio.sleep(waits[min(tries, len(waits) - 1)])
                tries += 1
        self._outbox.notify()
        for a in mine:
            self._log(a)

    async def _recovery(self) -> None:
        every = min(self._settings.delivery_lease_seconds / 2, 30.0)
        try:
            while not self._stopping.is_set():
                try:
                    await self._recover_abandoned()
                except PyMongoError as exc:
                    log.warning("recovery_database_trouble", error=str(exc))
                await set_within(self._stopping, every)
        finally:
            self._left()

    async def _recover_abandoned(self) -> None:
        found = await self._store.abandoned(now=datetime.now(UTC))
        stuck = [d for d in found if d.claim not in self._in_hand]
        if not stuck:
            return
        now = datetime.now(UTC)
        moves = [d.abandoned(now) for d in stuck]
        await settling.commit(self._store, self._outbox, moves)
        self._outbox.notify()
        for m in moves:
            if m.final:
                log.warning(
                    "delivery_outcome_unknown",
                    delivery_id=m.delivery.id,
                    channel=m.delivery.channel,
                    event_id=m.delivery.cause_event_id,
                )

    def _left(self) -> None:
        self._running -= 1
        if self._running == 0:
            self._idle.set()

    @staticmethod
    def _log(a: Attempt) -> None:
        d = a.delivery
        fields = {"delivery_id": d.id, "channel": d.channel, "event_id": d.cause_event_id, "attempts": d.attempts}
        if a.error is None:
            log.info("delivery_sent", **fields)
        else:
            log.warning("delivery_attempt_failed", error_kind=type(a.error).__name__, answer=a.error.answer, **fields)
