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
class SessionsRevoked(Event):
    """These sessions ended (sign-out, password reset or change): their access tokens are refused from now on,
    by every service, until `valid_until`, when the last of them has expired anyway."""

    ce_type: ClassVar[str] = "motcua.identity.SessionsRevoked.v1"
    topic: ClassVar[str] = topics.IDENTITY_SESSION
    subject_field: ClassVar[str] = "account_id"

    account_id: str
    session_ids: list[str] = Field(description="The `sid` claims of the access tokens to refuse.")
    reason: Literal["logout", "password_reset", "password_changed"]
    revoked_at: datetime
    valid_until: datetime = Field(description="After this, no access token of these sessions is valid anyway.")
