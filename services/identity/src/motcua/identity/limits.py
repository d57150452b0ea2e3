"""How often things may happen: sign-in lockout and message sending. Pure rules over stored timestamps."""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

# An IPv6 subscriber is given a whole /64: addresses inside it are one client, or rotating them beats every limit.
IPV6_CLIENT_PREFIX = 64


def client_network(address: str) -> str:
    """The client an address stands for in per-address limits: an IPv4 address itself, an IPv6 address's /64."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address  # "unknown", or a test client's name: counted as given
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{ip}/{IPV6_CLIENT_PREFIX}", strict=False))
    return str(ip)


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

    def recent(self, now: datetime, policy: LockoutPolicy) -> int:
        """Failures (and attempts still being checked) inside the policy's window."""
        return sum(1 for t in self.failures if t > now - policy.window)

    def wait(self, now: datetime, policy: LockoutPolicy) -> int:
        """Seconds before an attempt refused on this key may be made: the lock's end, or (every slot of the
        window taken by attempts still being checked) until the oldest of them leaves the window."""
        locked = self.retry_after(now)
        if locked is not None:
            return locked
        recent = sorted(t for t in self.failures if t > now - policy.window)
        return seconds_until(recent[0] + policy.window, now) if recent else 1


def attempts_left(counted: dict[str, int], policies: dict[str, LockoutPolicy]) -> int:
    """How many more failures the tightest key allows, given each key's attempts (this one included)."""
    return max(0, min(policies[key].threshold - n for key, n in counted.items()))


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
