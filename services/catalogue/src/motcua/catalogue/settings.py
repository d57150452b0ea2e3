"""Configuration of the catalogue service: the shared variables plus its seed."""

from __future__ import annotations

from pathlib import Path

from motcua.common.settings import ServiceSettings
from pydantic import AliasChoices, Field
from pydantic_settings import SettingsConfigDict


class Settings(ServiceSettings):
    """`CATALOGUE_*` variables, documented in docs/catalogue.md."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True, populate_by_name=True)

    service_name: str = "catalogue"
    port: int = Field(default=8002, validation_alias=AliasChoices("CATALOGUE_PORT", "port"))

    catalogue_seed: bool = True
    # A directory holding agencies.json and procedures.json; empty: the seed shipped with the package.
    catalogue_seed_dir: Path | None = None
    # Procedures published per seeding transaction (each with its events).
    catalogue_seed_batch: int = Field(default=50, ge=1, le=500)
    # How long one request may spend on the database before answering 503.
    catalogue_request_db_seconds: float = Field(default=5.0, gt=0, le=60)
