"""Enrolling a second factor: the enrolment token of officers and admins who have none, and the password asked
again before a factor is added or removed or recovery codes are replaced.

An officer or admin without a second factor gets, at sign-in, an enrolment token instead of tokens: a JWT of its
own kind (`typ` "enrolment", audience `<TOKEN_AUDIENCE>:enrolment`, at most IDENTITY_ENROLMENT_TOKEN_TTL_SECONDS)
that every service's access-token check refuses. Here it opens only the enrolment routes (TOTP start and confirm,
passkey registration), and only while its account still has no second factor.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated

import jwt
import structlog
from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from motcua.common.errors import InvalidInput, Unauthenticated
from motcua.identity import lockout
from motcua.identity.deps import Identity, IdentityDep
from motcua.identity.model import Account, AccountNotFound, EnrolmentOnly
from motcua.identity.store import account_of

log = structlog.get_logger(__name__)

TYP = "enrolment"


@dataclass(frozen=True)
class EnrolmentNeeded:
    """What sign-in yields to staff without a second factor."""

    enrolment_token: str
    expires_in: int


def audience(idn: Identity) -> str:
    return f"{idn.settings.token_audience}:{TYP}"


def issue(idn: Identity, account: Account) -> EnrolmentNeeded:
    """An enrolment token for this account (after a correct password)."""
    now = int(idn.now().timestamp())
    ttl = idn.settings.identity_enrolment_token_ttl_seconds
    claims = {
        "iss": idn.settings.issuer,
        "aud": audience(idn),
        "sub": account.id,
        "iat": now,
        "nbf": now,
        "exp": now + ttl,
        "jti": uuid.uuid4().hex,
        "typ": TYP,
    }
    log.info("second_factor_enrolment_required", account_id=account.id)
    return EnrolmentNeeded(enrolment_token=idn.keyring.current.sign(claims), expires_in=ttl)


@dataclass(frozen=True)
class Enroller:
    """Who is enrolling: with an access token (`by_enrolment_token` False, the password asked again) or with an
    enrolment token (the password was just given at sign-in)."""

    account: Account
    by_enrolment_token: bool


_bearer = HTTPBearer(auto_error=False, description="An access token, or the enrolment token of POST /v1/auth/login")


def _typ(token: str) -> object:
    try:
        return jwt.decode(token, options={"verify_signature": False}).get("typ")
    except jwt.PyJWTError:
        return None


async def _enroller(
    idn: IdentityDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Enroller:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthenticated("Sign in: this needs an access token or an enrolment token (Authorization: Bearer …).")
    token = credentials.credentials
    by_enrolment = _typ(token) == TYP
    if by_enrolment:
        account_id = str((await idn.keyring.claims(token, audience=audience(idn), typ=TYP))["sub"])
    else:
        account_id = (await idn.keyring.verify(token)).sub
    structlog.contextvars.bind_contextvars(account_id=account_id)
    doc = await idn.store.account(account_id)
    if doc is None or doc["status"] != "active":
        raise AccountNotFound()
    account = account_of(doc)
    if by_enrolment and account.mfa_enabled:
        raise EnrolmentOnly("This account has a second factor now: sign in with it to get an access token.")
    return Enroller(account=account, by_enrolment_token=by_enrolment)


EnrollerDep = Annotated[Enroller, Depends(_enroller)]


async def confirm_password(
    idn: Identity, account_id: str, password: str | None, *, address: str, request_id: str | None
) -> None:
    """The account's password, asked again; a wrong one counts towards the sign-in lockout (429 once locked)."""
    if not password:
        raise InvalidInput.one("/password", "is required: confirm your password to change your second factors")
    doc = await idn.store.account(account_id)
    if doc is None:
        raise AccountNotFound()
    attempt = await lockout.reserve_password_check(
        idn, f"account:{account_id}", address, account_id=account_id, request_id=request_id
    )
    if not await idn.hasher.verify(doc["password_hash"], password):
        log.info("password_recheck_failed", account_id=account_id)
        await lockout.refuse_wrong(idn, attempt, "The password is incorrect.")
    await lockout.succeeded(idn, attempt)


async def confirm_unless_enrolling(
    idn: Identity, enroller: Enroller, password: str | None, address: str, request_id: str | None
) -> None:
    """With an access token the password is asked again; an enrolment token has just had it."""
    if not enroller.by_enrolment_token:
        await confirm_password(idn, enroller.account.id, password, address=address, request_id=request_id)
