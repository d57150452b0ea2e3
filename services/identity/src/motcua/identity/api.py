"""HTTP routes of identity: parse, authorise, call the use case, shape the answer."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Path, Query, Response, status
from motcua.common.auth import Admin, CurrentPrincipal, Principal
from motcua.common.errors import Forbidden, InvalidInput, NotFound
from motcua.common.paging import check_depth
from motcua.common.request_context import ClientIp, RequestId
from motcua.identity import officers, password_change, recovery, registration, sessions, signin, verification
from motcua.identity.deps import Identity, IdentityDep
from motcua.identity.details import normalise_email
from motcua.identity.enrolment import EnrolmentNeeded
from motcua.identity.model import AccountNotFound
from motcua.identity.schemas import (
    AcceptedOut,
    AccountOut,
    EnrolmentRequiredOut,
    LoginIn,
    MfaIn,
    MfaRequiredOut,
    OfficerIn,
    OfficerPage,
    PasswordChangedOut,
    PasswordChangeIn,
    RefreshIn,
    RegistrationIn,
    ResendIn,
    ResendOut,
    ResetConfirmIn,
    ResetIn,
    RolesIn,
    TokensOut,
    VerificationOut,
    VerifyEmailIn,
    VerifyPhoneIn,
)
from motcua.identity.store import account_of

router = APIRouter()
_WHY = {
    401: "Not signed in, or the credentials are wrong",
    403: "Signed in without the role this needs, or an enrolment token used for what it does not open",
    404: "No such account or session (someone else's answers the same)",
    409: "Conflicts with the account's state, or the detail is already registered",
    422: "A field breaks a rule; `errors` names each one",
    429: "Too many attempts or messages; see Retry-After",
    503: "The account's TOTP secret cannot be opened (a key is missing or the secret was altered); "
    "nothing is counted against the person",
}


def _answers(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """Problem-details answers of a route, for the OpenAPI document."""
    return {s: {"description": _WHY[s], "content": {"application/problem+json": {}}} for s in statuses}


def _tokens(tokens: sessions.Tokens) -> TokensOut:
    return TokensOut(access_token=tokens.access_token, refresh_token=tokens.refresh_token, expires_in=tokens.expires_in)


@router.post("/v1/accounts", status_code=201, tags=["accounts"], responses=_answers(409, 422, 429))
async def register(body: RegistrationIn, idn: IdentityDep, address: ClientIp, rid: RequestId) -> AccountOut:
    """Register an individual, business or organisation. The account stays `pending_verification` until
    the emailed link and the SMS code are both used. 409 when the email, phone or citizen ID is taken, without
    saying which (the holder is told); every attempt counts against the caller's address first."""
    account = await registration.register(
        idn,
        account_type=body.account_type,
        full_name=body.full_name,
        email=body.email,
        phone=body.phone,
        password=body.password,
        locale=body.locale,
        national_id=body.national_id,
        tax_code=body.tax_code,
        organisation_name=body.organisation_name,
        address=address,
        request_id=rid,
    )
    return AccountOut.of(account)


@router.post("/v1/accounts/verify-email", tags=["accounts"], responses=_answers(409, 422, 429))
async def verify_email(body: VerifyEmailIn, idn: IdentityDep, address: ClientIp, rid: RequestId) -> VerificationOut:
    """Confirm the email address with the token of the link `PUBLIC_BASE_URL/verify-email?token=…` (24 h)."""
    return VerificationOut.of(await verification.verify_email(idn, body.token, address=address, request_id=rid))


@router.post("/v1/accounts/verify-phone", tags=["accounts"], responses=_answers(404, 409, 422, 429))
async def verify_phone(body: VerifyPhoneIn, idn: IdentityDep, rid: RequestId) -> VerificationOut:
    """Confirm the phone with the 6-digit SMS code (10 minutes, 5 tries)."""
    return VerificationOut.of(await verification.verify_phone(idn, body.account_id, body.code, rid))


@router.post("/v1/accounts/resend-verification", status_code=202, tags=["accounts"], responses=_answers(404, 409, 429))
async def resend_verification(body: ResendIn, idn: IdentityDep, rid: RequestId) -> ResendOut:
    """Send a new link (`email`) or code (`sms`), replacing the previous one. At most one a minute and
    five an hour per channel; 429 with Retry-After beyond that."""
    expires_at = await verification.resend(idn, body.account_id, body.channel, rid)
    return ResendOut(channel=body.channel, expires_at=expires_at)


@router.get("/v1/accounts/me", tags=["accounts"], responses=_answers(401))
async def me(principal: CurrentPrincipal, idn: IdentityDep) -> AccountOut:
    """The signed-in account, without secrets."""
    doc = await idn.store.account(principal.sub)
    if doc is None:
        raise AccountNotFound()
    return AccountOut.of(account_of(doc))


@router.post("/v1/accounts/me/password", tags=["accounts"], responses=_answers(401, 409, 422, 429))
async def change_password(
    body: PasswordChangeIn, principal: CurrentPrincipal, idn: IdentityDep, address: ClientIp, rid: RequestId
) -> TokensOut:
    """Change the password with the current one. A wrong current password counts like a failed sign-in (422 on
    `/current_password` with `attempts_left`, then 429). Every session of the account ends, the caller's too:
    the answer carries the caller's new tokens. The owner is told by email."""
    tokens = await password_change.change(
        idn, principal.sub, body.current_password, body.new_password, address=address, request_id=rid
    )
    return _tokens(tokens)


@router.post("/v1/auth/login", tags=["auth"], responses=_answers(401, 429))
async def login(
    body: LoginIn, idn: IdentityDep, address: ClientIp, rid: RequestId
) -> TokensOut | MfaRequiredOut | EnrolmentRequiredOut:
    """Sign in with an email address or phone number and the password. With two-factor on, the answer is
    `{"mfa_required": true, "mfa_token", "methods"}` for POST /v1/auth/mfa or a passkey. Officers and admins
    without a second factor get `{"mfa_enrolment_required": true, "enrolment_token"}`, which opens only the
    enrolment routes. Five failures in 15 minutes from one address lock that address out of the account for
    15 minutes (429 with Retry-After; a password reset lifts it); a 401 carries `attempts_left`."""
    outcome = await signin.login(idn, body.username, body.password, address=address, request_id=rid)
    if isinstance(outcome, signin.SecondFactorNeeded):
        return MfaRequiredOut(mfa_token=outcome.mfa_token, expires_in=outcome.expires_in, methods=list(outcome.methods))
    if isinstance(outcome, EnrolmentNeeded):
        return EnrolmentRequiredOut(enrolment_token=outcome.enrolment_token, expires_in=outcome.expires_in)
    return _tokens(outcome)


@router.post("/v1/auth/mfa", tags=["auth"], responses=_answers(401, 429, 503))
async def second_factor(body: MfaIn, idn: IdentityDep, address: ClientIp, rid: RequestId) -> TokensOut:
    """Finish signing in with the authenticator app's code or a recovery code (each recovery code works once).
    503 when the account's TOTP secret cannot be opened: app codes are refused, recovery codes still work."""
    tokens = await signin.second_factor(idn, body.mfa_token, body.code, address=address, request_id=rid)
    return _tokens(tokens)


@router.post("/v1/auth/refresh", tags=["auth"], responses=_answers(401, 429))
async def refresh(body: RefreshIn, idn: IdentityDep, address: ClientIp) -> TokensOut:
    """New tokens for a refresh token, which stops working. Presenting a used one again signs out the
    whole session it belongs to."""
    return _tokens(await sessions.refresh(idn, body.refresh_token, address=address))


@router.post("/v1/auth/logout", status_code=204, tags=["auth"], responses=_answers(401, 404))
async def logout(body: RefreshIn, principal: CurrentPrincipal, idn: IdentityDep, rid: RequestId) -> Response:
    """Sign out: the session of this refresh token ends, and every service refuses its access tokens within
    a second or two."""
    if not await sessions.end(idn, principal.sub, body.refresh_token, request_id=rid):
        raise NotFound("No session of yours has this refresh token.")
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/v1/auth/password-reset", status_code=202, tags=["auth"], responses=_answers(422, 429))
async def password_reset(
    body: ResetIn, idn: IdentityDep, address: ClientIp, rid: RequestId, background: BackgroundTasks
) -> AcceptedOut:
    """Email a reset link (valid 1 hour) if an account has this address. Always 202, whether or not it does."""
    try:
        email = normalise_email(body.email)
    except ValueError as exc:
        raise InvalidInput.one("/email", str(exc)) from exc
    await registration.limit_per_address(idn, "reset", address, idn.settings.identity_resets_per_ip_per_hour)
    background.add_task(recovery.send_link, idn, email, rid)
    return AcceptedOut(detail="If an account uses this address, a reset link is on its way.")


@router.post("/v1/auth/password-reset/confirm", tags=["auth"], responses=_answers(422, 429))
async def password_reset_confirm(
    body: ResetConfirmIn, idn: IdentityDep, address: ClientIp, rid: RequestId
) -> PasswordChangedOut:
    """Set a new password with the emailed link's token; every session of the account is signed out and its
    access tokens refused."""
    await recovery.set_password(idn, body.token, body.new_password, address=address, request_id=rid)
    return PasswordChangedOut()


@router.get("/v1/admin/officers", tags=["admin"], responses=_answers(401, 403, 422))
async def list_officers(
    admin: Admin,
    idn: IdentityDep,
    agency: Annotated[str | None, Query(min_length=1, max_length=32, pattern=r"^[A-Z0-9][A-Z0-9-]*$")] = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 50,
) -> OfficerPage:
    """The officers, by name (of one agency with `agency`), with their roles."""
    check_depth(page, page_size)
    found, total = await officers.of_agency(idn, agency, skip=(page - 1) * page_size, limit=page_size)
    return OfficerPage(items=[AccountOut.of(a) for a in found], total=total, page=page, page_size=page_size)


@router.put("/v1/admin/officers/{account_id}/roles", tags=["admin"], responses=_answers(401, 403, 404, 422))
async def set_officer_roles(
    account_id: Annotated[str, Path(max_length=64)],
    body: RolesIn,
    who: CurrentPrincipal,
    idn: IdentityDep,
    rid: RequestId,
) -> AccountOut:
    """An admin, or an approver of the officer's agency (its lead), sets the officer's desk roles: the directory
    is told and the officer's sessions end (they sign in again with the new roles). Another agency's officer:
    404; an officer of the agency without `approver`, or a citizen: 403."""
    if not (who.has("admin") or who.has("officer")):
        raise Forbidden("Only an admin or an agency's approver sets an officer's roles.")
    account = await officers.set_roles(idn, account_id, list(body.roles), by=who, request_id=rid)
    return AccountOut.of(account)


async def _set_enabled(account_id: str, enabled: bool, who: Principal, idn: Identity, rid: str | None) -> AccountOut:
    if not (who.has("admin") or who.has("officer")):
        raise Forbidden("Only an admin or an agency's approver disables or enables an officer.")
    return AccountOut.of(await officers.set_enabled(idn, account_id, enabled, by=who, request_id=rid))


@router.post("/v1/admin/officers/{account_id}/disable", tags=["admin"], responses=_answers(401, 403, 404, 409, 422))
async def disable_officer(
    account_id: Annotated[str, Path(max_length=64)], who: CurrentPrincipal, idn: IdentityDep, rid: RequestId
) -> AccountOut:
    """An admin, or an approver of the officer's agency, takes the officer off the desk: they can no longer sign
    in, their sessions end at once, and the directory marks them inactive (no new assignment, no notice). 409 for
    one's own account; another agency's officer: 404."""
    return await _set_enabled(account_id, False, who, idn, rid)


@router.post("/v1/admin/officers/{account_id}/enable", tags=["admin"], responses=_answers(401, 403, 404, 422))
async def enable_officer(
    account_id: Annotated[str, Path(max_length=64)], who: CurrentPrincipal, idn: IdentityDep, rid: RequestId
) -> AccountOut:
    """Put a disabled officer back on the desk, with the roles they had: they sign in again."""
    return await _set_enabled(account_id, True, who, idn, rid)


@router.post("/v1/admin/officers", status_code=201, tags=["admin"], responses=_answers(401, 403, 409, 422))
async def create_officer(body: OfficerIn, admin: Admin, idn: IdentityDep, rid: RequestId) -> AccountOut:
    """Create an active officer account bound to an agency code (capitals, such as BTP)."""
    account = await registration.create_officer(
        idn,
        full_name=body.full_name,
        email=body.email,
        phone=body.phone,
        password=body.password,
        agency_code=body.agency_code,
        agency_roles=tuple(body.roles),
        admin_id=admin.sub,
        request_id=rid,
    )
    return AccountOut.of(account)
