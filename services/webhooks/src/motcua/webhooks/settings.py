"""Settings of the webhooks service: where it may deliver, how long it tries, how it isolates subscribers."""

from __future__ import annotations

import ipaddress

from motcua.common.settings import DEPLOYMENT_SETS, ServiceSettings
from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict


class Settings(ServiceSettings):
    """WEBHOOKS_* variables (in capitals) on the shared base; docs/webhooks.md explains each."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True, populate_by_name=True)

    service_name: str = "webhooks"
    port: int = Field(default=8005, validation_alias=AliasChoices("WEBHOOKS_PORT", "port"))

    # DEPLOYMENT_ENVIRONMENT (the shared base): `development` allows plain http and private, loopback and
    # link-local addresses; anything else is a production deployment and refuses them.
    # Networks exempt from the private-address refusal outside development (an agency on the government's
    # private network, reached through the operator's routing), comma-separated CIDRs. Empty: none.
    webhooks_allowed_networks: str = ""
    # Ports a subscriber's URL may name outside development (the NetworkPolicy opens the same ones):
    # comma-separated numbers or ranges (`443,8443,9000-9099`).
    webhooks_allowed_ports: str = "443,8443"
    # Extra certificate authorities to trust, beside the system's (a PEM file); empty: only the system's.
    webhooks_ca_file: str = ""

    # Keys that seal subscribers' secrets at rest (base64, 32 bytes each; the first seals, all open).
    # Empty is allowed only in development, where a fixed development key is used.
    webhooks_secret_keys: SecretStr = Field(default=SecretStr(""), json_schema_extra=DEPLOYMENT_SETS)
    webhooks_secret_overlap_seconds: float = Field(default=24 * 3600, ge=0, le=7 * 24 * 3600)

    # one attempt: a 2xx within this time is a success
    webhooks_timeout_seconds: float = Field(default=10.0, gt=0, le=30)
    # retries: exponential backoff with jitter, for at most this long after an event arrived
    webhooks_retry_base_seconds: float = Field(default=5.0, gt=0)
    webhooks_retry_max_delay_seconds: float = Field(default=2 * 3600, gt=0)
    webhooks_retry_for_seconds: float = Field(default=24 * 3600, gt=0)

    # isolation
    webhooks_concurrency: int = Field(default=64, ge=1, le=1000)
    webhooks_concurrency_per_subscriber: int = Field(default=4, ge=1, le=64)
    webhooks_breaker_failures: int = Field(default=5, ge=1)
    webhooks_breaker_cooldown_seconds: float = Field(default=5.0, gt=0)
    webhooks_breaker_max_cooldown_seconds: float = Field(default=300.0, gt=0)
    webhooks_lease_seconds: float = Field(default=60.0, gt=0)
    webhooks_idle_poll_seconds: float = Field(default=1.0, gt=0)
    webhooks_refresh_seconds: float = Field(default=2.0, gt=0)

    # how long delivered events and the shelf are kept for listing
    webhooks_keep_delivered_seconds: float = Field(default=7 * 24 * 3600, gt=0)
    webhooks_keep_dead_letters_seconds: float = Field(default=30 * 24 * 3600, gt=0)

    @field_validator("webhooks_allowed_networks")
    @classmethod
    def _networks(cls, value: str) -> str:
        for part in (p.strip() for p in value.split(",") if p.strip()):
            try:
                ipaddress.ip_network(part, strict=False)
            except ValueError:
                raise ValueError(f"WEBHOOKS_ALLOWED_NETWORKS: {part!r} is not an address or CIDR") from None
        return value

    @field_validator("webhooks_allowed_ports")
    @classmethod
    def _ports(cls, value: str) -> str:
        for part in (p.strip() for p in value.split(",") if p.strip()):
            low, _, high = part.partition("-")
            bounds = [low, high or low]
            if not all(b.isdigit() and 0 < int(b) < 65536 for b in bounds) or int(bounds[0]) > int(bounds[1]):
                raise ValueError(f"WEBHOOKS_ALLOWED_PORTS: {part!r} is not a port number or range")
        return value

    @model_validator(mode="after")
    def _safe_outside_development(self) -> Settings:
        if not self.development and not self.webhooks_secret_keys.get_secret_value().strip():
            raise ValueError(
                "WEBHOOKS_SECRET_KEYS is required outside development (DEPLOYMENT_ENVIRONMENT=production): "
                "the keys that seal subscribers' secrets"
            )
        if self.webhooks_retry_max_delay_seconds > self.webhooks_retry_for_seconds:
            raise ValueError("WEBHOOKS_RETRY_MAX_DELAY_SECONDS cannot exceed WEBHOOKS_RETRY_FOR_SECONDS")
        if self.webhooks_lease_seconds <= 2 * self.webhooks_timeout_seconds:
            raise ValueError("WEBHOOKS_LEASE_SECONDS must exceed twice WEBHOOKS_TIMEOUT_SECONDS")
        return self

    @property
    def allowed_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        parts = (p.strip() for p in self.webhooks_allowed_networks.split(","))
        return tuple(ipaddress.ip_network(p, strict=False) for p in parts if p)

    @property
    def allowed_ports(self) -> frozenset[int]:
        ports: set[int] = set()
        for part in (p.strip() for p in self.webhooks_allowed_ports.split(",") if p.strip()):
            low, _, high = part.partition("-")
            ports.update(range(int(low), int(high or low) + 1))
        return frozenset(ports)
