"""Events of the submission service, on `motcua.submission.application.v1`, each copied to its agency's own
topic `motcua.submission.agency.<agency_code>.v1` (what agencies subscribe to)."""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar

from motcua.common import topics
from motcua.common.events import Event, register
from pydantic import ConfigDict, Field


class _ApplicationEvent(Event):
    topic: ClassVar[str] = topics.SUBMISSION_APPLICATION
    subject_field: ClassVar[str] = "application_id"

    application_id: str
    tracking_code: str
    procedure_code: str
    procedure_version: int
    procedure_name: str
    procedure_name_en: str = ""
    agency_code: str
    applicant_account_id: str
    due_date: date

    def copied_to(self) -> tuple[str, ...]:
        """The agency's own topic: an agency reads its dossiers' events there, and no other agency's."""
        return (topics.agency(self.agency_code),)


@register
class ApplicationReceived(_ApplicationEvent):
    """A dossier was submitted: it has its tracking code and due date."""

    ce_type: ClassVar[str] = "motcua.submission.ApplicationReceived.v1"

    submitted_at: datetime


@register
class ApologyIssued(_ApplicationEvent):
    """The agency will be late: an apology with the reason and a later date (Decree 61/2018's slip);
    `due_date` is the new date, `previous_due_date` the one it replaces."""

    ce_type: ClassVar[str] = "motcua.submission.ApologyIssued.v1"

    previous_due_date: date
    reason: str
    slip_id: str
    issued_at: datetime


@register
class ApplicationStatusChanged(_ApplicationEvent):
    """A dossier moved in its workflow (`from` → `to`), by a citizen or an officer."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True, serialize_by_alias=True)

    ce_type: ClassVar[str] = "motcua.submission.ApplicationStatusChanged.v1"

    from_status: str = Field(alias="from")
    to_status: str = Field(alias="to")
    comment: str = ""
    by_role: str
    changed_at: datetime


@register
class ApplicationRated(_ApplicationEvent):
    """The applicant rated a finished dossier (once): 1–5 on clear guidance, timeliness and courtesy.
    The comment is not carried: it is free text that may hold personal data, it is shown only to the
    agency (read from submission's API), and no reader of the topic needs it; `has_comment` says one exists."""

    ce_type: ClassVar[str] = "motcua.submission.ApplicationRated.v1"

    guidance: int = Field(ge=1, le=5)
    timeliness: int = Field(ge=1, le=5)
    courtesy: int = Field(ge=1, le=5)
    has_comment: bool = False
    rated_at: datetime
