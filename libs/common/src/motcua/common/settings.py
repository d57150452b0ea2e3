"""The configuration every service reads (CONTRACT.md), on one pydantic-settings base."""

from __future__ import annotations

import sys
from typing import Any, Literal, TypeVar

from motcua.common.request_context import Network, trusted_networks
from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Marks a setting whose default is only right on a developer's machine: every deployment sets it
# (tests/deploy holds docker-compose.yml and the Kubernetes manifests to it).
DEPLOYMENT_SETS: dict[str, Any] = {"deployment": "sets"}


class ServiceSettings(BaseSettings):
    """Shared settings; each service subclasses it, sets `service_name` and adds its own fields."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True)

    service_name: str = "service"
    # `development` (what `make run` and docker compose set) allows what only a developer's machine may:
    # plain http to this machine, the log SMS provider, development keys. Anything else is production.
    deployment_environment: Literal["development", "production"] = "production"
    host: str = "127.0.0.1"
    port: int = 8000
    mongodb_uri: str = "mongodb://127.0.0.1:27017"
    mongodb_db: str = ""
    # Count database commands by name and serve them on /metrics (the end-to-end bench reads them); off by default.
    mongodb_command_counts: bool = False
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    kafka_topic_prefix: str = ""
    kafka_idempotent_producer: bool = True
    # Static group membership: a consumer restarted under the same id (a pod's name survives a container
    # restart) gets its partitions back at once instead of waiting out a rebalance. Empty: dynamic membership.
    kafka_group_instance_id: str = ""
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_ssl_ca_file: str | None = None
    kafka_topic_replication: int = Field(default=1, ge=1)
    log_format: Literal["json", "console"] = "json"
    log_level: str = "INFO"
    public_base_url: str = "http://127.0.0.1:8000"
    identity_url: str = "http://127.0.0.1:8001"
    token_issuer: str = ""
    token_audience: str = "motcua"
    outbox_replay_window_hours: float = Field(default=24.0, gt=0)
    consumer_max_attempts: int = Field(default=5, ge=1)
    consumer_retry_backoff_seconds: float = Field(default=0.2, ge=0)
    consumer_session_timeout_ms: int = Field(default=10000, ge=1000)
    # bounded work per process (motcua.common.admission): requests served at once, how many more may
    # wait for a slot and for how long, before 503 with Retry-After
    request_concurrency: int = Field(default=32, ge=1)
    request_queue_size: int = Field(default=64, ge=0)
    request_queue_timeout_seconds: float = Field(default=2.0, gt=0)
    # the largest request body of every route but those receiving documents (motcua.common.body_limit)
    request_max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    # The proxies (the gateway) whose X-Forwarded-For says who the client is: comma-separated addresses and
    # CIDRs, never `*`. The right-most hop they did not add is the client (motcua.common.request_context).
    forwarded_allow_ips: str = "127.0.0.1,::1"

    # the gateway's own list (the Ingress controller's pods) is GATEWAY_TRUSTED_PROXIES, checked alike
    @field_validator("forwarded_allow_ips", "gateway_trusted_proxies", check_fields=False)
    @classmethod
    def _proxies(cls, value: str, info: ValidationInfo) -> str:
        trusted_networks(value, variable=str(info.field_name).upper())
        return value

    @property
    def trusted_proxies(self) -> tuple[Network, ...]:
        """The peers believed about the client's address and the request id."""
        return trusted_networks(self.forwarded_allow_ips, variable="FORWARDED_ALLOW_IPS")

    @property
    def development(self) -> bool:
        return self.deployment_environment == "development"

    @property
    def database_name(self) -> str:
        return self.mongodb_db or f"motcua_{self.service_name}"

    @property
    def issuer(self) -> str:
        """The `iss` of access tokens: `TOKEN_ISSUER`, or the public address (discovery lives there)."""
        return self.token_issuer or self.public_base_url.rstrip("/")

    def topic(self, name: str) -> str:
        """A topic's name on the broker, after `KAFKA_TOPIC_PREFIX`."""
        return f"{self.kafka_topic_prefix}{name}"


S = TypeVar("S", bound=ServiceSettings)


def load(cls: type[S]) -> S:
    """The settings from the environment; a service that cannot start says why in one line per problem
    (on stderr, without the values: a rejected value may be a secret) and exits with status 2."""
    try:
        return cls()
    except ValidationError as exc:
        for error in exc.errors(include_url=False, include_input=False):
            where = ".".join(str(part) for part in error["loc"]).upper()
            message = str(error["msg"]).removeprefix("Value error, ")
            print(f"cannot start: {where + ': ' if where else ''}{message}", file=sys.stderr)  # noqa: T201
        raise SystemExit(2) from None
