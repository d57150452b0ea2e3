"""Configuration of the identity service: the shared variables plus its keys, windows and limits.

Every time window is a setting so that tests (and operators) can shrink or stretch it.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from motcua.common import sealing
from motcua.common.cpu import available_cpus
from motcua.common.settings import DEPLOYMENT_SETS, ServiceSettings
from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict


class Settings(ServiceSettings):
    """`IDENTITY_*` variables; the contract's three plus the tunables documented in docs/identity.md."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True, populate_by_name=True)

    service_name: str = "identity"
    port: int = Field(default=8001, validation_alias=AliasChoices("IDENTITY_PORT", "port"))

    identity_signing_key_file: Path = Path("var/identity/signing-key.pem")
    # the first administrator (who then creates officers): every deployment names one
    identity_bootstrap_admin_email: str = Field(default="", json_schema_extra=DEPLOYMENT_SETS)
    identity_bootstrap_admin_password: SecretStr = Field(default=SecretStr(""), json_schema_extra=DEPLOYMENT_SETS)
    # Base64 AES-256 keys for TOTP secrets at rest; the first seals, all open. Empty: a key file
    # beside the signing key, generated on first start (see motcua.identity.sealing); a deployment with
    # more than one replica must give every replica the same keys.
    identity_totp_encryption_keys: SecretStr = Field(default=SecretStr(""), json_schema_extra=DEPLOYMENT_SETS)
    # The keys that seal the live secrets of identity's events for notification alone (motcua.common.sealing):
    # `kid:base64key` pairs, newest first; identity and notification hold the same list. Empty: the published
    # development key (make run, tests).
    event_secret_keys: SecretStr = Field(default=SecretStr(""), json_schema_extra=DEPLOYMENT_SETS)

    # officers and admins: a second factor (TOTP or a passkey) before any token; false only in development
    identity_staff_second_factor_required: bool = True
    identity_enrolment_token_ttl_seconds: int = Field(default=600, ge=30, le=3600)
    # passkeys (WebAuthn): the relying party is PUBLIC_BASE_URL's host and origin
    identity_webauthn_rp_name: str = "Một Cửa"
    identity_webauthn_challenge_ttl_seconds: int = Field(default=300, ge=10, le=900)
    identity_passkeys_per_account: int = Field(default=10, ge=1, le=50)
    identity_webauthn_ceremonies_per_ip_per_hour: int = Field(default=120, ge=1)

    # tokens
    identity_access_token_ttl_seconds: int = Field(default=900, ge=30, le=900)
    identity_refresh_token_ttl_seconds: int = Field(default=7 * 86400, ge=60)
    identity_session_max_seconds: int = Field(default=30 * 86400, ge=60)
    identity_mfa_challenge_ttl_seconds: int = Field(default=300, ge=10)
    identity_key_retention_hours: float = Field(default=24.0, gt=0)
    identity_key_heartbeat_seconds: float = Field(default=300.0, gt=0)

    # verification, reset and two-factor enrolment
    identity_email_link_ttl_seconds: int = Field(default=24 * 3600, ge=1)
    identity_phone_code_ttl_seconds: int = Field(default=600, ge=1)
    identity_reset_link_ttl_seconds: int = Field(default=3600, ge=1)
    identity_totp_enrolment_ttl_seconds: int = Field(default=900, ge=1)
    identity_code_max_attempts: int = Field(default=5, ge=1)
    identity_resend_interval_seconds: int = Field(default=60, ge=0)
    identity_sends_per_hour: int = Field(default=5, ge=1)

    # sign-in lockout and per-address limits: per (account, address) first, per account only far higher
    identity_lockout_threshold: int = Field(default=5, ge=1)
    identity_lockout_window_seconds: int = Field(default=900, ge=1)
    identity_lockout_seconds: int = Field(default=900, ge=1)
    identity_account_lockout_threshold: int = Field(default=50, ge=1)
    # wrong second-factor codes per account, whatever the address; a correct password does not reset them
    identity_mfa_lockout_threshold: int = Field(default=5, ge=1)
    identity_mfa_lockout_window_seconds: int = Field(default=86400, ge=1)
    identity_mfa_lockout_seconds: int = Field(default=3600, ge=1)
    identity_ip_lockout_threshold: int = Field(default=30, ge=1)
    identity_registrations_per_ip_per_hour: int = Field(default=20, ge=1)
    # a registration never verified is deleted after this many days, freeing its email, phone and citizen ID
    identity_pending_account_ttl_days: int = Field(default=7, ge=1)
    identity_resets_per_ip_per_hour: int = Field(default=20, ge=1)

    # passwords (argon2id: OWASP's 19 MiB / 2 passes / 1 lane by default)
    identity_password_min_score: int = Field(default=3, ge=0, le=4)
    identity_argon2_time_cost: int = Field(default=2, ge=1)
    identity_argon2_memory_kib: int = Field(default=19456, ge=8)
    identity_argon2_parallelism: int = Field(default=1, ge=1)
    # argon2 hashes at once: the container's CPU limit (its cgroup), not the node's core count
    identity_hash_concurrency: int = Field(default_factory=available_cpus, ge=1)

    @property
    def public_base(self) -> str:
        return self.public_base_url.rstrip("/")

    @property
    def webauthn_origin(self) -> str:
        """The origin passkeys are made for: PUBLIC_BASE_URL's scheme, host and port."""
        parts = urlsplit(self.public_base_url)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def webauthn_rp_id(self) -> str:
        return urlsplit(self.public_base_url).hostname or "localhost"

    @model_validator(mode="after")
    def _event_keys_outside_development(self) -> Settings:
        sealing.require_keys(self.event_secret_keys.get_secret_value(), development=self.development)
        return self

    @model_validator(mode="after")
    def _staff_second_factor_only_relaxed_in_development(self) -> Settings:
        if not self.identity_staff_second_factor_required and self.deployment_environment != "development":
            raise ValueError(
                "IDENTITY_STAFF_SECOND_FACTOR_REQUIRED=false is allowed only with DEPLOYMENT_ENVIRONMENT=development"
            )
        return self
