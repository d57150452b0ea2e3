"""Two-factor sign-in: TOTP (RFC 6238, 30 s, 6 digits) with ten single-use recovery codes.

Enrolment is two steps: start (a secret for the authenticator app), then confirm with a current
code, which turns two-factor on and returns the recovery codes once; only their digests are kept.
A TOTP code is accepted once: its time step must be newer than the last one used.
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import pyotp
import structlog
from motcua.common import mongo
from motcua.common.errors import InvalidInput
from motcua.identity import codes
from motcua.identity.deps import Identity
from motcua.identity.model import AccountNotFound, TwoFactorState

log = structlog.get_logger(__name__)

ISSUER = "Mot Cua"
STEP_SECONDS = 30
_SIX_DIGITS = re.compile(r"\d{6}")


def matching_step(secret: str, code: str, now: datetime, drift: int = 1) -> int | None:
    """The time step whose code this is, allowing `drift` steps of clock difference; None if none."""
    totp = pyotp.TOTP(secret, interval=STEP_SECONDS)
    current = int(now.timestamp()) // STEP_SECONDS
    for step in range(current - drift, current + drift + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


@dataclass(frozen=True)
class Enrolment:
    secret: str
    otpauth_uri: str


async def _account(idn: Identity, account_id: str) -> mongo.Document:
    doc = await idn.store.account(account_id)
    if doc is None:
        raise AccountNotFound()
    if (doc.get("mfa") or {}).get("enabled_at"):
        raise TwoFactorState("Two-factor sign-in is already on for this account.")
    return doc


async def start(idn: Identity, account_id: str) -> Enrolment:
    """A new secret for the authenticator app; nothing changes until it is confirmed."""
    doc = await _account(idn, account_id)
    secret = pyotp.random_base32()
    expires_at = idn.now() + timedelta(seconds=idn.settings.identity_totp_enrolment_ttl_seconds)
    await idn.store.accounts.update_one(
        {"_id": account_id}, {"$set": {"mfa_enrolment": {"secret": secret, "expires_at": expires_at, "attempts": 0}}}
    )
    uri = pyotp.TOTP(secret, interval=STEP_SECONDS).provisioning_uri(name=doc["email"], issuer_name=ISSUER)
    return Enrolment(secret=secret, otpauth_uri=uri)


async def confirm(idn: Identity, account_id: str, code: str) -> list[str]:
    """Turn two-factor on with a current code; returns the recovery codes (shown this once)."""
    if not _SIX_DIGITS.fullmatch(code.strip()):
        raise InvalidInput.one("/code", "must be the 6 digits your authenticator app shows")
    doc = await _account(idn, account_id)
    enrolment = doc.get("mfa_enrolment") or {}
    now = idn.now()
    if not enrolment.get("secret") or enrolment["expires_at"] <= now:
        raise TwoFactorState("No enrolment is waiting: start again with POST /v1/accounts/me/mfa/totp.")
    limit = idn.settings.identity_code_max_attempts
    secret = enrolment["secret"]
    if await idn.store.count_attempt(account_id, "mfa_enrolment", "mfa_enrolment.secret", secret, limit) is None:
        await idn.store.accounts.update_one({"_id": account_id}, {"$unset": {"mfa_enrolment": ""}})
        raise TwoFactorState("Too many wrong codes: start again with POST /v1/accounts/me/mfa/totp.")
    step = matching_step(secret, code.strip(), now)
    if step is None:
        raise InvalidInput.one("/code", "is not the current code of your authenticator app")
    recovery = codes.new_recovery_codes()
    digests = [codes.recovery_digest(c) for c in recovery]
    mfa = {"secret": secret, "enabled_at": now, "last_step": step, "recovery": digests}
    result = await idn.store.accounts.update_one(
        {"_id": account_id, "mfa_enrolment.secret": secret},
        {"$set": {"mfa": mfa, "updated_at": now}, "$unset": {"mfa_enrolment": ""}},
    )
    if result.modified_count != 1:
        raise TwoFactorState("This enrolment was replaced; start again.")
    log.info("two_factor_enabled", account_id=account_id)
    return recovery


async def check(idn: Identity, doc: mongo.Document, code: str) -> Literal["otp", "recovery"] | None:
    """Use a TOTP or recovery code of this account once; which kind it was, or None when it is not valid."""
    mfa: dict[str, Any] = doc.get("mfa") or {}
    if not mfa.get("enabled_at"):
        return None
    typed = "".join(code.split())
    if _SIX_DIGITS.fullmatch(typed):
        step = matching_step(mfa["secret"], typed, idn.now())
        if step is None:
            return None
        used = await idn.store.accounts.update_one(
            {"_id": doc["_id"], "mfa.last_step": {"$lt": step}}, {"$set": {"mfa.last_step": step}}
        )
        return "otp" if used.modified_count == 1 else None
    digest = codes.recovery_digest(typed)
    used = await idn.store.accounts.update_one(
        {"_id": doc["_id"], "mfa.recovery": digest}, {"$pull": {"mfa.recovery": digest}}
    )
    if used.modified_count != 1:
        return None
    log.info("recovery_code_used", account_id=doc["_id"], left=len(mfa.get("recovery", [])) - 1)
    return "recovery"
