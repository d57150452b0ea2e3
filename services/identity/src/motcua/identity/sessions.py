"""Sessions: an access token (a JWT of at most 15 minutes) and a rotating refresh token per sign-in.

Each sign-in starts a family of refresh tokens. Using one rotates it; using a rotated one again
(a stolen copy, or the legitimate holder after a thief) revokes the whole family.

Ending sessions on purpose (sign-out, password reset, password change) also publishes `SessionsRevoked`
in the same transaction, so every service refuses their access tokens at once (motcua.common.revocation)
instead of letting them lapse on their own.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from motcua.common import mongo
from motcua.common.contracts.identity import RevocationReason
from motcua.identity import codes, events, lockout
from motcua.identity.deps import Identity
from motcua.identity.model import Account, SessionEnded
from motcua.identity.store import account_of

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Tokens:
    access_token: str
    refresh_token: str
    expires_in: int


def access_claims(
    account: Account, *, issuer: str, audience: str, now: datetime, ttl: int, session_id: str, amr: list[str]
) -> dict[str, Any]:
    """What every service learns about the caller from the access token, and nothing more."""
    claims: dict[str, Any] = {
        "iss": issuer,
        "aud": audience,
        "sub": account.id,
        "iat": int(now.timestamp()),
        "nbf": int(now.timestamp()),
        "exp": int(now.timestamp()) + ttl,
        "jti": uuid.uuid4().hex,
        "typ": "access",
        "roles": account.roles,
        "account_type": account.account_type,
        "locale": account.locale,
        "sid": session_id,
        "amr": amr,
    }
    if account.agency_code is not None:
        claims["agency"] = account.agency_code
        claims["agency_roles"] = list(account.agency_roles)
    return claims


def _access_token(idn: Identity, account: Account, family_id: str, amr: list[str], now: datetime) -> str:
    claims = access_claims(
        account,
        issuer=idn.settings.issuer,
        audience=idn.settings.token_audience,
        now=now,
        ttl=idn.settings.identity_access_token_ttl_seconds,
        session_id=family_id,
        amr=amr,
    )
    return idn.keyring.current.sign(claims)


async def _issue(
    idn: Identity, account: Account, *, family_id: str, family_ends: datetime, amr: list[str], now: datetime
) -> Tokens:
    refresh = codes.new_token()
    await idn.store.add_refresh(
        {
            "_id": codes.digest(refresh),
            "family_id": family_id,
            "account_id": account.id,
            "amr": amr,
            "created_at": now,
            "expires_at": min(now + timedelta(seconds=idn.settings.identity_refresh_token_ttl_seconds), family_ends),
            "family_expires_at": family_ends,
            "purge_at": family_ends,
            "rotated_at": None,
            "revoked_at": None,
        }
    )
    return Tokens(
        access_token=_access_token(idn, account, family_id, amr, now),
        refresh_token=refresh,
        expires_in=idn.settings.identity_access_token_ttl_seconds,
    )


async def start(idn: Identity, account: Account, amr: list[str]) -> Tokens:
    """A new session after a complete sign-in."""
    now = idn.now()
    family_ends = now + timedelta(seconds=idn.settings.identity_session_max_seconds)
    tokens = await _issue(idn, account, family_id=uuid.uuid4().hex, family_ends=family_ends, amr=amr, now=now)
    log.info("signed_in", account_id=account.id, amr=amr)
    return tokens


async def refresh(idn: Identity, refresh_token: str, *, address: str) -> Tokens:
    """Rotate: the presented token stops working and a new pair is returned."""
    await lockout.refuse_if_locked(idn, [lockout.address_key(address)])
    digest = codes.digest(refresh_token)
    now = idn.now()
    doc = await idn.store.refresh(digest)
    if doc is None:
        await lockout.count_guess(idn, address)
        raise SessionEnded("This refresh token is not valid; sign in again.")
    if doc["revoked_at"] is not None:
        raise SessionEnded("This session has ended; sign in again.")
    if doc["expires_at"] <= now:
        raise SessionEnded("This session has expired; sign in again.")
    if doc["rotated_at"] is not None or not await idn.store.rotate(digest, now):
        await idn.store.revoke_family(doc["family_id"], now)
        log.warning("refresh_token_reused", account_id=doc["account_id"], family_id=doc["family_id"])
        raise SessionEnded(
            "This refresh token was already used. For your safety the session it belongs to has been "
            "signed out; sign in again."
        )
    account_doc = await idn.store.account(doc["account_id"])
    if account_doc is None or account_doc["status"] != "active":
        await idn.store.revoke_family(doc["family_id"], now)
        raise SessionEnded("This account can no longer sign in.")
    return await _issue(
        idn,
        account_of(account_doc),
        family_id=doc["family_id"],
        family_ends=doc["family_expires_at"],
        amr=list(doc.get("amr", ["pwd"])),
        now=now,
    )


# Services verify `exp` with 10 s of leeway (motcua.common.auth): a denied token stays denied that much longer.
_VERIFY_LEEWAY = timedelta(seconds=10)


def _valid_until(idn: Identity, now: datetime) -> datetime:
    return now + timedelta(seconds=idn.settings.identity_access_token_ttl_seconds) + _VERIFY_LEEWAY


async def end(idn: Identity, account_id: str, refresh_token: str, *, request_id: str | None = None) -> bool:
    """Sign out the session this refresh token belongs to; False when it is not the caller's. Its access
    tokens are refused everywhere from now on."""
    doc = await idn.store.refresh(codes.digest(refresh_token))
    if doc is None or doc["account_id"] != account_id:
        return False
    now = idn.now()
    family_id = str(doc["family_id"])

    async def work(session: mongo.Session) -> None:
        await idn.store.revoke_family(family_id, now, session=session)
        revoked = events.sessions_revoked(account_id, [family_id], "logout", now, _valid_until(idn, now))
        await idn.outbox.add(session, [revoked], request_id=request_id)

    await idn.write(work)
    log.info("signed_out", account_id=account_id)
    return True


async def end_all(
    idn: Identity,
    session: mongo.Session,
    account_id: str,
    *,
    reason: RevocationReason,
    now: datetime,
    request_id: str | None = None,
) -> None:
    """End every session of an account inside the caller's transaction: its refresh tokens and pending
    two-factor sign-ins stop working, and every service refuses the access tokens still alive (those of
    sessions that issued one within an access token's lifetime). For the password reset and the signed-in
    password change (`reason="password_changed"`), after the new password is written in `session`."""
    alive = await idn.store.families_issuing_since(
        account_id, now - timedelta(seconds=idn.settings.identity_access_token_ttl_seconds) - _VERIFY_LEEWAY, session
    )
    await idn.store.revoke_all(account_id, now, session=session)
    if alive:
        revoked = events.sessions_revoked(account_id, alive, reason, now, _valid_until(idn, now))
        await idn.outbox.add(session, [revoked], request_id=request_id)
