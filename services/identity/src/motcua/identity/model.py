"""The identity domain: accounts, their roles and states, and the errors of its rules. No I/O."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, get_args

from motcua.common.contracts.identity import AgencyRole
from motcua.common.errors import Conflict, Forbidden, NotFound, TooManyRequests, Unauthenticated, Unavailable

AccountType = Literal["individual", "business", "organisation", "officer", "admin"]
# An officer's roles in their agency: intake (tiếp nhận), specialist (chuyên viên), approver (lãnh đạo).
AGENCY_ROLES: tuple[AgencyRole, ...] = ("intake", "specialist", "approver")
CitizenType = Literal["individual", "business", "organisation"]
# `disabled`: an officer an admin or their agency's lead took off the desk (sign-in refused, sessions ended).
Status = Literal["pending_verification", "active", "disabled"]
Locale = Literal["vi", "en"]
Channel = Literal["email", "sms"]

CITIZEN_TYPES: frozenset[str] = frozenset(get_args(CitizenType))
# Accounts that act for the state: a second factor is mandatory for them (ASVS 6.3.3).
STAFF_TYPES: frozenset[str] = frozenset({"officer", "admin"})

# A refused sign-in says in words how many attempts are left once this few are.
WARN_WHEN_LEFT = 2


class AccountNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("No account with that id.")


class AlreadyRegistered(Conflict):
    """Another account holds this email, phone or citizen ID. Citizens are not told which (that would let anyone
    look up whose details are registered); the admin creating an officer is."""

    title = "Already registered"

    def __init__(self, fields: list[str] | None = None) -> None:
        if fields is None:
            detail = (
                "An account with some of these details already exists. If it is yours, sign in or reset your "
                "password; its owner has been told of this attempt."
            )
        else:
            names = {"email": "email address", "phone": "phone number", "national_id": "citizen ID"}
            detail = f"An account with this {' and '.join(names.get(f, f) for f in fields)} already exists."
        super().__init__(detail)
        self.fields = fields or []


class AlreadyVerified(Conflict):
    title = "Already verified"

    @classmethod
    def proof(cls, proof: str) -> AlreadyVerified:
        return cls(f"This {'email address' if proof == 'email' else 'phone number'} is already verified.")


class InvalidCredentials(Unauthenticated):
    title = "Sign-in failed"

    def __init__(self, detail: str = "The username or password is incorrect.") -> None:
        super().__init__(detail)

    @classmethod
    def with_left(cls, detail: str, left: int, *, second_factor: bool = False) -> InvalidCredentials:
        """The refusal, carrying `attempts_left`, and saying so in words once few are left."""
        if left <= WARN_WHEN_LEFT:
            detail += f" {left} attempt(s) left before sign-in pauses"
            detail += "." if second_factor else "; a password reset lifts the pause."
        refused = cls(detail)
        refused.extensions = {"attempts_left": left}
        return refused


class VerificationPending(Unauthenticated):
    """Raised only once the password matched: so it may name the account (its id, for resend-verification
    and verify-phone) and which proofs are still missing, which a wrong password never learns."""

    title = "Account not verified"

    def __init__(self, account_id: str, *, email_verified: bool, phone_verified: bool) -> None:
        super().__init__(
            "Verify your account first: open the link we emailed you and enter the code we sent by SMS "
            "(POST /v1/accounts/resend-verification sends them again)."
        )
        self.extensions = {
            "account_id": account_id,
            "email_verified": email_verified,
            "phone_verified": phone_verified,
        }


class AccountDisabled(Unauthenticated):
    """Raised only once the password matched, like `VerificationPending`: a wrong password never learns it."""

    title = "Account disabled"

    def __init__(self) -> None:
        super().__init__("This account has been disabled; ask your agency's lead or an administrator.")


class CannotDisableSelf(Conflict):
    title = "Cannot disable your own account"

    def __init__(self) -> None:
        super().__init__("Another admin or the agency's lead must disable this account.")


class SessionEnded(Unauthenticated):
    title = "Session ended"


class LockedOut(TooManyRequests):
    title = "Temporarily locked"

    def __init__(self, retry_after: int, *, second_factor: bool = False) -> None:
        minutes = max(1, math.ceil(retry_after / 60))
        if second_factor:  # whoever guesses here knows the password: a reset must not give them more guesses
            detail = f"Too many wrong second-factor codes. Try again in {minutes} minute(s)."
        else:
            detail = (
                f"Too many failed sign-ins. Try again in {minutes} minute(s), or reset your password: "
                "a password reset lifts the lock at once."
            )
        super().__init__(detail, retry_after=retry_after)
        self.extensions = {"attempts_left": 0}


class SendLimited(TooManyRequests):
    title = "Too many messages"

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            f"A message was sent recently; you can ask for another in {retry_after} second(s).",
            retry_after=retry_after,
        )


class TwoFactorState(Conflict):
    title = "Two-factor state"


class EnrolmentOnly(Forbidden):
    """An enrolment token used for what it does not open, or after its account has a second factor."""

    title = "Enrol a second factor first"


class LastSecondFactor(Conflict):
    """An officer or admin removing the only second factor they have."""

    title = "Last second factor"

    def __init__(self) -> None:
        super().__init__(
            "Officers and admins must keep a second factor: add another (an authenticator app or a passkey) "
            "before removing this one."
        )


class TwoFactorUnavailable(Unavailable):
    """The account's TOTP secret cannot be opened (its key is missing, or it was altered): refuse, never guess."""

    title = "Two-factor check unavailable"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)


@dataclass(frozen=True)
class Registration:
    """What a person or body registers with, validated and normalised."""

    account_type: AccountType
    full_name: str
    email: str
    phone: str
    locale: Locale = "vi"
    national_id: str | None = None
    tax_code: str | None = None
    organisation_name: str | None = None
    agency_code: str | None = None

    def personal_words(self) -> list[str]:
        """What a password must not be built from: the person's own details."""
        return personal_words(
            self.full_name, self.email, self.phone, self.national_id, self.tax_code, self.organisation_name
        )


@dataclass(frozen=True)
class Account:
    """An account as the domain sees it (no secrets)."""

    id: str
    account_type: AccountType
    status: Status
    full_name: str
    email: str
    phone: str | None
    locale: Locale
    created_at: datetime
    national_id: str | None = None
    tax_code: str | None = None
    organisation_name: str | None = None
    agency_code: str | None = None
    agency_roles: tuple[AgencyRole, ...] = ()  # an officer's roles inside their agency's desk
    email_verified_at: datetime | None = None
    phone_verified_at: datetime | None = None
    mfa_enabled: bool = False  # any second factor: an authenticator app (TOTP) or a passkey
    totp_enabled: bool = False
    passkeys: int = 0

    @property
    def roles(self) -> list[str]:
        return roles_for(self.account_type)

    @property
    def active(self) -> bool:
        return self.status == "active"

    @property
    def staff(self) -> bool:
        return self.account_type in STAFF_TYPES

    @property
    def second_factors(self) -> tuple[str, ...]:
        """How this account can finish a sign-in: `totp` (an authenticator app), `webauthn` (a passkey)."""
        return (("totp",) if self.totp_enabled else ()) + (("webauthn",) if self.passkeys else ())

    def must_enrol(self, *, staff_rule: bool) -> bool:
        """An officer or admin without a second factor, while the rule is on: no tokens until they enrol."""
        return staff_rule and self.staff and not self.mfa_enabled

    def may_drop_a_factor(self, *, staff_rule: bool) -> bool:
        """Removing one factor leaves staff with another (citizens may go back to the password alone)."""
        factors = int(self.totp_enabled) + self.passkeys
        return not (staff_rule and self.staff) or factors > 1

    def personal_words(self) -> list[str]:
        return personal_words(
            self.full_name, self.email, self.phone, self.national_id, self.tax_code, self.organisation_name
        )


def personal_words(full_name: str, email: str, phone: str | None, *others: str | None) -> list[str]:
    """A person's own details, which their password must not be built from."""
    words = [full_name, *full_name.split(), email, email.split("@")[0]]
    if phone:
        words += [phone, phone.lstrip("+"), "0" + phone[3:]]
    return words + [w for w in others if w]


def roles_for(account_type: str) -> list[str]:
    """Citizens (individuals, businesses, organisations), officers and admins."""
    if account_type in CITIZEN_TYPES:
        return ["citizen"]
    if account_type == "officer":
        return ["officer"]
    return ["admin"]


def becomes_active(*, email_verified: bool, phone_verified: bool) -> bool:
    """An account is active once both its email and its phone are verified."""
    return email_verified and phone_verified
