"""HTTP routes of second factors: the enrolment routes (TOTP, passkey registration) that accept an enrolment
token, passkey sign-in, and removing factors or replacing recovery codes (the password asked again)."""

from __future__ import annotations

from fastapi import APIRouter, Response, status
from motcua.common.auth import CurrentPrincipal
from motcua.common.request_context import ClientIp, RequestId
from motcua.identity import enrolment, factors, passkeys, twofactor
from motcua.identity.api import _answers as answers
from motcua.identity.api import _tokens as tokens_out
from motcua.identity.deps import IdentityDep
from motcua.identity.enrolment import EnrollerDep
from motcua.identity.model import Account, AccountNotFound
from motcua.identity.schemas import (
    CeremonyOut,
    CodeIn,
    PasskeyAddedOut,
    PasskeyOut,
    PasskeyRegistrationIn,
    PasskeysOut,
    PasswordAgainIn,
    PasswordIn,
    RecoveryCodesOut,
    TokensOut,
    TotpStartOut,
    WebauthnOptionsIn,
    WebauthnVerifyIn,
)
from motcua.identity.store import account_of

router = APIRouter()


async def _me(idn: IdentityDep, account_id: str) -> Account:
    doc = await idn.store.account(account_id)
    if doc is None:
        raise AccountNotFound()
    return account_of(doc)


@router.post("/v1/accounts/me/mfa/totp", tags=["two-factor"], responses=answers(401, 403, 409, 422, 429))
async def start_totp(
    enroller: EnrollerDep, idn: IdentityDep, address: ClientIp, rid: RequestId, body: PasswordAgainIn | None = None
) -> TotpStartOut:
    """Start turning on two-factor sign-in: add the secret to an authenticator app, then confirm. With an access
    token the body is `{"password"}` (a wrong one counts towards the sign-in lockout); with an enrolment token,
    no body."""
    await enrolment.confirm_unless_enrolling(idn, enroller, body.password if body else None, address, rid)
    started = await twofactor.start(idn, enroller.account.id)
    return TotpStartOut(secret=started.secret, otpauth_uri=started.otpauth_uri)


@router.post("/v1/accounts/me/mfa/totp/confirm", tags=["two-factor"], responses=answers(401, 403, 409, 422, 503))
async def confirm_totp(body: CodeIn, enroller: EnrollerDep, idn: IdentityDep) -> RecoveryCodesOut:
    """Confirm with the app's current code: two-factor is on from now, and the ten single-use recovery
    codes are shown this once. With an access token, or with the enrolment token of sign-in."""
    return RecoveryCodesOut(recovery_codes=await twofactor.confirm(idn, enroller.account.id, body.code))


@router.post(
    "/v1/accounts/me/mfa/totp/remove", status_code=204, tags=["two-factor"], responses=answers(401, 409, 422, 429)
)
async def remove_totp(
    body: PasswordIn, principal: CurrentPrincipal, idn: IdentityDep, address: ClientIp, rid: RequestId
) -> Response:
    """Turn the authenticator app off (the password asked again). Officers and admins must keep another factor."""
    await enrolment.confirm_password(idn, principal.sub, body.password, address=address, request_id=rid)
    await factors.remove_totp(idn, await _me(idn, principal.sub))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/v1/accounts/me/mfa/recovery-codes", tags=["two-factor"], responses=answers(401, 409, 422, 429))
async def regenerate_recovery_codes(
    body: PasswordIn, principal: CurrentPrincipal, idn: IdentityDep, address: ClientIp, rid: RequestId
) -> RecoveryCodesOut:
    """Ten new recovery codes, shown this once; the previous ones stop working (the password asked again)."""
    await enrolment.confirm_password(idn, principal.sub, body.password, address=address, request_id=rid)
    return RecoveryCodesOut(recovery_codes=await factors.new_recovery_codes(idn, await _me(idn, principal.sub)))


@router.post(
    "/v1/accounts/me/mfa/webauthn/register/options", tags=["passkeys"], responses=answers(401, 403, 409, 422, 429)
)
async def passkey_registration_options(
    enroller: EnrollerDep, idn: IdentityDep, address: ClientIp, rid: RequestId, body: PasswordAgainIn | None = None
) -> CeremonyOut:
    """Options for navigator.credentials.create (`public_key`, base64url fields) and the `ceremony_id` to answer
    with. With an access token the body is `{"password"}`; with an enrolment token, no body."""
    await enrolment.confirm_unless_enrolling(idn, enroller, body.password if body else None, address, rid)
    ceremony = await passkeys.registration_options(idn, enroller.account)
    return CeremonyOut(ceremony_id=ceremony.ceremony_id, public_key=ceremony.public_key)


@router.post(
    "/v1/accounts/me/mfa/webauthn/register/verify",
    status_code=201,
    tags=["passkeys"],
    responses=answers(401, 403, 409, 422),
)
async def passkey_registration_verify(
    body: PasskeyRegistrationIn, enroller: EnrollerDep, idn: IdentityDep
) -> PasskeyAddedOut:
    """Keep the passkey the authenticator created for the ceremony. An account's first second factor comes
    with its ten recovery codes, shown this once. With an access token, or with the enrolment token of sign-in."""
    added = await passkeys.register(idn, enroller.account, body.ceremony_id, body.credential, body.name or "")
    return PasskeyAddedOut(passkey=PasskeyOut.of(added.passkey), recovery_codes=added.recovery_codes)


@router.get("/v1/accounts/me/mfa/webauthn", tags=["passkeys"], responses=answers(401))
async def list_passkeys(principal: CurrentPrincipal, idn: IdentityDep) -> PasskeysOut:
    """The account's passkeys (never their keys)."""
    return PasskeysOut(items=[PasskeyOut.of(p) for p in await passkeys.listed(idn, principal.sub)])


@router.post(
    "/v1/accounts/me/mfa/webauthn/{passkey_id}/remove",
    status_code=204,
    tags=["passkeys"],
    responses=answers(401, 404, 409, 422, 429),
)
async def remove_passkey(
    passkey_id: str, body: PasswordIn, principal: CurrentPrincipal, idn: IdentityDep, address: ClientIp, rid: RequestId
) -> Response:
    """Remove one passkey (the password asked again). Officers and admins must keep another factor."""
    await enrolment.confirm_password(idn, principal.sub, body.password, address=address, request_id=rid)
    await factors.remove_passkey(idn, await _me(idn, principal.sub), passkey_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/v1/auth/webauthn/options", tags=["auth", "passkeys"], responses=answers(401, 422, 429))
async def passkey_sign_in_options(body: WebauthnOptionsIn, idn: IdentityDep, address: ClientIp) -> CeremonyOut:
    """Options for navigator.credentials.get. Without `mfa_token`: a passwordless sign-in with any passkey of
    this site (it must verify the person: PIN or biometrics). With the `mfa_token` of POST /v1/auth/login: the
    second step, with one of that account's passkeys."""
    ceremony = await passkeys.sign_in_options(idn, body.mfa_token, address=address)
    return CeremonyOut(ceremony_id=ceremony.ceremony_id, public_key=ceremony.public_key)


@router.post("/v1/auth/webauthn/verify", tags=["auth", "passkeys"], responses=answers(401, 422, 429))
async def passkey_sign_in_verify(
    body: WebauthnVerifyIn, idn: IdentityDep, address: ClientIp, rid: RequestId
) -> TokensOut:
    """Finish signing in with the passkey's answer to the ceremony; failures count towards the lockout."""
    signed_in = await passkeys.sign_in(idn, body.ceremony_id, body.credential, address=address, request_id=rid)
    return tokens_out(signed_in)
