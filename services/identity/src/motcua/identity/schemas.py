"""What the HTTP API accepts and answers. Shapes and bounds only; the rules live in the domain."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from motcua.common.contracts.identity import AgencyRole
from motcua.identity.model import AGENCY_ROLES, Account, AccountType, CitizenType, Locale, Status
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

Short = Annotated[str, StringConstraints(max_length=64)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Email = Annotated[str, StringConstraints(min_length=3, max_length=254)]
Phone = Annotated[str, StringConstraints(min_length=1, max_length=32)]
Password = Annotated[str, StringConstraints(min_length=1, max_length=256)]
Secret = Annotated[str, StringConstraints(min_length=1, max_length=256)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RegistrationIn(_In):
    account_type: CitizenType = Field(description="individual, business or organisation")
    full_name: Name
    email: Email
    phone: Phone = Field(description="A Vietnamese mobile number: 0912345678 or +84912345678")
    password: Password = Field(description="8 to 128 characters, any Unicode; a phrase of 15 or more is best")
    locale: Locale = "vi"
    national_id: Short | None = Field(default=None, description="12-digit citizen ID; individuals only")
    tax_code: Short | None = Field(default=None, description="10 or 13 digits; businesses (organisations optional)")
    organisation_name: Annotated[str, StringConstraints(min_length=1, max_length=300)] | None = None

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "example": {
                "account_type": "individual",
                "full_name": "Nguyễn Thị An",
                "email": "an.nguyen@example.vn",
                "phone": "0912345678",
                "password": "sông Hồng chảy qua bốn mùa",
                "locale": "vi",
                "national_id": "001190012345",
            }
        },
    )


class OfficerIn(_In):
    full_name: Name
    email: Email
    phone: Phone
    password: Password
    agency_code: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    roles: list[AgencyRole] = Field(
        default_factory=lambda: list(AGENCY_ROLES),
        min_length=1,
        max_length=3,
        description="the officer's roles in the agency: intake, specialist, approver (default: all three)",
    )

    @field_validator("roles")
    @classmethod
    def _each_once(cls, roles: list[AgencyRole]) -> list[AgencyRole]:
        if len(set(roles)) != len(roles):
            raise ValueError("name each role once")
        return [r for r in AGENCY_ROLES if r in roles]


class VerifyEmailIn(_In):
    token: Secret


class VerifyPhoneIn(_In):
    account_id: Short
    code: Annotated[str, StringConstraints(min_length=1, max_length=16)]


class ResendIn(_In):
    account_id: Short
    channel: Literal["email", "sms"]


class LoginIn(_In):
    username: Annotated[str, StringConstraints(min_length=1, max_length=254)] = Field(
        description="The email address or phone number"
    )
    password: Password


class MfaIn(_In):
    mfa_token: Secret
    code: Annotated[str, StringConstraints(min_length=1, max_length=32)] = Field(
        description="The 6-digit code of the authenticator app, or a recovery code"
    )


class RefreshIn(_In):
    refresh_token: Secret


class ResetIn(_In):
    email: Email


class ResetConfirmIn(_In):
    token: Secret
    new_password: Password


class PasswordChangeIn(_In):
    current_password: Password
    new_password: Password


class CodeIn(_In):
    code: Annotated[str, StringConstraints(min_length=1, max_length=16)]


class PasswordIn(_In):
    password: Password = Field(description="The account's password, asked again")


class PasswordAgainIn(_In):
    password: Password | None = Field(
        default=None, description="Required with an access token; not with an enrolment token (no body then)"
    )


class WebauthnOptionsIn(_In):
    mfa_token: Secret | None = Field(
        default=None, description="After the password step: its mfa_token. Without it: a passwordless sign-in"
    )


class WebauthnVerifyIn(_In):
    ceremony_id: Secret
    credential: dict[str, Any] = Field(description="The PublicKeyCredential of navigator.credentials, as JSON")


class PasskeyRegistrationIn(WebauthnVerifyIn):
    name: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = Field(
        default=None, description='What the person calls this passkey ("work laptop")'
    )


class AccountOut(BaseModel):
    """An account as its holder sees it: never a password hash, code or secret."""

    id: str
    account_type: AccountType
    status: Status
    roles: list[str]
    full_name: str
    email: str
    phone: str | None
    locale: Locale
    email_verified: bool
    phone_verified: bool
    mfa_enabled: bool
    national_id: str | None = None
    tax_code: str | None = None
    organisation_name: str | None = None
    agency_code: str | None = None
    agency_roles: list[AgencyRole] | None = None
    created_at: datetime

    @classmethod
    def of(cls, account: Account) -> AccountOut:
        return cls(
            id=account.id,
            account_type=account.account_type,
            status=account.status,
            roles=account.roles,
            full_name=account.full_name,
            email=account.email,
            phone=account.phone,
            locale=account.locale,
            email_verified=account.email_verified_at is not None,
            phone_verified=account.phone_verified_at is not None,
            mfa_enabled=account.mfa_enabled,
            national_id=account.national_id,
            tax_code=account.tax_code,
            organisation_name=account.organisation_name,
            agency_code=account.agency_code,
            agency_roles=list(account.agency_roles) if account.account_type == "officer" else None,
            created_at=account.created_at,
        )


class VerificationOut(BaseModel):
    """Where verification stands; nothing personal, since anyone holding the link or code sees it."""

    id: str
    status: Status
    email_verified: bool
    phone_verified: bool

    @classmethod
    def of(cls, account: Account) -> VerificationOut:
        return cls(
            id=account.id,
            status=account.status,
            email_verified=account.email_verified_at is not None,
            phone_verified=account.phone_verified_at is not None,
        )


class ResendOut(BaseModel):
    channel: Literal["email", "sms"]
    expires_at: datetime


class TokensOut(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int


class MfaRequiredOut(BaseModel):
    mfa_required: Literal[True] = True
    mfa_token: str
    expires_in: int
    methods: list[Literal["totp", "webauthn"]] = Field(
        default=["totp"], description="How to finish: `totp` (POST /v1/auth/mfa), `webauthn` (a passkey)"
    )


class EnrolmentRequiredOut(BaseModel):
    """An officer or admin without a second factor: the token opens only the enrolment routes."""

    mfa_enrolment_required: Literal[True] = True
    enrolment_token: str
    expires_in: int


class CeremonyOut(BaseModel):
    ceremony_id: str
    public_key: dict[str, Any] = Field(description="PublicKeyCredentialCreationOptions or …RequestOptions, as JSON")


class PasskeyOut(BaseModel):
    id: str
    name: str
    created_at: datetime
    last_used_at: datetime | None
    backed_up: bool

    @classmethod
    def of(cls, doc: dict[str, Any]) -> PasskeyOut:
        return cls(
            id=doc["_id"],
            name=doc["name"],
            created_at=doc["created_at"],
            last_used_at=doc.get("last_used_at"),
            backed_up=bool(doc.get("backed_up")),
        )


class PasskeyAddedOut(BaseModel):
    passkey: PasskeyOut
    recovery_codes: list[str] | None = Field(
        description="With an account's first second factor: ten single-use recovery codes, shown this once"
    )


class PasskeysOut(BaseModel):
    items: list[PasskeyOut]


class AcceptedOut(BaseModel):
    status: Literal["accepted"] = "accepted"
    detail: str


class PasswordChangedOut(BaseModel):
    status: Literal["password_changed"] = "password_changed"


class TotpStartOut(BaseModel):
    secret: str
    otpauth_uri: str


class RecoveryCodesOut(BaseModel):
    recovery_codes: list[str]
