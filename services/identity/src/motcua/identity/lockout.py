"""Attempts at a secret counted in the database, against several keys at once, reserved before the secret is checked.

A sign-in counts against the pair (account, client address) first, so that an attacker from one place does not
lock the owner out from another; against the account only at a far higher count; and against the client address
(an IPv6 /64 as one). A second-factor code counts against the account's own second-factor key, which a correct
password does not reset. Unknown links and refresh tokens (guesses at a secret) count against the address.

Each key has a fixed number of slots in its window. An attempt takes a slot on every key with one conditional
update before anything is verified, so a hundred concurrent guesses get at most that many checks; a success
gives its slots back, a failure keeps them, and the failure that takes a key's last slot locks the key.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import NoReturn

import structlog
from motcua.common import mongo
from motcua.identity import events
from motcua.identity.deps import Identity
from motcua.identity.limits import LockoutPolicy, attempts_left, client_network
from motcua.identity.model import InvalidCredentials, LockedOut

log = structlog.get_logger(__name__)

_RESERVE_TRIES = 3


def address_key(address: str) -> str:
    return f"ip:{client_network(address)}"


def pair_key(account_key: str, address: str) -> str:
    return f"pair:{account_key}:{client_network(address)}"


def second_factor_key(account_id: str) -> str:
    return f"mfa:{account_id}"


async def refuse_if_locked(idn: Identity, keys: list[str], *, second_factor: bool = False) -> None:
    """LockedOut (429) when any of the keys is locked now."""
    now = idn.now()
    found = await idn.store.lockouts(keys)
    waits = [w for w in (lock.retry_after(now) for lock in found.values()) if w is not None]
    if waits:
        raise LockedOut(max(waits), second_factor=second_factor)


@dataclass(frozen=True)
class Attempt:
    """One attempt holding a slot on each of its keys, while its secret is checked."""

    entry: str
    counted: dict[str, int]  # key -> attempts in its window, this one included
    policies: dict[str, LockoutPolicy]
    account_id: str | None  # the account behind the keys, when there is one (for AccountLocked)
    request_id: str | None

    @property
    def left(self) -> int:
        return attempts_left(self.counted, self.policies)


async def _take(idn: Identity, key: str, policy: LockoutPolicy, entry: str, subject: str | None) -> int | None:
    """Take a slot of one key: the attempts counted with it, or None when the key refuses (locked, or full)."""
    for _ in range(_RESERVE_TRIES):
        now = idn.now()
        taken = await idn.store.reserve_attempt(
            key, entry, now=now, limit=policy.threshold, purge_at=now + policy.window + policy.duration, subject=subject
        )
        if taken is not None:
            return taken.recent(now, policy)
        state = (await idn.store.lockouts([key]))[key]
        if state.retry_after(now) is not None:
            return None
        # not locked: slots held by attempts that left the window, or a racing first attempt made the key
        pruned = await idn.store.prune_attempts(key, now - policy.window)
        if not pruned and state.recent(now, policy) >= policy.threshold:
            return None
    return None


async def reserve(
    idn: Identity,
    policies: dict[str, LockoutPolicy],
    *,
    subjects: Mapping[str, str] | None = None,
    account_id: str | None = None,
    request_id: str | None = None,
) -> Attempt:
    """A slot on every key before a secret is checked; LockedOut (429, Retry-After) when a key refuses.
    `subjects` names the account a key counts for, so that a password reset can forget it from any address."""
    entry = uuid.uuid4().hex
    counted: dict[str, int] = {}
    for key, policy in policies.items():
        taken = await _take(idn, key, policy, entry, (subjects or {}).get(key))
        if taken is None:
            await idn.store.release_attempt(list(counted), entry)
            state = (await idn.store.lockouts([key]))[key]
            raise LockedOut(state.wait(idn.now(), policy), second_factor=key.startswith("mfa:"))
        counted[key] = taken
    return Attempt(entry, counted, policies, account_id, request_id)


async def reserve_password_check(
    idn: Identity, account_key: str, address: str, *, account_id: str | None, request_id: str | None
) -> Attempt:
    """A password check (sign-in, or a signed-in change) counts against this account from this address, the
    account (far higher), and the address. `account_key` is `account:<id>`, or `username:<digest>` for none."""
    pair = pair_key(account_key, address)
    keys = {pair: idn.pair_lockout, account_key: idn.account_lockout, address_key(address): idn.address_lockout}
    subjects = {pair: account_key, account_key: account_key}
    return await reserve(idn, keys, subjects=subjects, account_id=account_id, request_id=request_id)


def signed_in(account_id: str, address: str) -> tuple[str, ...]:
    """The counters a full sign-in clears: the account's, from this address, and its second factor's."""
    account_key = f"account:{account_id}"
    return pair_key(account_key, address), account_key, second_factor_key(account_id)


async def succeeded(idn: Identity, attempt: Attempt, *, forget: tuple[str, ...] = ()) -> None:
    """The secret was right: its slots are given back, and the keys in `forget` start again from nothing."""
    if forget:
        await idn.store.forget_lockouts(list(forget))
    await idn.store.release_attempt([key for key in attempt.counted if key not in forget], attempt.entry)


async def failed(idn: Identity, attempt: Attempt) -> int | None:
    """The secret was wrong: its slots stay taken; the keys whose last slot it took are locked. Seconds until
    the longest such lock ends, or None when none was."""
    now = idn.now()
    full = [key for key, n in attempt.counted.items() if n >= attempt.policies[key].threshold]
    if not full:
        return None

    async def work(session: mongo.Session) -> None:
        for key in full:
            until = now + attempt.policies[key].duration
            await idn.store.lock(key, until, session)
            if attempt.account_id is not None and not key.startswith(("ip:", "pair:")):
                event = events.locked(attempt.account_id, until, attempt.policies[key].threshold)
                await idn.outbox.add(session, [event], request_id=attempt.request_id)
                kind = key.split(":")[0]
                log.warning("account_locked", account_id=attempt.account_id, kind=kind, until=until.isoformat())

    await idn.write(work)
    return max(int(attempt.policies[key].duration.total_seconds()) for key in full)


async def refuse_wrong(idn: Identity, attempt: Attempt, detail: str) -> NoReturn:
    """Count a wrong secret: 429 when it locked a key, else 401 saying how many attempts are left."""
    wait = await failed(idn, attempt)
    second_factor = any(key.startswith("mfa:") for key in attempt.counted)
    if wait is not None:
        raise LockedOut(wait, second_factor=second_factor)
    raise InvalidCredentials.with_left(detail, attempt.left, second_factor=second_factor)


async def count_guess(idn: Identity, address: str) -> None:
    """An unknown secret (link, refresh token, challenge) from this address: 429 once the address is locked."""
    log.info("unknown_secret_presented")
    attempt = await reserve(idn, {address_key(address): idn.address_lockout})
    wait = await failed(idn, attempt)
    if wait is not None:
        raise LockedOut(wait)
