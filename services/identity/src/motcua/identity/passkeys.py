"""Passkeys (WebAuthn, with the `webauthn` package): registering several per account, and signing in with one.

Each ceremony has its own challenge, stored by a random ceremony id for IDENTITY_WEBAUTHN_CHALLENGE_TTL_SECONDS
and used once. The relying party is PUBLIC_BASE_URL: its host is the RP id and its origin the only origin
accepted. Attestation is not asked for ("none"): a passkey proves possession of its key, not its make.

Signing in takes one of two ways. Passwordless: the options name no account and the passkey must verify its
user (PIN or biometrics), which makes it multi-factor on its own. After a password (an `mfa_token` from
POST /v1/auth/login): the options list the account's passkeys and the passkey is the second factor. Either way
the authenticator's signature counter must grow (a counter that does not is a cloned key, refused), failures
count towards the sign-in lockout, and a passkey counts as the second factor officers and admins must have.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, NoReturn

import structlog
import webauthn
from motcua.common import mongo
from motcua.common.errors import InvalidInput
from motcua.identity import codes, events, lockout, sessions
from motcua.identity.deps import Identity
from motcua.identity.model import Account, SessionEnded, TwoFactorState
from motcua.identity.registration import limit_per_address
from motcua.identity.sessions import Tokens
from motcua.identity.store import account_of
from pymongo.errors import DuplicateKeyError
from webauthn.helpers import bytes_to_base64url, options_to_json_dict
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

log = structlog.get_logger(__name__)

REGISTER, SIGN_IN = "register", "sign_in"
_MALFORMED = (WebAuthnException, ValueError, TypeError, KeyError, AttributeError)


@dataclass(frozen=True)
class Ceremony:
    """What the browser needs for navigator.credentials.create or .get, and the id to answer with."""

    ceremony_id: str
    public_key: dict[str, Any]


@dataclass(frozen=True)
class Registered:
    passkey: mongo.Document
    recovery_codes: list[str] | None  # the first second factor of an account: its recovery codes, shown once


async def _ceremony(idn: Identity, kind: str, challenge: bytes, **fields: Any) -> str:
    ceremony_id = codes.new_token()
    now = idn.now()
    expires_at = now + timedelta(seconds=idn.settings.identity_webauthn_challenge_ttl_seconds)
    await idn.factors.add_ceremony(
        {"_id": ceremony_id, "kind": kind, "challenge": challenge, "created_at": now, "expires_at": expires_at} | fields
    )
    return ceremony_id


def _descriptors(passkeys: list[mongo.Document]) -> list[PublicKeyCredentialDescriptor]:
    return [PublicKeyCredentialDescriptor(id=webauthn.base64url_to_bytes(p["credential_id"])) for p in passkeys]


async def registration_options(idn: Identity, account: Account) -> Ceremony:
    """Options to create a passkey for this account (its existing ones excluded)."""
    existing = await idn.factors.passkeys_of(account.id)
    if len(existing) >= idn.settings.identity_passkeys_per_account:
        raise TwoFactorState(f"This account has {len(existing)} passkeys, the most it may have; remove one first.")
    settings = idn.settings
    options = webauthn.generate_registration_options(
        rp_id=settings.webauthn_rp_id,
        rp_name=settings.identity_webauthn_rp_name,
        user_id=account.id.encode("utf-8"),
        user_name=account.email,
        user_display_name=account.full_name,
        timeout=settings.identity_webauthn_challenge_ttl_seconds * 1000,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED, user_verification=UserVerificationRequirement.PREFERRED
        ),
        exclude_credentials=_descriptors(existing),
    )
    ceremony_id = await _ceremony(idn, REGISTER, options.challenge, account_id=account.id)
    return Ceremony(ceremony_id, options_to_json_dict(options))


async def register(
    idn: Identity, account: Account, ceremony_id: str, credential: dict[str, Any], name: str
) -> Registered:
    """Check the authenticator's answer to a registration ceremony of this account and keep its passkey."""
    ceremony = await idn.factors.take_ceremony(ceremony_id, REGISTER, idn.now())
    if ceremony is None or ceremony["account_id"] != account.id:
        raise InvalidInput.one("/ceremony_id", "is unknown, used or expired: ask for new options")
    settings = idn.settings
    try:
        verified = webauthn.verify_registration_response(
            credential=credential,
            expected_challenge=ceremony["challenge"],
            expected_rp_id=settings.webauthn_rp_id,
            expected_origin=settings.webauthn_origin,
        )
    except _MALFORMED as exc:
        log.info("passkey_registration_refused", account_id=account.id, reason=str(exc))
        raise InvalidInput.one("/credential", f"was not accepted: {exc}") from None
    now = idn.now()
    doc = await idn.store.account(account.id)
    has_recovery = bool(((doc or {}).get("mfa") or {}).get("recovery"))
    recovery = None if has_recovery else codes.new_recovery_codes()
    passkey = {
        "_id": str(uuid.uuid4()),
        "account_id": account.id,
        "credential_id": bytes_to_base64url(verified.credential_id),
        "public_key": verified.credential_public_key,
        "sign_count": verified.sign_count,
        "name": name or "Passkey",
        "aaguid": verified.aaguid,
        "backed_up": verified.credential_backed_up,
        "created_at": now,
        "last_used_at": None,
    }
    digests = None if recovery is None else [codes.recovery_digest(c) for c in recovery]

    async def work(session: mongo.Session) -> None:
        await idn.factors.add_passkey(passkey, digests, now, session)
        await idn.outbox.add(session, [events.security_changed(account, "passkey_added", now)])

    try:
        await idn.write(work)
    except DuplicateKeyError:
        raise TwoFactorState("This passkey is registered already.") from None
    log.info("passkey_added", account_id=account.id, passkey_id=passkey["_id"])
    return Registered(passkey, recovery)


async def sign_in_options(idn: Identity, mfa_token: str | None, *, address: str) -> Ceremony:
    """Options for navigator.credentials.get: any passkey of this site (passwordless), or, after the password
    (`mfa_token`), one of that account's passkeys."""
    await limit_per_address(idn, "webauthn", address, idn.settings.identity_webauthn_ceremonies_per_ip_per_hour)
    settings = idn.settings
    fields: dict[str, Any] = {"account_id": None, "mfa": None}
    allowed: list[PublicKeyCredentialDescriptor] = []
    verification = UserVerificationRequirement.REQUIRED
    if mfa_token is not None:
        challenge = await idn.factors.live_challenge(codes.digest(mfa_token), idn.now())
        if challenge is None:
            await lockout.count_guess(idn, address)
            raise SessionEnded("This sign-in has expired; sign in again with your password.")
        fields = {"account_id": challenge["account_id"], "mfa": challenge["_id"]}
        allowed = _descriptors(await idn.factors.passkeys_of(challenge["account_id"]))
        verification = UserVerificationRequirement.PREFERRED
    options = webauthn.generate_authentication_options(
        rp_id=settings.webauthn_rp_id,
        timeout=settings.identity_webauthn_challenge_ttl_seconds * 1000,
        allow_credentials=allowed,
        user_verification=verification,
    )
    ceremony_id = await _ceremony(idn, SIGN_IN, options.challenge, **fields)
    return Ceremony(ceremony_id, options_to_json_dict(options))


def _credential_id(credential: dict[str, Any]) -> str:
    value = credential.get("id") or credential.get("rawId")
    if not isinstance(value, str) or not value:
        raise InvalidInput.one("/credential/id", "is required: the passkey's credential id (base64url)")
    return value


async def sign_in(
    idn: Identity, ceremony_id: str, credential: dict[str, Any], *, address: str, request_id: str | None
) -> Tokens:
    """Finish a sign-in with a passkey's signature over the ceremony's challenge."""
    credential_id = _credential_id(credential)
    now = idn.now()
    ceremony = await idn.factors.take_ceremony(ceremony_id, SIGN_IN, now)
    if ceremony is None:
        await lockout.refuse_if_locked(idn, [lockout.address_key(address)])
        await lockout.count_guess(idn, address)
        raise SessionEnded("This passkey sign-in has expired or was used; start again.")
    passkey = await idn.factors.passkey_by_credential(credential_id)
    account_id = passkey["account_id"] if passkey else ceremony["account_id"]
    # a passkey is a factor: its failures count against the account's second factor, as wrong codes do
    keys = {lockout.address_key(address): idn.address_lockout}
    if account_id:
        keys[lockout.second_factor_key(account_id)] = idn.second_factor_lockout
    attempt = await lockout.reserve(idn, keys, account_id=account_id, request_id=request_id)

    async def refuse(reason: str) -> NoReturn:
        log.info("passkey_sign_in_failed", account_id=account_id, reason=reason)
        await lockout.refuse_wrong(
            idn, attempt, "This passkey was not accepted. Try again, or sign in with your password."
        )

    if passkey is None or (ceremony["account_id"] is not None and passkey["account_id"] != ceremony["account_id"]):
        await refuse("unknown passkey")
    try:
        verified = webauthn.verify_authentication_response(
            credential=credential,
            expected_challenge=ceremony["challenge"],
            expected_rp_id=idn.settings.webauthn_rp_id,
            expected_origin=idn.settings.webauthn_origin,
            credential_public_key=passkey["public_key"],
            credential_current_sign_count=passkey["sign_count"],
            require_user_verification=ceremony["mfa"] is None,
        )
    except _MALFORMED as exc:
        await refuse(str(exc))
    if not await idn.factors.use_passkey(passkey["_id"], passkey["sign_count"], verified.new_sign_count, now):
        await refuse("signature counter raced")
    doc = await idn.store.account(passkey["account_id"])
    if doc is None or doc["status"] != "active":
        await lockout.succeeded(idn, attempt)
        raise SessionEnded("This account can no longer sign in.")
    if ceremony["mfa"] is not None and not await idn.store.end_challenge(ceremony["mfa"]):
        await lockout.succeeded(idn, attempt)
        raise SessionEnded("This sign-in was already completed; sign in again.")
    await lockout.succeeded(idn, attempt, forget=lockout.signed_in(doc["_id"], address))
    amr = ["pwd", "hwk", "mfa"] if ceremony["mfa"] is not None else ["hwk", "user", "mfa"]
    return await sessions.start(idn, account_of(doc), amr)


async def listed(idn: Identity, account_id: str) -> list[mongo.Document]:
    return await idn.factors.passkeys_of(account_id)
