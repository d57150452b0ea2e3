"""What the use cases work with (`Identity`), and the FastAPI dependencies that hand it to routes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, TypeVar

from fastapi import Depends, Request
from motcua.common import mongo
from motcua.common.outbox import Outbox
from motcua.common.web import runtime_of
from motcua.identity.keys import Keyring
from motcua.identity.limits import LockoutPolicy, SendPolicy
from motcua.identity.passwords import Hasher
from motcua.identity.sealing import Sealer
from motcua.identity.settings import Settings
from motcua.identity.store import Store
from pymongo.errors import ConnectionFailure

T = TypeVar("T")


@dataclass
class Identity:
    """The running service's parts: settings, database, outbox, password hashing, signing keys, TOTP sealing."""

    settings: Settings
    client: mongo.Client
    store: Store
    outbox: Outbox
    hasher: Hasher
    keyring: Keyring
    sealer: Sealer

    @staticmethod
    def now() -> datetime:
        """The time, to the millisecond MongoDB keeps, so what we answer matches what we store."""
        now = datetime.now(UTC)
        return now.replace(microsecond=now.microsecond // 1000 * 1000)

    async def write(self, work: Callable[[mongo.Session], Awaitable[T]]) -> T:
        """One transaction (retried on transient errors); the relay is told when events were staged."""
        result = await mongo.in_transaction(self.client, work)
        self.outbox.notify()
        return result

    @property
    def account_lockout(self) -> LockoutPolicy:
        s = self.settings
        return LockoutPolicy(
            threshold=s.identity_lockout_threshold,
            window=timedelta(seconds=s.identity_lockout_window_seconds),
            duration=timedelta(seconds=s.identity_lockout_seconds),
        )

    @property
    def address_lockout(self) -> LockoutPolicy:
        return LockoutPolicy(
            threshold=self.settings.identity_ip_lockout_threshold,
            window=self.account_lockout.window,
            duration=self.account_lockout.duration,
        )

    @property
    def sending(self) -> SendPolicy:
        return SendPolicy(
            interval=timedelta(seconds=self.settings.identity_resend_interval_seconds),
            per_hour=self.settings.identity_sends_per_hour,
        )


def identity_of(request: Request) -> Identity:
    identity: Identity | None = runtime_of(request).extras.get("identity")
    if identity is None:
        # Still waiting for the database at start-up: answered as the outage it is (503, nothing saved).
        raise ConnectionFailure("identity is starting")
    return identity


def client_ip(request: Request) -> str:
    """The caller's address; uvicorn's proxy_headers put the gateway's X-Forwarded-For here."""
    return request.client.host if request.client else "unknown"


def request_id(request: Request) -> str | None:
    rid: str | None = getattr(request.state, "request_id", None)
    return rid


IdentityDep = Annotated[Identity, Depends(identity_of)]
ClientIp = Annotated[str, Depends(client_ip)]
RequestId = Annotated[str | None, Depends(request_id)]
