"""Events of the catalogue service, on `motcua.catalogue.procedure.v1` (keyed by procedure code)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Literal

from motcua.common import topics
from motcua.common.events import Event, register
from pydantic import BaseModel, ConfigDict

ApplicantType = Literal["individual", "business", "organisation"]
FeeDue = Literal["at_submission", "at_result"]


class RequiredDocument(BaseModel):
    model_config = ConfigDict(frozen=True)

    key: str
    name: str
    name_en: str = ""
    required: bool
    accepted_types: list[str]
    max_size_mb: float


class _ProcedureEvent(Event):
    topic: ClassVar[str] = topics.CATALOGUE_PROCEDURE
    subject_field: ClassVar[str] = "code"

    code: str


@register
class ProcedurePublished(_ProcedureEvent):
    """A new immutable version of a procedure: everything a consumer needs to serve and validate it."""

    ce_type: ClassVar[str] = "motcua.catalogue.ProcedurePublished.v1"

    version: int
    name: str
    name_en: str = ""
    description: str = ""
    description_en: str = ""
    agency_code: str
    applicant_types: list[ApplicantType]
    online_level: Literal["full", "partial"]
    processing_days: int
    # "HH:MM" (Vietnam time): a dossier received before it on a working day gets its result that day
    same_day_cutoff: str | None = None
    fee_vnd: int
    # when the fee is paid: "at_submission" (before intake accepts the dossier) or "at_result" (before the
    # result document is released to the applicant)
    fee_due: FeeDue = "at_submission"
    legal_basis: list[str] = []
    required_documents: list[RequiredDocument]
    form_schema: dict[str, Any]
    ui_schema: dict[str, Any] = {}
    published_at: datetime
    # what a completed dossier's result document is made from when the officer uploads none: "generic" (the
    # submission service's template: title, applicant, procedure, agency, date, verification code and QR),
    # or null when the agency must upload the signed PDF itself
    result_template: str | None = "generic"
    # what the procedure's page tells beyond the form (docs/catalogue.md, "Guidance"): the steps, the result and
    # how and where it is received, the form templates, the legal texts with links, each fee and when it applies
    steps: list[dict[str, Any]] = []
    result_delivery: dict[str, Any] | None = None
    form_templates: list[dict[str, Any]] = []
    legal_texts: list[dict[str, Any]] = []
    fee_details: list[dict[str, Any]] = []


@register
class ProcedureRetired(_ProcedureEvent):
    """The procedure no longer takes new applications; dossiers already started keep their version."""

    ce_type: ClassVar[str] = "motcua.catalogue.ProcedureRetired.v1"

    version: int
    retired_at: datetime
