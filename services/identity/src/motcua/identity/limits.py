"""How often things may happen: sign-in lockout and message sending. Pure rules over stored timestamps."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta


def seconds_until(moment: datetime, now: datetime) -> int:
    """Whole seconds from `now` until `moment` (at least 1), for Retry-After."""
    return max(1, math.ceil((moment - now).total_seconds()))


@dataclass(frozen=True)
class LockoutPolicy:
    """`threshold` failures within `window` lock for `duration`."""

    threshold: int
    window: timedelta
    duration: timedelta


@dataclass(frozen=True)
class Lockout:
    """The failures counted against one key (an account, a username or a client address)."""

    failures: tuple[datetime, ...] = ()
    locked_until: datetime | None = None

    def retry_after(self, now: datetime) -> int | None:
        """Seconds until the lock ends, or None when not locked."""
        if self.locked_until is None or self.locked_until <= now:
            return None
        return seconds_until(self.locked_until, now)

    def after_failure(self, now: datetime, policy: LockoutPolicy) -> Lockout:
        """One more failure: old ones fall out of the window; reaching the threshold locks."""
        recent = (*(t for t in self.failures if t > now - policy.window), now)
        if len(recent) >= policy.threshold:
            return Lockout(failures=(), locked_until=now + policy.duration)
        locked = self.locked_until if self.locked_until and self.locked_until > now else None
        return Lockout(failures=recent, locked_until=locked)

    def newly_locked(self, before: Lockout, now: datetime) -> bool:
        return self.retry_after(now) is not None and before.retry_after(now) is None


@dataclass(frozen=True)
class SendPolicy:
    """At most one message per `interval`, and `per_hour` in any hour."""

    interval: timedelta
    per_hour: int

    def wait(self, sent: list[datetime], now: datetime) -> int:
        """Seconds to wait before the next message may go (0: now)."""
        hour_ago = now - timedelta(hours=1)
        recent = sorted(t for t in sent if t > hour_ago)
        waits = [0]
        if recent and recent[-1] + self.interval > now:
            waits.append(seconds_until(recent[-1] + self.interval, now))
        if len(recent) >= self.per_hour:
            waits.append(seconds_until(recent[len(recent) - self.per_hour] + timedelta(hours=1), now))
        return max(waits)

    def record(self, sent: list[datetime], now: datetime) -> list[datetime]:
        """The send times to keep after sending now (only the last hour matters)."""
        hour_ago = now - timedelta(hours=1)
        return [*sorted(t for t in sent if t > hour_ago), now]
