"""Failed attempts counted in the database, per account (or username) and per client address.

Wrong passwords and two-factor codes count against both; unknown links and refresh tokens (guesses
at a secret) count against the address. Reaching a threshold locks the key for a while.
"""

from __future__ import annotations

import structlog
from motcua.common import mongo
from motcua.identity import events
from motcua.identity.deps import Identity
from motcua.identity.limits import Lockout, LockoutPolicy
from motcua.identity.model import LockedOut

log = structlog.get_logger(__name__)


def address_key(address: str) -> str:
    return f"ip:{address}"


async def refuse_if_locked(idn: Identity, keys: list[str]) -> dict[str, Lockout]:
    """The keys' current lockouts; LockedOut (429) when any of them is locked now."""
    now = idn.now()
    found = await idn.store.lockouts(keys)
    waits = [w for w in (lock.retry_after(now) for lock in found.values()) if w is not None]
    if waits:
        raise LockedOut(max(waits))
    return found


async def record_failure(
    idn: Identity,
    address: str,
    *,
    account_key: str | None = None,
    account_id: str | None = None,
    request_id: str | None = None,
) -> int | None:
    """Count one failure; seconds until retry when it locked a key, else None. AccountLocked goes out once."""
    now = idn.now()
    policies: dict[str, LockoutPolicy] = {address_key(address): idn.address_lockout}
    if account_key is not None:
        policies[account_key] = idn.account_lockout
    purge_at = now + idn.account_lockout.window + idn.account_lockout.duration

    async def work(session: mongo.Session) -> int | None:
        before = await idn.store.lockouts(list(policies), session=session)
        after = {key: before[key].after_failure(now, policy) for key, policy in policies.items()}
        for key, lockout in after.items():
            await idn.store.save_lockout(key, lockout, purge_at, session)
        if account_key is not None and account_id is not None:
            locked = after[account_key]
            if locked.newly_locked(before[account_key], now) and locked.locked_until is not None:
                event = events.locked(account_id, locked.locked_until, idn.account_lockout.threshold)
                await idn.outbox.add(session, [event], request_id=request_id)
                log.warning("account_locked", account_id=account_id, locked_until=locked.locked_until.isoformat())
        waits = [w for w in (lock.retry_after(now) for lock in after.values()) if w is not None]
        return max(waits) if waits else None

    return await idn.write(work)


async def count_guess(idn: Identity, address: str) -> None:
    """An unknown secret (link, refresh token) from this address: 429 once the address is locked."""
    log.info("unknown_secret_presented", client=address)
    wait = await record_failure(idn, address)
    if wait is not None:
        raise LockedOut(wait)
