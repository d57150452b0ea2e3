"""Settings of the notification service: SMTP, the SMS provider and the delivery policy."""

from __future__ import annotations

from email.utils import parseaddr
from typing import Literal
from urllib.parse import urlsplit

from motcua.common import sealing
from motcua.common.settings import DEPLOYMENT_SETS, ServiceSettings
from motcua.common.slip_document import SlipTypeface
from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict


class Settings(ServiceSettings, SlipTypeface):
    """Everything CONTRACT.md names for notification, plus the retry policy (env vars in capitals)."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True, populate_by_name=True)

    service_name: str = "notification"
    port: int = Field(default=8004, validation_alias=AliasChoices("notification_port"))

    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=1025, ge=1, le=65535)
    smtp_username: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_starttls: bool = False
    # implicit TLS from the first byte (SMTPS, port 465); outside development credentials need it or STARTTLS
    smtp_tls: bool = False
    smtp_validate_certs: bool = True
    smtp_ca_file: str = ""
    smtp_local_hostname: str = "localhost"
    smtp_timeout_seconds: float = Field(default=15.0, gt=0)
    smtp_idle_check_seconds: float = Field(default=10.0, ge=0)
    mail_from: str = Field(default="Một cửa <no-reply@motcua.local>", json_schema_extra=DEPLOYMENT_SETS)

    # "log" writes each SMS, verification codes included, to SMS_LOG_FILE: development only
    sms_provider: Literal["log", "webhook"] = Field(default="log", json_schema_extra=DEPLOYMENT_SETS)
    sms_log_file: str = ""  # empty: motcua-sms.jsonl in the temporary directory
    # https:// (plain http:// only to this machine, in development)
    sms_webhook_url: str = ""
    sms_webhook_token: SecretStr = SecretStr("")
    sms_webhook_timeout_seconds: float = Field(default=10.0, gt=0)
    sms_concurrency: int = Field(default=8, ge=1, le=100)
    sms_strip_diacritics: bool = False

    delivery_max_attempts: int = Field(default=12, ge=1, le=50)
    delivery_retry_backoff_seconds: float = Field(default=5.0, ge=0)
    delivery_retry_backoff_max_seconds: float = Field(default=900.0, ge=0)
    delivery_lease_seconds: float = Field(default=300.0, gt=0)
    dispatch_batch_size: int = Field(default=50, ge=1, le=1000)
    dispatch_idle_poll_seconds: float = Field(default=0.5, gt=0)
    dispatch_linger_seconds: float = Field(default=0.05, ge=0)

    # The keys that seal the live secrets of identity's events for notification alone (motcua.common.sealing):
    # `kid:base64key` pairs, newest first; identity and notification hold the same list. Empty: the published
    # development key (make run, tests).
    event_secret_keys: SecretStr = Field(default=SecretStr(""), json_schema_extra=DEPLOYMENT_SETS)

    secret_messages_per_recipient: int = Field(default=10, ge=0)
    secret_message_window_seconds: float = Field(default=3600.0, gt=0)

    @field_validator("mail_from")
    @classmethod
    def _mail_from_has_an_address(cls, value: str) -> str:
        if "@" not in parseaddr(value)[1] or any(c in value for c in "\r\n"):
            raise ValueError("MAIL_FROM needs an address, such as 'Một cửa <no-reply@example.gov.vn>'")
        return value

    @model_validator(mode="after")
    def _event_keys_outside_development(self) -> Settings:
        sealing.require_keys(self.event_secret_keys.get_secret_value(), development=self.development)
        return self

    @model_validator(mode="after")
    def _safe_outside_development(self) -> Settings:
        if self.sms_provider == "log" and not self.development:
            raise ValueError(
                "SMS_PROVIDER=log writes verification codes to a file and is for development only "
                "(DEPLOYMENT_ENVIRONMENT=development); set SMS_PROVIDER=webhook and SMS_WEBHOOK_URL"
            )
        if self.sms_provider == "webhook":
            where = urlsplit(self.sms_webhook_url)
            local = where.hostname in ("127.0.0.1", "::1", "localhost")
            if not where.hostname or where.scheme not in ("https", "http"):
                raise ValueError("SMS_PROVIDER=webhook needs SMS_WEBHOOK_URL, an https:// address")
            if where.scheme == "http" and not (self.development and local):
                raise ValueError(
                    "SMS_WEBHOOK_URL must be https:// (plain http:// only to 127.0.0.1, in development): "
                    "the texts carry verification codes"
                )
        if self.smtp_starttls and self.smtp_tls:
            raise ValueError("choose one of SMTP_STARTTLS and SMTP_TLS")
        if self.smtp_username and not (self.smtp_starttls or self.smtp_tls) and not self.development:
            raise ValueError(
                "SMTP_USERNAME and SMTP_PASSWORD need SMTP_STARTTLS=true or SMTP_TLS=true outside development: "
                "the password would cross the network in clear"
            )
        return self

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        # One email send is at most ~4 SMTP timeouts (connect, MAIL+RCPT, DATA's two replies); a lease is
        # renewed every third of itself, so a send in progress never looks abandoned (and becomes `unknown`).
        slowest = max(4 * self.smtp_timeout_seconds, self.sms_webhook_timeout_seconds)
        if self.delivery_lease_seconds <= 2 * slowest:
            raise ValueError("DELIVERY_LEASE_SECONDS must exceed twice the longest send (4 × SMTP_TIMEOUT_SECONDS)")
        if bool(self.smtp_username) != bool(self.smtp_password.get_secret_value()):
            raise ValueError("SMTP_USERNAME and SMTP_PASSWORD go together")
        return self

    @property
    def envelope_sender(self) -> str:
        """The bare address of MAIL_FROM, for the SMTP envelope."""
        return parseaddr(self.mail_from)[1]
