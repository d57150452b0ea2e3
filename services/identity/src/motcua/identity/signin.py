"""Signing in: password (then a second factor when it is on), with lockouts per (account, address), per account,
per address and, for second-factor codes, per account whatever the address (see `lockout`).

Nothing here tells an attacker whether an account exists: a missing account costs the same argon2
work, fails with the same words, and locks out the same way (keyed by the username it was tried with).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import structlog
from motcua.identity import codes, enrolment, lockout, sessions, twofactor
from motcua.identity.deps import Identity
from motcua.identity.details import normalise_email, normalise_phone
from motcua.identity.model import AccountDisabled, SessionEnded, TwoFactorUnavailable, VerificationPending
from motcua.identity.sessions import Tokens
from motcua.identity.store import account_of

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class SecondFactorNeeded:
    mfa_token: str
    expires_in: int
    methods: tuple[str, ...] = ("totp",)


def _username(username: str) -> tuple[str | None, str | None, str]:
    """(email, phone, canonical form): an address is lower-cased, a number put in E.164."""
    typed = username.strip()
    if "@" in typed:
        try:
            email = normalise_email(typed)  # the form registration stored
        except ValueError:
            email = typed.lower()
        return email, None, email
    try:
        phone = normalise_phone(typed)
    except ValueError:
        return None, None, typed
    return None, phone, phone


async def login(
    idn: Identity, username: str, password: str, *, address: str, request_id: str | None
) -> Tokens | SecondFactorNeeded | enrolment.EnrolmentNeeded:
    """Check the password; an active account gets tokens, a challenge when two-factor is on, or (officers and
    admins without a second factor) an enrolment token."""
    email, phone, canonical = _username(username)
    doc = await idn.store.account_by_username(email=email, phone=phone)
    account_id: str | None = doc["_id"] if doc else None
    account_key = f"account:{account_id}" if doc else f"username:{codes.digest(canonical)}"
    if doc and (doc.get("mfa") or {}).get("enabled_at"):  # whatever the password: no oracle for it
        await lockout.refuse_if_locked(idn, [lockout.second_factor_key(doc["_id"])], second_factor=True)
    attempt = await lockout.reserve_password_check(
        idn, account_key, address, account_id=account_id, request_id=request_id
    )
    if not await idn.hasher.verify(doc["password_hash"] if doc else None, password):
        log.info("sign_in_failed", account_id=account_id)
        await lockout.refuse_wrong(idn, attempt, "The username or password is incorrect.")
    assert doc is not None
    account = account_of(doc)
    if not account.active or account.mfa_enabled:
        # the password was right, so this attempt is given back; earlier failures wait for a full sign-in
        await lockout.succeeded(idn, attempt)
    if account.status == "disabled":
        log.info("sign_in_refused", account_id=account.id, reason="disabled")
        raise AccountDisabled()
    if not account.active:
        raise VerificationPending(
            account.id,
            email_verified=account.email_verified_at is not None,
            phone_verified=account.phone_verified_at is not None,
        )
    if idn.hasher.needs_rehash(doc["password_hash"]):
        await idn.store.rehash_password(account.id, doc["password_hash"], await idn.hasher.hash(password))
    if account.mfa_enabled:
        return await _challenge(idn, account.id, account.second_factors)
    if account.must_enrol(staff_rule=idn.settings.identity_staff_second_factor_required):
        await lockout.succeeded(idn, attempt)  # an enrolment token is not a full sign-in: failures stay
        return enrolment.issue(idn, account)
    await lockout.succeeded(idn, attempt, forget=lockout.signed_in(account.id, address))
    return await sessions.start(idn, account, ["pwd"])


async def _challenge(idn: Identity, account_id: str, methods: tuple[str, ...]) -> SecondFactorNeeded:
    token = codes.new_token()
    now = idn.now()
    ttl = idn.settings.identity_mfa_challenge_ttl_seconds
    await idn.store.add_challenge(
        {
            "_id": codes.digest(token),
            "account_id": account_id,
            "attempts": 0,
            "created_at": now,
            "expires_at": now + timedelta(seconds=ttl),
        }
    )
    return SecondFactorNeeded(mfa_token=token, expires_in=ttl, methods=methods)


async def second_factor(idn: Identity, mfa_token: str, code: str, *, address: str, request_id: str | None) -> Tokens:
    """Finish a sign-in with a TOTP code or a recovery code. Wrong codes count against the account's second
    factor (whatever the address, and whichever challenge) and the address; only a full sign-in clears them."""
    digest = codes.digest(mfa_token)
    challenge = await idn.store.use_challenge_attempt(digest, idn.now(), idn.settings.identity_code_max_attempts)
    if challenge is None:
        await lockout.refuse_if_locked(idn, [lockout.address_key(address)])
        await lockout.count_guess(idn, address)
        raise SessionEnded("This sign-in has expired or had too many wrong codes; sign in again with your password.")
    account_id = challenge["account_id"]
    keys = {
        lockout.second_factor_key(account_id): idn.second_factor_lockout,
        lockout.address_key(address): idn.address_lockout,
    }
    attempt = await lockout.reserve(idn, keys, account_id=account_id, request_id=request_id)
    doc = await idn.store.account(account_id)
    if doc is None or doc["status"] != "active":
        await lockout.succeeded(idn, attempt)
        raise SessionEnded("This account can no longer sign in.")
    try:
        kind = await twofactor.check(idn, doc, code)
    except TwoFactorUnavailable:  # not the person's guess: nothing is counted
        await lockout.succeeded(idn, attempt)
        raise
    if kind is None:
        log.info("second_factor_failed", account_id=account_id)
        await lockout.refuse_wrong(
            idn, attempt, "The code is not valid: use the current code of your authenticator app, or a recovery code."
        )
    if not await idn.store.end_challenge(digest):
        await lockout.succeeded(idn, attempt)
        raise SessionEnded("This sign-in was already completed; sign in again.")
    await lockout.succeeded(idn, attempt, forget=lockout.signed_in(account_id, address))
    amr = ["pwd", "otp", "mfa"] if kind == "otp" else ["pwd", "mfa"]
    return await sessions.start(idn, account_of(doc), amr)
