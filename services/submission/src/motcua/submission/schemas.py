"""What the HTTP API accepts and answers (`XCreate` in, `XPublic` out), shaped from the domain."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from motcua.submission import due_dates, payments
from motcua.submission.applicants import Applicant, ApplicantType
from motcua.submission.model import Application, Assignee, DocumentRef, DocumentSource, HistoryEntry
from motcua.submission.payments import FeeDue, PaymentStatus
from motcua.submission.workflow import (
    ALL_ROLES,
    COMMENT_REQUIRED,
    INTERNAL,
    OFFICER_ACTIONS,
    OPEN,
    TRANSITIONS,
    Action,
    Role,
    Status,
)
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo, WithJsonSchema, field_validator

_IN = ConfigDict(extra="forbid", str_strip_whitespace=True)
CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,63}$"


class DraftCreate(BaseModel):
    model_config = _IN

    procedure_code: str = Field(min_length=1, max_length=64, pattern=CODE_PATTERN, examples=["HT-KS-01"])


class FormPatch(BaseModel):
    """A JSON merge patch (RFC 7396) of the application: only `data` can be changed; `null` clears it."""

    model_config = _IN

    data: dict[str, Any] | None = Field(examples=[{"child_full_name": "Nguyễn Văn An", "child_sex": "male"}])


class Comment(BaseModel):
    model_config = _IN

    comment: str = Field(default="", max_length=2000)


# The officers' actions, as the state machine names them, in its order.
_OFFICERS = list(dict.fromkeys(a.value for (_, a) in TRANSITIONS if a in OFFICER_ACTIONS))


def _an_officer_action(value: object) -> object:
    if value not in _OFFICERS:
        raise ValueError(f"must be one of {', '.join(_OFFICERS)}")
    return value


OfficerActionName = Annotated[
    Action, BeforeValidator(_an_officer_action), WithJsonSchema({"type": "string", "enum": _OFFICERS})
]


class OfficerAction(BaseModel):
    model_config = _IN

    action: OfficerActionName
    comment: str = Field(default="", max_length=2000, examples=["Bổ sung bản sao giấy chứng nhận kết hôn."])
    outcome: Literal["approve", "reject"] | None = Field(
        default=None, validate_default=True, description="with `propose` only: the decision the specialist advises"
    )
    items: list[Annotated[str, Field(min_length=1, max_length=500)]] | None = Field(
        default=None,
        max_length=30,
        description="with `request_supplement` only: every missing item, asked at once (the comment alone otherwise)",
        examples=[["Bản sao giấy chứng nhận kết hôn", "Ảnh chân dung 4x6"]],
    )

    @field_validator("items")
    @classmethod
    def _items_with_a_supplement_request(cls, items: list[str] | None, info: ValidationInfo) -> list[str] | None:
        if items is not None and info.data.get("action") not in (Action.REQUEST_SUPPLEMENT, None):
            raise ValueError("only a supplement request lists items")
        return items

    @field_validator("outcome")
    @classmethod
    def _outcome_with_a_proposal(cls, outcome: str | None, info: ValidationInfo) -> str | None:
        proposing = info.data.get("action") == Action.PROPOSE
        if proposing and outcome is None:
            raise ValueError("say which decision you propose: approve or reject")
        if not proposing and outcome is not None and "action" in info.data:
            raise ValueError("only a proposal has an outcome")
        return outcome


class Assignment(BaseModel):
    model_config = _IN

    assignee_id: str = Field(
        min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$", description="the specialist's account id"
    )


class Apology(BaseModel):
    model_config = _IN

    reason: str = Field(min_length=1, max_length=2000, examples=["Cần xác minh thông tin với cơ quan khác."])
    new_due_date: date = Field(description="a working day later than the current due date")


class DocumentPublic(BaseModel):
    id: str
    document_key: str
    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_at: datetime
    source: DocumentSource | None = Field(default=None, description="the wallet item it came from; null: uploaded")

    @classmethod
    def of(cls, ref: DocumentRef) -> DocumentPublic:
        return cls.model_validate(ref.model_dump())


class HistoryPublic(BaseModel):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    at: datetime
    from_status: Status = Field(alias="from")
    to_status: Status = Field(alias="to")
    by_role: str
    comment: str
    action: Action | None = Field(default=None, description="what was done; absent on entries older than roles")
    outcome: Literal["approve", "reject"] | None = Field(
        default=None, description="a specialist's proposal (shown to the agency only)"
    )
    items: list[str] = Field(default=[], description="a supplement request: every missing item")
    supply_by: date | None = Field(default=None, description="a supplement request: the last day to supply")
    assignee_id: str | None = Field(default=None, description="an assignment (shown to the agency only)")
    assignee_name: str | None = None

    @classmethod
    def of(cls, entry: HistoryEntry) -> HistoryPublic:
        return cls.model_validate(entry.model_dump(by_alias=True))


class ApplicationSummary(BaseModel):
    id: str
    status: Status
    procedure_code: str
    procedure_version: int
    procedure_name: str
    procedure_name_en: str
    agency_code: str
    tracking_code: str | None
    submitted_at: datetime | None
    due_date: date | None
    working_days_left: int | None = Field(
        description="working days to the due date (0 on it, negative when late); null before submission and once final"
    )
    paused: bool = Field(description="the clock is stopped: a supplement is awaited from the applicant")
    supply_by: date | None = Field(description="while paused: the last day to supply what was asked")
    overdue: bool = Field(description="open and past its due date, with no apology setting a later one")
    created_at: datetime
    updated_at: datetime
    fee_vnd: int = Field(default=0, description="the fee of the pinned procedure version, set at submission")
    payment_status: PaymentStatus = Field(
        default=PaymentStatus.NOT_REQUIRED, description="not_required, due, pending, paid, failed or refunded"
    )
    fee_due: FeeDue = Field(
        default=FeeDue.AT_SUBMISSION,
        description="when the fee is paid: at_submission (before intake accepts) or at_result (once the result is "
        "issued, before it is released to the applicant)",
    )

    @classmethod
    def of(cls, app: Application) -> ApplicationSummary:
        return cls.model_validate(_summary_fields(app))


def _summary_fields(app: Application) -> dict[str, Any]:
    fields = app.model_dump(include=set(ApplicationSummary.model_fields))
    today = due_dates.local_day(datetime.now(UTC))
    supply_by = app.supplements[-1].supply_by if app.paused and app.supplements else None
    return {
        **fields,
        "working_days_left": app.working_days_left(today),
        "paused": app.paused,
        "supply_by": supply_by,
        "overdue": app.overdue(today),
    }


class ResultPublic(BaseModel):
    """The signed result of a completed dossier (GET /v1/applications/{id}/result gives the PDF)."""

    verification_code: str | None = Field(description="null to the applicant while the result awaits its fee")
    sha256: str | None = Field(description="null to the applicant while the result awaits its fee")
    issued_at: datetime
    status: Literal["valid", "revoked"]
    revoked_at: datetime | None = None
    revocation_reason: str | None = None
    released: bool = Field(
        default=True,
        description="false while a fee paid at result is unpaid: the applicant gets the document once it is paid",
    )

    @classmethod
    def of(cls, app: Application, *, for_owner: bool) -> ResultPublic | None:
        if app.result is None:
            return None
        released = not payments.withholds_result(app.payment_status)
        shown = app.result.model_dump()
        if for_owner and not released:  # nothing of the document before its fee is paid
            shown |= {"verification_code": None, "sha256": None}
        return cls.model_validate({**shown, "released": released})


class ApplicationPublic(ApplicationSummary):
    revision: int = Field(description="what the ETag names; it changes when the form data changes")
    data: dict[str, Any]
    documents: list[DocumentPublic]
    history: list[HistoryPublic]
    result: ResultPublic | None = None

    @classmethod
    def of(cls, app: Application) -> ApplicationPublic:
        """The dossier as its owner reads it."""
        return cls.shown(app, for_owner=True)

    @classmethod
    def shown(cls, app: Application, *, for_owner: bool) -> ApplicationPublic:
        return cls(
            **_summary_fields(app),
            revision=app.revision,
            data=app.data,
            documents=[DocumentPublic.of(d) for d in sorted(app.documents.values(), key=lambda d: d.document_key)],
            # the agency's own proposals are not the applicant's to read
            history=[HistoryPublic.of(h) for h in app.history if h.action not in INTERNAL],
            result=ResultPublic.of(app, for_owner=for_owner),
        )


class ActionPublic(BaseModel):
    """An action an officer may take on the dossier now."""

    action: OfficerActionName
    comment_required: bool = Field(description="the applicant is told why, so a comment must be given")

    @classmethod
    def of(cls, action: Action) -> ActionPublic:
        return cls(action=action, comment_required=action in COMMENT_REQUIRED)


class ApplicantPublic(BaseModel):
    """Who filed the dossier, as identity verified them at submission (the agency's officers alone read it)."""

    account_type: ApplicantType
    full_name: str
    national_id: str | None = Field(description="the 12-digit citizen ID (individuals)")
    tax_code: str | None = Field(description="businesses (10 or 13 digits)")
    organisation_name: str | None = Field(description="businesses and organisations")
    email: str
    phone: str = Field(description="E.164 (+84…)")

    @classmethod
    def of(cls, applicant: Applicant | None) -> ApplicantPublic | None:
        return cls.model_validate(applicant.model_dump()) if applicant else None


class ApplicantSummary(BaseModel):
    """The applicant as the agency's queue lists them."""

    account_type: ApplicantType
    full_name: str
    organisation_name: str | None

    @classmethod
    def of(cls, applicant: Applicant | None) -> ApplicantSummary | None:
        return cls.model_validate(applicant.model_dump()) if applicant else None


class AgencyApplicationPublic(ApplicationPublic):
    applicant_account_id: str
    applicant_type: str
    applicant: ApplicantPublic | None = Field(
        description="who filed it, as at submission (null only for dossiers submitted before applicants were copied)"
    )
    assignee: Assignee | None = Field(description="the specialist handling it; null while nobody is")
    actions: list[ActionPublic] = Field(description="what an officer may do with it now, the usual first")
    can_assign: bool = Field(description="the officer may assign it (intake) or take it (a specialist)")

    @classmethod
    def of(cls, app: Application, roles: frozenset[Role] = ALL_ROLES) -> AgencyApplicationPublic:
        today = due_dates.local_day(datetime.now(UTC))
        actions = [ActionPublic.of(a) for a in app.officer_actions(roles, today)]
        return cls(
            **{
                **ApplicationPublic.shown(app, for_owner=False).model_dump(),
                "history": [HistoryPublic.of(h) for h in app.history],
            },
            applicant_account_id=app.owner_id,
            applicant_type=app.applicant_type,
            applicant=ApplicantPublic.of(app.applicant),
            assignee=app.assignee,
            actions=actions,
            can_assign=app.status in OPEN and bool(roles & {Role.INTAKE, Role.SPECIALIST}),
        )


class AgencySummary(ApplicationSummary):
    """A dossier in the agency's queue or an officer's inbox: who handles it too."""

    assignee: Assignee | None
    applicant: ApplicantSummary | None = Field(description="who filed it (null for dossiers filed before)")

    @classmethod
    def of(cls, app: Application) -> AgencySummary:
        fields = {**_summary_fields(app), "assignee": app.assignee, "applicant": ApplicantSummary.of(app.applicant)}
        return cls.model_validate(fields)


class AgencyPage(BaseModel):
    items: list[AgencySummary]
    total: int
    page: int
    page_size: int


class ApplicationPage(BaseModel):
    items: list[ApplicationSummary]
    total: int
    page: int
    page_size: int


class SubmitAnswer(BaseModel):
    status: Status
    tracking_code: str
    submitted_at: datetime
    due_date: date


class LookupPublic(BaseModel):
    """Where a dossier stands, without anything about the person who filed it."""

    tracking_code: str
    procedure_code: str
    status: Status
    submitted_at: datetime
    due_date: date
    updated_at: datetime
