"""The events identity emits on motcua.identity.account.v1, the officers' directory on
motcua.identity.directory.v1 and the applicants' profiles on motcua.identity.profile.v1 (through the outbox);
it consumes none.

Each carries what notification needs to reach the person and nothing more. The live secrets (links with
their tokens, SMS codes) are sealed for notification alone (motcua.common.sealing), so the outbox, the topic
and its dead-letter topic hold no usable secret.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from motcua.common.contracts.identity import (
    AccountActivated,
    AccountLocked,
    AccountProfileChanged,
    AccountRegistered,
    AccountSecurityChanged,
    DuplicateRegistrationAttempted,
    EmailVerificationRequested,
    OfficerProfileChanged,
    PasswordResetRequested,
    PhoneVerificationRequested,
    RevocationReason,
    SecurityChange,
    SessionsRevoked,
)
from motcua.common.sealing import EventSealer, SealedText, purpose
from motcua.identity.model import CITIZEN_TYPES, Account

# ce_type -> handler; identity reads no other service's events.
HANDLERS: dict[str, object] = {}


def registered(account: Account) -> AccountRegistered:
    return AccountRegistered(
        account_id=account.id,
        account_type=account.account_type,
        full_name=account.full_name,
        email=account.email,
        phone=account.phone or "",
        locale=account.locale,
    )


def activated(account: Account) -> AccountActivated:
    return AccountActivated(
        account_id=account.id,
        account_type=account.account_type,
        full_name=account.full_name,
        email=account.email,
        phone=account.phone or "",
        locale=account.locale,
    )


def applicant_profile(account: Account, at: datetime) -> AccountProfileChanged | None:
    """The applicant's profile as it stands after this change, for submission (no secret: only the details a
    filed dossier names); None for officers and admins, who file nothing."""
    if account.account_type not in CITIZEN_TYPES:
        return None
    return AccountProfileChanged(
        account_id=account.id,
        account_type=account.account_type,
        full_name=account.full_name,
        national_id=account.national_id,
        tax_code=account.tax_code,
        organisation_name=account.organisation_name,
        email=account.email,
        phone=account.phone or "",
        changed_at=at,
    )


def officer_profile(account: Account, at: datetime) -> OfficerProfileChanged:
    """The officer's entry in the directory, as it stands after this change."""
    assert account.agency_code is not None
    return OfficerProfileChanged(
        account_id=account.id,
        full_name=account.full_name,
        agency_code=account.agency_code,
        agency_roles=list(account.agency_roles),
        active=account.active,
        changed_at=at,
    )


def _sealed(sealer: EventSealer, ce_type: str, field_name: str, secret: str, account: Account) -> SealedText:
    return sealer.seal(secret, purpose=purpose(ce_type, field_name), owner=account.id)


def email_link(account: Account, url: str, expires_at: datetime, sealer: EventSealer) -> EmailVerificationRequested:
    kind = EmailVerificationRequested.ce_type
    return EmailVerificationRequested(
        account_id=account.id,
        full_name=account.full_name,
        email=account.email,
        locale=account.locale,
        verification_url=_sealed(sealer, kind, "verification_url", url, account),
        expires_at=expires_at,
    )


def sms_code(account: Account, code: str, expires_at: datetime, sealer: EventSealer) -> PhoneVerificationRequested:
    return PhoneVerificationRequested(
        account_id=account.id,
        full_name=account.full_name,
        phone=account.phone or "",
        locale=account.locale,
        code=_sealed(sealer, PhoneVerificationRequested.ce_type, "code", code, account),
        expires_at=expires_at,
    )


def reset_link(account: Account, url: str, expires_at: datetime, sealer: EventSealer) -> PasswordResetRequested:
    return PasswordResetRequested(
        account_id=account.id,
        full_name=account.full_name,
        email=account.email,
        locale=account.locale,
        reset_url=_sealed(sealer, PasswordResetRequested.ce_type, "reset_url", url, account),
        expires_at=expires_at,
    )


def locked(account_id: str, until: datetime, failures: int) -> AccountLocked:
    return AccountLocked(account_id=account_id, locked_until=until, failed_attempts=failures)


def duplicate_registration(
    account: Account, channel: Literal["email", "sms"], at: datetime
) -> DuplicateRegistrationAttempted:
    return DuplicateRegistrationAttempted(
        account_id=account.id,
        full_name=account.full_name,
        email=account.email,
        phone=account.phone or "",
        locale=account.locale,
        channel=channel,
        attempted_at=at,
    )


def security_changed(account: Account, change: SecurityChange, at: datetime) -> AccountSecurityChanged:
    """The notice of a change to how the account signs in or is reached; never the new value of a secret."""
    return AccountSecurityChanged(
        account_id=account.id,
        full_name=account.full_name,
        email=account.email,
        locale=account.locale,
        change=change,
        changed_at=at,
    )


def sessions_revoked(
    account_id: str,
    session_ids: list[str],
    reason: RevocationReason,
    now: datetime,
    valid_until: datetime,
) -> SessionsRevoked:
    return SessionsRevoked(
        account_id=account_id, session_ids=session_ids, reason=reason, revoked_at=now, valid_until=valid_until
    )
