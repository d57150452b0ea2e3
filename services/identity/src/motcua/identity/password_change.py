"""Changing one's own password while signed in: the current password is checked like a sign-in's (same counters,
same locks), the new one follows the strength rule, every session ends and the caller's is issued again."""

from __future__ import annotations

import asyncio

import structlog
from motcua.common import mongo
from motcua.common.errors import Conflict, InvalidInput
from motcua.identity import events, lockout, passwords, sessions
from motcua.identity.deps import Identity
from motcua.identity.model import AccountNotFound, LockedOut
from motcua.identity.sessions import Tokens
from motcua.identity.store import account_of

log = structlog.get_logger(__name__)


async def change(
    idn: Identity, account_id: str, current: str, new: str, *, address: str, request_id: str | None
) -> Tokens:
    """The new password; every refresh token of the account revoked; new tokens for the caller."""
    doc = await idn.store.account(account_id)
    if doc is None:
        raise AccountNotFound()
    account = account_of(doc)
    weak = await asyncio.to_thread(
        passwords.weakness, new, personal=account.personal_words(), min_score=idn.settings.identity_password_min_score
    )
    if weak is not None:
        raise InvalidInput.one("/new_password", weak)
    account_key = f"account:{account_id}"
    attempt = await lockout.reserve_password_check(
        idn, account_key, address, account_id=account_id, request_id=request_id
    )
    if not await idn.hasher.verify(doc["password_hash"], current):
        log.info("password_change_refused", account_id=account_id)
        wait = await lockout.failed(idn, attempt)
        if wait is not None:
            raise LockedOut(wait)
        refused = InvalidInput.one("/current_password", "is not your current password")
        refused.extensions = {"attempts_left": attempt.left}
        raise refused
    password_hash = await idn.hasher.hash(new)
    now = idn.now()

    async def work(session: mongo.Session) -> None:
        if not await idn.store.change_password(account_id, doc["password_hash"], password_hash, now, session):
            raise Conflict("Your password was changed meanwhile; sign in again.")
        await sessions.end_all(idn, session, account_id, reason="password_changed", now=now, request_id=request_id)
        notice = events.security_changed(account, "password_changed", now)
        await idn.outbox.add(session, [notice], request_id=request_id)

    await idn.write(work)
    await lockout.succeeded(idn, attempt, forget=lockout.signed_in(account_id, address)[:2])
    log.info("password_changed", account_id=account_id)
    # the caller's session is issued again with the factors it had (an account with two-factor on signs in with it)
    return await sessions.start(idn, account, ["pwd", "mfa"] if account.mfa_enabled else ["pwd"])
