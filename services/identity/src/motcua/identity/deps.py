"""What the identity service is made of (`Identity`, what its use cases work with), and the dependency that
hands it to routes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Annotated, TypeVar

from fastapi import Depends, Request
from motcua.common import clock, mongo
from motcua.common.outbox import Outbox
from motcua.common.runtime import parts_of
from motcua.common.sealing import EventSealer
from motcua.identity.factor_store import FactorStore
from motcua.identity.keys import Keyring
from motcua.identity.limits import LockoutPolicy, SendPolicy
from motcua.identity.passwords import Hasher
from motcua.identity.sealing import Sealer
from motcua.identity.settings import Settings
from motcua.identity.store import Store

T = TypeVar("T")


@dataclass
class Identity:
    """The running service's parts, built once in app.py's lifespan: settings, database, outbox, password
    hashing, signing keys, TOTP sealing, the sealing of the secrets its events carry to notification, passkeys."""

    settings: Settings
    client: mongo.Client
    store: Store
    outbox: Outbox
    hasher: Hasher
    keyring: Keyring
    sealer: Sealer
    event_sealer: EventSealer
    factors: FactorStore

    # The time, to the millisecond MongoDB keeps, so what we answer matches what we store.
    now = staticmethod(clock.now)

    async def write(self, work: Callable[[mongo.Session], Awaitable[T]]) -> T:
        """One transaction (retried on transient errors); the relay is told when events were staged."""
        result = await mongo.in_transaction(self.client, work)
        self.outbox.notify()
        return result

    @property
    def pair_lockout(self) -> LockoutPolicy:
        """Failed sign-ins on one account from one client address."""
        s = self.settings
        return LockoutPolicy(
            threshold=s.identity_lockout_threshold,
            window=timedelta(seconds=s.identity_lockout_window_seconds),
            duration=timedelta(seconds=s.identity_lockout_seconds),
        )

    @property
    def account_lockout(self) -> LockoutPolicy:
        """Failed sign-ins on one account from anywhere: far more than from one place."""
        return replace(self.pair_lockout, threshold=self.settings.identity_account_lockout_threshold)

    @property
    def address_lockout(self) -> LockoutPolicy:
        return replace(self.pair_lockout, threshold=self.settings.identity_ip_lockout_threshold)

    @property
    def second_factor_lockout(self) -> LockoutPolicy:
        s = self.settings
        return LockoutPolicy(
            threshold=s.identity_mfa_lockout_threshold,
            window=timedelta(seconds=s.identity_mfa_lockout_window_seconds),
            duration=timedelta(seconds=s.identity_mfa_lockout_seconds),
        )

    @property
    def sending(self) -> SendPolicy:
        return SendPolicy(
            interval=timedelta(seconds=self.settings.identity_resend_interval_seconds),
            per_hour=self.settings.identity_sends_per_hour,
        )


async def _identity(request: Request) -> Identity:
    return parts_of(request, Identity)


IdentityDep = Annotated[Identity, Depends(_identity)]
