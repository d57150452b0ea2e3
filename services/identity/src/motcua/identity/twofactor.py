"""Two-factor sign-in: TOTP (RFC 6238, 30 s, 6 digits) with ten single-use recovery codes.

Enrolment is two steps: start (a secret for the authenticator app), then confirm with a current
code, which turns two-factor on and returns the recovery codes once; only their digests are kept.
A TOTP code is accepted once: its time step must be newer than the last one used.

The TOTP secret is stored sealed (`sealing`). One that does not open fails closed: the code is
refused with 503 and an error log naming the account, and the failure is not counted against the
person (it is not their guess); recovery codes, kept as digests, still work. A secret stored in plain
(before encryption) or under an older key is sealed again with the current key once a code from it
was accepted, and by `seal_stored_secrets` at start.
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
from motcua.identity import codes, events, sealing
from motcua.identity.deps import Identity
from motcua.identity.model import AccountNotFound, TwoFactorState, TwoFactorUnavailable
from motcua.identity.sealing import UnreadableSecret
from motcua.identity.store import TOTP_SECRETS, account_of

log = structlog.get_logger(__name__)

ISSUER = "Mot Cua"
STEP_SECONDS = 30
_SIX_DIGITS = re.compile(r"\d{6}")
_RESEAL_BATCH = 100


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


def _open(idn: Identity, account_id: str, stored: object, detail: str) -> str:
    """The stored secret in clear; one that does not open is logged (never its content) and refused."""
    try:
        return idn.sealer.open(stored, account_id)
    except UnreadableSecret as exc:
        log.error("totp_secret_unreadable", account_id=account_id, kid=exc.kid, reason=exc.reason)
        raise TwoFactorUnavailable(detail) from None


async def _reseal_if_stale(idn: Identity, account_id: str, path: str, stored: object, secret: str) -> None:
    if idn.sealer.stale(stored) and await idn.store.reseal(
        account_id, path, stored, idn.sealer.seal(secret, account_id)
    ):
        log.info("totp_secret_resealed", account_id=account_id, kid=idn.sealer.current_kid)


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
    sealed = idn.sealer.seal(secret, account_id)
    await idn.store.start_enrolment(account_id, {"secret": sealed, "expires_at": expires_at, "attempts": 0})
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
    stored = enrolment["secret"]
    secret = _open(
        idn,
        account_id,
        stored,
        "This enrolment cannot be checked just now; start again with POST /v1/accounts/me/mfa/totp.",
    )
    where, value = sealing.holding("mfa_enrolment.secret", stored)
    if await idn.store.count_attempt(account_id, "mfa_enrolment", where, value, limit) is None:
        await idn.store.drop_enrolment(account_id)
        raise TwoFactorState("Too many wrong codes: start again with POST /v1/accounts/me/mfa/totp.")
    step = matching_step(secret, code.strip(), now)
    if step is None:
        raise InvalidInput.one("/code", "is not the current code of your authenticator app")
    recovery = codes.new_recovery_codes()
    digests = [codes.recovery_digest(c) for c in recovery]
    sealed = stored if not idn.sealer.stale(stored) else idn.sealer.seal(secret, account_id)
    mfa = {"secret": sealed, "enabled_at": now, "last_step": step, "recovery": digests}

    async def work(session: mongo.Session) -> None:
        if not await idn.store.enable_mfa(account_id, where, value, mfa, now, session):
            raise TwoFactorState("This enrolment was replaced; start again.")
        notice = events.security_changed(account_of(doc), "two_factor_enabled", now)
        await idn.outbox.add(session, [notice])

    await idn.write(work)
    log.info("two_factor_enabled", account_id=account_id)
    return recovery


async def check(idn: Identity, doc: mongo.Document, code: str) -> Literal["otp", "recovery"] | None:
    """Use a TOTP or recovery code of this account once; which kind it was, or None when it is not valid."""
    mfa: dict[str, Any] = doc.get("mfa") or {}
    if not mfa.get("enabled_at") and not mfa.get("recovery"):  # recovery codes alone: an account of passkeys
        return None
    typed = "".join(code.split())
    if _SIX_DIGITS.fullmatch(typed):
        if not mfa.get("enabled_at"):
            return None
        secret = _open(
            idn,
            doc["_id"],
            mfa["secret"],
            "Codes from your authenticator app cannot be checked just now. "
            "Sign in with one of your recovery codes, or contact support.",
        )
        step = matching_step(secret, typed, idn.now())
        if step is None:
            return None
        if not await idn.store.use_step(doc["_id"], step):
            return None
        await _reseal_if_stale(idn, doc["_id"], "mfa.secret", mfa["secret"], secret)
        return "otp"
    digest = codes.recovery_digest(typed)
    if not await idn.store.use_recovery_code(doc["_id"], digest):
        return None
    log.info("recovery_code_used", account_id=doc["_id"], left=len(mfa.get("recovery", [])) - 1)
    return "recovery"


async def seal_stored_secrets(idn: Identity) -> int:
    """Seal with the current key every TOTP secret stored in plain or under an older key; how many.

    Runs in the background at start, in batches by account id, so the first start after an upgrade
    or a key rotation does not hold the service back. A secret that does not open is logged and left
    as it is (its owner's codes fail closed). Replicas running it together do no harm: each change
    applies only while the secret is still the one that was read.
    """
    sealer, after, count = idn.sealer, "", 0
    while batch := await idn.store.secrets_to_seal(sealer.current_kid, after, _RESEAL_BATCH):
        for doc in batch:
            after = doc["_id"]
            for path in TOTP_SECRETS:
                parent, _, name = path.partition(".")
                stored = (doc.get(parent) or {}).get(name)
                if stored is None or not sealer.stale(stored):
                    continue
                try:
                    secret = sealer.open(stored, doc["_id"])
                except UnreadableSecret as exc:
                    log.error("totp_secret_unreadable", account_id=doc["_id"], kid=exc.kid, reason=exc.reason)
                    continue
                if await idn.store.reseal(doc["_id"], path, stored, sealer.seal(secret, doc["_id"])):
                    count += 1
    log.info("totp_secrets_sealed", resealed=count, kid=sealer.current_kid)
    return count
