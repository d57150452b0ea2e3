"""Proving the email address (a link, 24 h) and the phone (an SMS code, 10 min, 5 tries); resending both.

The account turns `active` in the transaction that records the second proof, and AccountActivated
(for notification) and AccountProfileChanged (for submission) go out with it.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any, Literal

import structlog
from motcua.common import mongo
from motcua.common.contracts.identity import EmailVerificationRequested, PhoneVerificationRequested
from motcua.common.errors import InvalidInput, TooManyRequests
from motcua.identity import codes, events, lockout
from motcua.identity.deps import Identity
from motcua.identity.model import (
    Account,
    AccountNotFound,
    AlreadyRegistered,
    AlreadyVerified,
    SendLimited,
    becomes_active,
)
from motcua.identity.store import account_of
from pymongo.errors import DuplicateKeyError

log = structlog.get_logger(__name__)

Proof = Literal["email", "phone"]
_SIX_DIGITS = re.compile(r"\d{6}")


def email_check(
    idn: Identity, account: Account, now: datetime, sent: list[datetime]
) -> tuple[dict[str, Any], EmailVerificationRequested]:
    """A fresh verification link: what to store (its digest) and the event that sends it."""
    token = codes.new_token()
    expires_at = now + timedelta(seconds=idn.settings.identity_email_link_ttl_seconds)
    url = f"{idn.settings.public_base}/verify-email?token={token}"
    stored = {"digest": codes.digest(token), "expires_at": expires_at, "sent": sent}
    return stored, events.email_link(account, url, expires_at, idn.event_sealer)


def phone_check(
    idn: Identity, account: Account, now: datetime, sent: list[datetime]
) -> tuple[dict[str, Any], PhoneVerificationRequested]:
    """A fresh SMS code: what to store (a salted MAC, a guess counter) and the event that sends it."""
    code, salt = codes.new_sms_code(), codes.new_salt()
    expires_at = now + timedelta(seconds=idn.settings.identity_phone_code_ttl_seconds)
    stored = {"mac": codes.code_mac(code, salt), "salt": salt, "expires_at": expires_at, "attempts": 0, "sent": sent}
    return stored, events.sms_code(account, code, expires_at, idn.event_sealer)


async def verify_email(idn: Identity, token: str, *, address: str, request_id: str | None) -> Account:
    """Use the emailed link's token once; a later click says the address is already verified."""
    await lockout.refuse_if_locked(idn, [lockout.address_key(address)])
    digest = codes.digest(token)
    doc = await idn.store.account_by("email_check.digest", digest)
    if doc is None:
        await lockout.count_guess(idn, address)
        raise InvalidInput.one("/token", "This link is not valid (a newer one may replace it); ask for a new link.")
    if doc.get("email_verified_at"):
        raise AlreadyVerified.proof("email")
    if doc["email_check"]["expires_at"] <= idn.now():
        raise InvalidInput.one("/token", "This link has expired; ask for a new one.")
    return await _record_proof(idn, doc["_id"], "email", {"email_check.digest": digest}, request_id)


async def verify_phone(idn: Identity, account_id: str, code: str, request_id: str | None) -> Account:
    """Check the SMS code; every guess counts, and after the last one only a new code helps."""
    if not _SIX_DIGITS.fullmatch(code.strip()):
        raise InvalidInput.one("/code", "must be the 6 digits we sent by SMS")
    doc = await idn.store.account(account_id)
    if doc is None:
        raise AccountNotFound()
    if doc.get("phone_verified_at"):
        raise AlreadyVerified.proof("phone")
    check = doc.get("phone_check") or {}
    now = idn.now()
    if not check.get("mac") or check["expires_at"] <= now:
        raise InvalidInput.one("/code", "This code has expired; ask for a new one.")
    limit = idn.settings.identity_code_max_attempts
    tries = await idn.store.count_attempt(account_id, "phone_check", "phone_check.mac", check["mac"], limit)
    if tries is None:
        wait = max(1, idn.sending.wait(list(check.get("sent", [])), now))
        raise TooManyRequests("Too many wrong codes. Ask for a new code (resend-verification).", retry_after=wait)
    if not codes.code_matches(code.strip(), check["salt"], check["mac"]):
        left = limit - tries
        hint = f"{left} tries left" if left else "no tries left: ask for a new code"
        raise InvalidInput.one("/code", f"is not the code we sent ({hint})")
    return await _record_proof(idn, account_id, "phone", {"phone_check.mac": check["mac"]}, request_id)


async def _record_proof(
    idn: Identity, account_id: str, proof: Proof, still: dict[str, str], request_id: str | None
) -> Account:
    """Mark one proof done, in a transaction; the second proof activates the account."""
    now = idn.now()

    async def work(session: mongo.Session) -> Account:
        doc = await idn.store.account_holding(account_id, still, session)
        if doc is None or doc.get(f"{proof}_verified_at"):
            raise AlreadyVerified.proof(proof)
        changes: dict[str, Any] = {f"{proof}_verified_at": now, "updated_at": now}
        activating = doc["status"] == "pending_verification" and becomes_active(
            email_verified=proof == "email" or bool(doc.get("email_verified_at")),
            phone_verified=proof == "phone" or bool(doc.get("phone_verified_at")),
        )
        if activating:
            changes |= {"status": "active", "activated_at": now, "profile_published_at": now}
        await idn.store.record_proof(
            account_id, changes, phone=proof == "phone", activating=activating, session=session
        )
        account = account_of({**doc, **changes})
        if activating:  # and the applicant's profile, which submission copies into each dossier filed
            profile = events.applicant_profile(account, now)
            told = [events.activated(account), *([profile] if profile is not None else [])]
            await idn.outbox.add(session, told, request_id=request_id)
        return account

    try:
        account = await idn.write(work)
    except DuplicateKeyError as exc:  # an active account holds this citizen ID: this one stays pending
        log.info("activation_refused", account_id=account_id, reason="citizen ID held by an active account")
        raise AlreadyRegistered() from exc
    log.info("account_verified", account_id=account_id, proof=proof, status=account.status)
    return account


async def resend(idn: Identity, account_id: str, channel: Literal["email", "sms"], request_id: str | None) -> datetime:
    """A new link or code replaces the old one; at most one a minute and five an hour per channel."""
    now = idn.now()
    proof: Proof = "email" if channel == "email" else "phone"
    field = f"{proof}_check"

    async def work(session: mongo.Session) -> datetime:
        doc = await idn.store.account(account_id, session=session)
        if doc is None:
            raise AccountNotFound()
        if doc.get(f"{proof}_verified_at"):
            raise AlreadyVerified.proof(proof)
        sent = list((doc.get(field) or {}).get("sent", []))
        wait = idn.sending.wait(sent, now)
        if wait:
            raise SendLimited(wait)
        account = account_of(doc)
        issue = email_check if proof == "email" else phone_check
        stored, event = issue(idn, account, now, idn.sending.record(sent, now))
        await idn.store.save_check(account_id, field, stored, now, session)
        await idn.outbox.add(session, [event], request_id=request_id)
        expires_at: datetime = stored["expires_at"]
        return expires_at

    expires_at = await idn.write(work)
    log.info("verification_resent", account_id=account_id, channel=channel)
    return expires_at
