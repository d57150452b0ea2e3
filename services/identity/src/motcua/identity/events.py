"""The events identity emits on motcua.identity.account.v1 (through the outbox); it consumes none.

Each carries what notification needs to reach the person and nothing more.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from motcua.common.contracts.identity import (
    AccountActivated,
    AccountLocked,
    AccountRegistered,
    AccountSecurityChanged,
    DuplicateRegistrationAttempted,
    EmailVerificationRequested,
    PasswordResetRequested,
    PhoneVerificationRequested,
    SecurityChange,
)
from motcua.identity.model import Account

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


def email_link(account: Account, url: str, expires_at: datetime) -> EmailVerificationRequested:
    return EmailVerificationRequested(
        account_id=account.id,
        full_name=account.full_name,
        email=account.email,
        locale=account.locale,
        verification_url=url,
        expires_at=expires_at,
    )


def sms_code(account: Account, code: str, expires_at: datetime) -> PhoneVerificationRequested:
    return PhoneVerificationRequested(
        account_id=account.id,
        full_name=account.full_name,
        phone=account.phone or "",
        locale=account.locale,
        code=code,
        expires_at=expires_at,
    )


def reset_link(account: Account, url: str, expires_at: datetime) -> PasswordResetRequested:
    return PasswordResetRequested(
        account_id=account.id,
        full_name=account.full_name,
        email=account.email,
        locale=account.locale,
        reset_url=url,
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
