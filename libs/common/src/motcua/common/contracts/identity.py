"""Events of the identity service, on `motcua.identity.account.v1` (read only by notification)."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

from motcua.common import topics
from motcua.common.events import Event, register
from motcua.common.sealing import SealedText
from pydantic import Field

# A live secret, sealed for notification alone (motcua.common.sealing); a plain string only in events
# written before sealing began.
Secret = SealedText | str
_SEALED = "Sealed for notification (motcua.common.sealing, EVENT_SECRET_KEYS); a plain string only in older events."

AccountType = Literal["individual", "business", "organisation", "officer", "admin"]
Locale = Literal["vi", "en"]


class _AccountEvent(Event):
    topic: ClassVar[str] = topics.IDENTITY_ACCOUNT
    subject_field: ClassVar[str] = "account_id"

    account_id: str


class _ContactDetails(_AccountEvent):
    """The contact details notification keeps for an account."""

    account_type: AccountType
    full_name: str
    email: str
    phone: str
    locale: Locale = "vi"


@register
class AccountRegistered(_ContactDetails):
    """A person or body registered; carries the contact details notification keeps."""

    ce_type: ClassVar[str] = "motcua.identity.AccountRegistered.v1"


@register
class EmailVerificationRequested(_AccountEvent):
    """Send this link (sealed) to confirm the email address; useless after `expires_at`."""

    ce_type: ClassVar[str] = "motcua.identity.EmailVerificationRequested.v1"

    full_name: str
    email: str
    locale: Locale = "vi"
    verification_url: Secret = Field(description=f"The link with its token. {_SEALED}")
    expires_at: datetime


@register
class PhoneVerificationRequested(_AccountEvent):
    """Send this 6-digit code (sealed) by SMS; useless after `expires_at`."""

    ce_type: ClassVar[str] = "motcua.identity.PhoneVerificationRequested.v1"

    full_name: str
    phone: str
    locale: Locale = "vi"
    code: Secret = Field(description=f"The 6-digit code. {_SEALED}")
    expires_at: datetime


@register
class AccountActivated(_ContactDetails):
    """Email and phone are both verified: the account can sign in."""

    ce_type: ClassVar[str] = "motcua.identity.AccountActivated.v1"


@register
class PasswordResetRequested(_AccountEvent):
    """Send this single-use reset link (sealed); useless after `expires_at`."""

    ce_type: ClassVar[str] = "motcua.identity.PasswordResetRequested.v1"

    full_name: str
    email: str
    locale: Locale = "vi"
    reset_url: Secret = Field(description=f"The single-use link with its token. {_SEALED}")
    expires_at: datetime


@register
class AccountLocked(_AccountEvent):
    """Too many failed sign-ins: the account is locked until `locked_until`."""

    ce_type: ClassVar[str] = "motcua.identity.AccountLocked.v1"

    locked_until: datetime
    failed_attempts: int


@register
class DuplicateRegistrationAttempted(_AccountEvent):
    """Someone tried to register with details this account already holds: tell its owner on `channel` (the
    email, or an SMS when only the phone matched), since the 409 answer no longer says which detail was taken."""

    ce_type: ClassVar[str] = "motcua.identity.DuplicateRegistrationAttempted.v1"

    full_name: str
    email: str
    phone: str
    locale: Locale = "vi"
    channel: Literal["email", "sms"]
    attempted_at: datetime


SecurityChange = Literal[
    "password_changed",
    "password_reset",
    "email_changed",
    "phone_changed",
    "two_factor_enabled",
    "two_factor_disabled",
    "passkey_added",
    "passkey_removed",
    "recovery_codes_regenerated",
]


@register
class AccountSecurityChanged(_AccountEvent):
    """The account's password, email, phone or a second factor changed: tell its owner by email, so a change
    they did not make does not go unnoticed. Carries no secret. For an email change, `email` is the old address."""

    ce_type: ClassVar[str] = "motcua.identity.AccountSecurityChanged.v1"

    full_name: str
    email: str
    locale: Locale = "vi"
    change: SecurityChange
    changed_at: datetime


# Why sessions ended: a sign-out, a password reset or change, new desk roles, or an officer disabled.
RevocationReason = Literal["logout", "password_reset", "password_changed", "roles_changed", "disabled"]


@register
class SessionsRevoked(Event):
    """These sessions ended (sign-out, password reset or change, new roles, the officer disabled): their access
    tokens are refused from now on, by every service, until `valid_until`, when the last of them has expired anyway."""

    ce_type: ClassVar[str] = "motcua.identity.SessionsRevoked.v1"
    topic: ClassVar[str] = topics.IDENTITY_SESSION
    subject_field: ClassVar[str] = "account_id"

    account_id: str
    session_ids: list[str] = Field(description="The `sid` claims of the access tokens to refuse.")
    reason: RevocationReason
    revoked_at: datetime
    valid_until: datetime = Field(description="After this, no access token of these sessions is valid anyway.")


AgencyRole = Literal["intake", "specialist", "approver"]


@register
class OfficerProfileChanged(Event):
    """An officer's entry in the directory (created, roles changed, disabled): who they are at which agency's
    desk. Keyed by account id on a compacted topic, so its latest record is the officer's whole entry. No
    contact details and no secret: submission reads it to assign dossiers, notification to find approvers."""

    ce_type: ClassVar[str] = "motcua.identity.OfficerProfileChanged.v1"
    topic: ClassVar[str] = topics.IDENTITY_DIRECTORY
    subject_field: ClassVar[str] = "account_id"

    account_id: str
    full_name: str
    agency_code: str
    agency_roles: list[AgencyRole] = Field(description="The desk roles held at the agency (one or more).")
    active: bool = Field(description="False once the officer may no longer act (disabled).")
    changed_at: datetime


ApplicantType = Literal["individual", "business", "organisation"]


@register
class AccountProfileChanged(Event):
    """An applicant's profile as identity verified it (at activation, and at each change of name, email or
    phone): who files a dossier. Keyed by account id on a compacted topic, so its latest record is the whole
    profile. No secret of any kind (no hash, code, token or sealed field): submission alone reads it, to copy
    the applicant's details into each dossier at submission, for the agency's officers."""

    ce_type: ClassVar[str] = "motcua.identity.AccountProfileChanged.v1"
    topic: ClassVar[str] = topics.IDENTITY_PROFILE
    subject_field: ClassVar[str] = "account_id"

    account_id: str
    account_type: ApplicantType
    full_name: str
    national_id: str | None = Field(default=None, description="The 12-digit citizen ID (individuals).")
    tax_code: str | None = Field(default=None, description="10 or 13 digits (businesses; organisations may have one).")
    organisation_name: str | None = Field(default=None, description="Businesses and organisations.")
    email: str = Field(description="Verified by a link.")
    phone: str = Field(description="E.164 (+84…), verified by an SMS code.")
    changed_at: datetime
