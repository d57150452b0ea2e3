"""Configuration of the gateway: where each service lives, and the edge limits (docs/gateway.md)."""

from __future__ import annotations

from pathlib import Path

from motcua.common.request_context import Network, trusted_networks
from motcua.common.settings import ServiceSettings
from pydantic import AliasChoices, Field
from pydantic_settings import SettingsConfigDict


class Settings(ServiceSettings):
    """`GATEWAY_*` variables plus the services' addresses; every limit and timeout is a setting."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True, populate_by_name=True)

    service_name: str = "gateway"
    port: int = Field(default=8000, validation_alias=AliasChoices("GATEWAY_PORT", "port"))

    # identity_url comes from the shared base (IDENTITY_URL)
    catalogue_url: str = "http://127.0.0.1:8002"
    submission_url: str = "http://127.0.0.1:8003"
    notification_url: str = "http://127.0.0.1:8004"
    webhooks_url: str = "http://127.0.0.1:8005"

    # rate limit: a token bucket per client address, in this replica's memory
    gateway_rate_limit_per_second: float = Field(default=20.0, gt=0)
    gateway_rate_limit_burst: int = Field(default=100, ge=1)
    gateway_rate_limit_max_clients: int = Field(default=100_000, ge=1)
    # the portal's files (GET/HEAD outside the API): a bucket of their own, about 15 page loads deep
    gateway_portal_rate_limit_per_second: float = Field(default=50.0, gt=0)
    gateway_portal_rate_limit_burst: int = Field(default=500, ge=1)

    # admission control per service (docs/gateway.md, "Admission control"): an adaptive concurrency
    # limit between the minimum and the maximum, a short queue, 503 with Retry-After beyond
    gateway_admission_initial_limit: int = Field(default=20, ge=1)
    gateway_admission_min_limit: int = Field(default=16, ge=1)
    gateway_admission_max_limit: int = Field(default=50, ge=1)
    gateway_admission_queue_size: int = Field(default=16, ge=0)
    gateway_admission_queue_timeout_seconds: float = Field(default=0.5, gt=0)
    # the gateway's own budget: requests in flight to all services together, an AIMD limit on the share of
    # its one core it uses
    gateway_admission_total_limit: int = Field(default=100, ge=1)
    gateway_admission_total_min_limit: int = Field(default=32, ge=1)
    gateway_admission_cpu_target: float = Field(default=0.85, gt=0, le=1)
    # the listening socket: connections the kernel holds until they are accepted (capped by net.core.somaxconn),
    # and how long an idle client connection is kept (longer than an Ingress's idle timeout, so it closes first)
    gateway_backlog: int = Field(default=4096, ge=1)
    gateway_client_keepalive_seconds: float = Field(default=75.0, gt=0)

    # request bodies: counted while streaming, not only by Content-Length
    gateway_max_body_bytes: int = Field(default=60 * 1024 * 1024, ge=0)

    # upstream calls
    gateway_connect_timeout_seconds: float = Field(default=3.0, gt=0)
    gateway_read_timeout_seconds: float = Field(default=30.0, gt=0)
    gateway_write_timeout_seconds: float = Field(default=30.0, gt=0)
    gateway_pool_timeout_seconds: float = Field(default=5.0, gt=0)
    gateway_max_connections: int = Field(default=200, ge=1)
    gateway_max_keepalive_connections: int = Field(default=100, ge=0)
    # Below the services' own keep-alive timeout (uvicorn: 5 s), so a pooled connection is never
    # reused just as the service closes it.
    gateway_keepalive_expiry_seconds: float = Field(default=2.0, ge=0)
    gateway_readiness_timeout_seconds: float = Field(default=2.0, gt=0)
    gateway_openapi_cache_seconds: float = Field(default=60.0, ge=0)

    # Comma-separated addresses and CIDRs (never "*") of the proxies whose X-Forwarded-For / -Proto are
    # believed: the Ingress controller's pods. Empty: nobody's, the connecting address is the client.
    gateway_trusted_proxies: str = ""

    @property
    def trusted_proxies(self) -> tuple[Network, ...]:
        """The gateway believes the Ingress controller (GATEWAY_TRUSTED_PROXIES), not FORWARDED_ALLOW_IPS."""
        return trusted_networks(self.gateway_trusted_proxies, variable="GATEWAY_TRUSTED_PROXIES")

    # The web portal's files; empty: the `static` folder shipped in the package.
    gateway_static_dir: Path | None = None

    def upstream_urls(self) -> dict[str, str]:
        """Each routed service's base address, without a trailing slash."""
        return {
            "identity": self.identity_url.rstrip("/"),
            "catalogue": self.catalogue_url.rstrip("/"),
            "submission": self.submission_url.rstrip("/"),
            "notification": self.notification_url.rstrip("/"),
            "webhooks": self.webhooks_url.rstrip("/"),
        }

    @property
    def static_dir(self) -> Path:
        return self.gateway_static_dir or Path(__file__).parent / "static"
