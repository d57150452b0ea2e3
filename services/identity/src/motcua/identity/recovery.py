"""Forgotten passwords: an emailed link (1 h, single use) sets a new password and signs out every session.

Asking for a link answers the same whatever the address: the work happens after the answer is sent.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import structlog
from motcua.common import mongo
from motcua.common.errors import InvalidInput
from motcua.identity import codes, events, lockout, passwords, sessions
from motcua.identity.deps import Identity
from motcua.identity.store import account_of

log = structlog.get_logger(__name__)


async def send_link(idn: Identity, email: str, request_id: str | None) -> None:
    """Email a reset link when an account has this address and none was sent too recently."""
    now = idn.now()

    async def work(session: mongo.Session) -> str | None:
        doc = await idn.store.account_by_email(email, session)
        if doc is None:
            return None
        sent = list((doc.get("reset") or {}).get("sent", []))
        if idn.sending.wait(sent, now):
            log.info("password_reset_not_sent", account_id=doc["_id"], reason="sent recently")
            return None
        token = codes.new_token()
        expires_at = now + timedelta(seconds=idn.settings.identity_reset_link_ttl_seconds)
        reset = {"digest": codes.digest(token), "expires_at": expires_at, "sent": idn.sending.record(sent, now)}
        await idn.store.save_reset(doc["_id"], reset, session)
        url = f"{idn.settings.public_base}/reset-password?token={token}"
        await idn.outbox.add(
            session, [events.reset_link(account_of(doc), url, expires_at, idn.event_sealer)], request_id=request_id
        )
        account_id: str = doc["_id"]
        return account_id

    account_id = await idn.write(work)
    if account_id is not None:
        log.info("password_reset_sent", account_id=account_id)


async def set_password(
    idn: Identity, token: str, new_password: str, *, address: str, request_id: str | None = None
) -> None:
    """Use the link once: new password, every session and pending two-factor sign-in ended, the sign-in locks
    lifted (from every address; not the second factor's), and the owner told by email."""
    await lockout.refuse_if_locked(idn, [lockout.address_key(address)])
    digest = codes.digest(token)
    doc = await idn.store.account_by("reset.digest", digest)
    now = idn.now()
    if doc is None:
        await lockout.count_guess(idn, address)
    if doc is None or doc["reset"]["expires_at"] <= now:
        raise InvalidInput.one("/token", "This reset link is not valid, was used or has expired; ask for a new one.")
    account = account_of(doc)
    weak = await asyncio.to_thread(
        passwords.weakness,
        new_password,
        personal=account.personal_words(),
        min_score=idn.settings.identity_password_min_score,
    )
    if weak is not None:
        raise InvalidInput.one("/new_password", weak)
    password_hash = await idn.hasher.hash(new_password)

    async def work(session: mongo.Session) -> None:
        if not await idn.store.reset_password(account.id, digest, password_hash, now, session):
            raise InvalidInput.one("/token", "This reset link was already used; ask for a new one.")
        await sessions.end_all(idn, session, account.id, reason="password_reset", now=now, request_id=request_id)
        # the lock from every address, and the account's own: the person proved they hold the email
        await idn.store.forget_lockouts_of(f"account:{account.id}", session=session)
        notice = events.security_changed(account, "password_reset", now)
        await idn.outbox.add(session, [notice], request_id=request_id)

    await idn.write(work)
    log.info("password_reset_done", account_id=account.id)
