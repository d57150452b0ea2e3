"""Configuration of the submission service (CONTRACT.md variables plus its own limits)."""

from __future__ import annotations

from motcua.common.settings import ServiceSettings
from pydantic import AliasChoices, Field
from pydantic_settings import SettingsConfigDict


class Settings(ServiceSettings):
    """Every limit a citizen can run into is a setting, so tests can use small values."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True, populate_by_name=True)

    service_name: str = "submission"
    port: int = Field(default=8003, validation_alias=AliasChoices("SUBMISSION_PORT", "port"))

    lookup_limit: int = Field(default=30, ge=1, description="tracking-code lookups per client IP per window")
    lookup_window_seconds: int = Field(default=60, ge=1)
    draft_limit: int = Field(default=20, ge=1, description="drafts a citizen may start per window")
    draft_window_seconds: int = Field(default=600, ge=1)
    upload_limit: int = Field(default=60, ge=1, description="uploads a citizen may send per window")
    upload_window_seconds: int = Field(default=600, ge=1)

    max_form_bytes: int = Field(default=64 * 1024, ge=1024, description="size of a draft's form data as JSON")
    upload_drain_limit_mb: float = Field(
        default=64.0, gt=0, description="how much of a refused upload is read (and discarded) before answering"
    )
    upload_max_request_mb: float = Field(
        default=60.0, gt=0, description="the largest body an upload request may have (every other route: 64 KiB)"
    )
    max_page_size: int = Field(default=100, ge=1)
    orphan_file_age_seconds: float = Field(
        default=3600, gt=0, description="an uploaded file never attached to its application is deleted after this"
    )
    orphan_sweep_seconds: float = Field(default=600, gt=0, description="how often unattached files are looked for")
