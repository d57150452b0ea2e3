"""The catalogue's domain: agencies, procedures, their drafts and immutable published versions.

Pure: no FastAPI, PyMongo or aiokafka. The request bodies are these models (`extra="forbid"`,
bounded strings); `problems_in` adds the rules a field's type cannot say (a valid JSON Schema
form, a UI schema that names real fields, unique keys).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from motcua.catalogue.forms import form_problems
from motcua.catalogue.guidance import FeeRule, FormTemplate, LegalLink, ResultDelivery, Step
from motcua.common.contracts.catalogue import ApplicantType, FeeDue
from motcua.common.errors import Conflict, FieldProblem, Gone, NotFound
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

CODE_PATTERN = r"^[A-Z0-9]+(?:-[A-Z0-9]+)*$"
KEY_PATTERN = r"^[a-z][a-z0-9_]*$"

Code = Annotated[str, StringConstraints(min_length=2, max_length=40, pattern=CODE_PATTERN)]
Key = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=KEY_PATTERN)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
Label = Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)]
Help = Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)]
Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=5000)]
LegalText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
MimeType = Annotated[str, StringConstraints(max_length=100, pattern=r"^[a-z]+/[a-z0-9][a-z0-9.+-]*$")]
Widget = Literal["text", "textarea", "date", "datetime", "select", "radio", "checkbox", "number", "tel", "email"]
OnlineLevel = Literal["full", "partial"]
AgencyLevel = Literal["central", "province", "commune"]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Agency(_Input):
    """A body that handles procedures (a commune People's Committee, a provincial department…)."""

    code: Code
    name: Name
    name_en: Name
    level: AgencyLevel


class DocumentSpec(_Input):
    """A document the applicant uploads: which file types, how large, whether it is required."""

    key: Key
    name: Name
    name_en: Name
    required: bool
    accepted_types: list[MimeType] = Field(min_length=1, max_length=20)
    max_size_mb: float = Field(gt=0, le=100)


class UiOption(_Input):
    value: str | int | float | bool
    label: Label
    label_en: Label = ""


def _absent(value: object) -> bool:
    return value is None


class UiField(_Input):
    """How one form field is shown; every part optional (the portal falls back to the field's name).

    A hint left out stays out of what is stored and answered (no `"help": null`).
    """

    label: Label | None = Field(default=None, exclude_if=_absent)
    label_en: Label | None = Field(default=None, exclude_if=_absent)
    help: Help | None = Field(default=None, exclude_if=_absent)
    help_en: Help | None = Field(default=None, exclude_if=_absent)
    widget: Widget | None = Field(default=None, exclude_if=_absent)
    options: list[UiOption] | None = Field(default=None, max_length=300, exclude_if=_absent)


class UiSchema(_Input):
    order: list[Key] = Field(default_factory=list, max_length=300)
    fields: dict[str, UiField] = Field(default_factory=dict, max_length=300)


class ProcedureContent(_Input):
    """Everything a version of a procedure says; a draft holds one, publishing freezes it."""

    name: Name
    name_en: Name
    description: Description = ""
    description_en: Description = ""
    agency_code: Code
    applicant_types: list[ApplicantType] = Field(min_length=1, max_length=3)
    online_level: OnlineLevel
    processing_days: int = Field(ge=0, le=365, description="working days")
    same_day_cutoff: str | None = Field(
        default=None,
        pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$",
        description="HH:MM, Vietnam time: a dossier received before it on a working day is answered that day",
    )
    fee_vnd: int = Field(ge=0, le=1_000_000_000)
    fee_due: FeeDue = Field(
        default="at_submission",
        description="when the fee is paid: at_submission (before intake accepts the dossier) or at_result "
        "(before the result is released to the applicant)",
    )
    legal_basis: list[LegalText] = Field(default_factory=list, max_length=50)
    required_documents: list[DocumentSpec] = Field(default_factory=list, max_length=50)
    form_schema: dict[str, Any] = Field(description="JSON Schema 2020-12 of the form's data")
    ui_schema: UiSchema = Field(default_factory=UiSchema)
    # what the procedure's page tells beyond the form (guidance.py); all optional
    steps: list[Step] = Field(default_factory=list, max_length=30, description="trình tự thực hiện, in order")
    result_delivery: ResultDelivery | None = Field(
        default=None, description="the result and how and where to collect it"
    )
    form_templates: list[FormTemplate] = Field(default_factory=list, max_length=20)
    legal_texts: list[LegalLink] = Field(
        default_factory=list, max_length=50, description="the legal basis with links; shown instead of legal_basis"
    )
    fee_details: list[FeeRule] = Field(default_factory=list, max_length=20, description="each fee and when it applies")


class ProcedureCreate(ProcedureContent):
    code: Code = Field(description="capital letters, digits and hyphens, such as HT-KS-01")

    def content(self) -> ProcedureContent:
        return ProcedureContent.model_validate(self.model_dump(exclude={"code"}))


class Version(ProcedureContent):
    """One published version, immutable: what citizens see and submission validates against."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)

    code: Code
    version: int = Field(ge=1)
    published_at: datetime


def stored(content: BaseModel) -> dict[str, Any]:
    """The JSON form kept in the database and in events; absent UI hints stay absent."""
    return content.model_dump(mode="json")


class Status(StrEnum):
    DRAFT = "draft"  # never published
    PUBLISHED = "published"
    RETIRED = "retired"


class ProcedureNotFound(NotFound):
    def __init__(self, code: str) -> None:
        super().__init__(f"No procedure has the code {code}.")


class VersionNotFound(NotFound):
    def __init__(self, code: str, number: int) -> None:
        super().__init__(f"The procedure {code} has no version {number}.")


class ProcedureRetired(Gone):
    def __init__(self, code: str, retired_at: datetime | None) -> None:
        when = f" on {retired_at.date().isoformat()}" if retired_at else ""
        super().__init__(
            f"The procedure {code} was retired{when} and takes no new applications; "
            f"its versions stay readable at /v1/procedures/{code}/versions/{{n}}."
        )


class CodeTaken(Conflict):
    def __init__(self, code: str) -> None:
        super().__init__(f"A procedure with the code {code} already exists; edit its draft instead.")


class NothingToPublish(Conflict):
    def __init__(self, code: str) -> None:
        super().__init__(f"The procedure {code} has no draft to publish; save one with PUT …/draft first.")


class NotPublished(Conflict):
    def __init__(self, code: str, status: Status) -> None:
        what = "is already retired" if status is Status.RETIRED else "has never been published"
        super().__init__(f"The procedure {code} {what}.")


def next_version(code: str, current: int | None, has_draft: bool) -> int:
    """The number the draft gets when published; versions count from 1 and never repeat."""
    if not has_draft:
        raise NothingToPublish(code)
    return (current or 0) + 1


def check_retirable(code: str, status: Status) -> None:
    if status is not Status.PUBLISHED:
        raise NotPublished(code, status)


def problems_in(content: ProcedureContent) -> list[FieldProblem]:
    """What is wrong with a draft beyond its fields' types; empty when it can be published."""
    found = form_problems(content.form_schema, stored(content.ui_schema))
    found += _repeated("/applicant_types", list(content.applicant_types), "is listed twice")
    if content.result_delivery is not None:
        found += _repeated("/result_delivery/methods", list(content.result_delivery.methods), "is listed twice")
    found += _repeated(
        "/required_documents",
        [d.key for d in content.required_documents],
        "is the key of another document",
        suffix="/key",
    )
    if content.fee_due == "at_result" and content.fee_vnd == 0:
        found.append(FieldProblem("/fee_due", "a procedure without a fee (fee_vnd 0) has nothing to pay at result"))
    return found


def _repeated(pointer: str, values: list[str], message: str, *, suffix: str = "") -> list[FieldProblem]:
    seen: set[str] = set()
    found = []
    for i, value in enumerate(values):
        if value in seen:
            found.append(FieldProblem(f"{pointer}/{i}{suffix}", f"{value!r} {message}"))
        seen.add(value)
    return found
