"""The events the catalogue emits, built from its domain; it consumes none."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from motcua.common.contracts.catalogue import ProcedurePublished, ProcedureRetired


def published(version: dict[str, Any]) -> ProcedurePublished:
    """The whole version (in its stored form): submission builds its read model from this event alone."""
    return ProcedurePublished.model_validate(version)


def retired(code: str, version: int, at: datetime) -> ProcedureRetired:
    return ProcedureRetired(code=code, version=version, retired_at=at)
