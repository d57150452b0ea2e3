"""Events of the submission service, on `motcua.submission.application.v1`, each copied to its agency's own
topic `motcua.submission.agency.<agency_code>.v1` (what agencies subscribe to)."""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar, Literal

from motcua.common import topics
from motcua.common.events import Event, register
from pydantic import BaseModel, ConfigDict, Field


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


class IssuedSlip(BaseModel):
    """The Decree 61/2018 slip a move issued, with what the slip prints beyond the event's own fields (its text is
    the event's comment or reason, its date the event's `due_date`): notification attaches it to the email."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    kind: Literal["receipt", "supplement_request", "refusal", "apology"]
    submitted_at: datetime | None
    items: list[str] = Field(default=[], description="a supplement request: every missing item")
    supply_by: date | None = Field(default=None, description="a supplement request: the last day to supply")


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
    slip: IssuedSlip | None = Field(default=None, description="the apology slip (absent in older events)")


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
    slip: IssuedSlip | None = Field(
        default=None, description="the slip this move issued: receipt, supplement request or refusal"
    )


@register
class ApplicationAssigned(_ApplicationEvent):
    """A dossier was given to a specialist of its agency (or taken by one); `previous_assignee_id` is set on a
    reassignment. Inside the agency's desk: the applicant is not told."""

    ce_type: ClassVar[str] = "motcua.submission.ApplicationAssigned.v1"

    assignee_id: str
    assignee_name: str
    previous_assignee_id: str | None = None
    assigned_by: str = Field(description="The account id of the officer who assigned it.")
    assigned_at: datetime


class _DeadlineEvent(_ApplicationEvent):
    assignee_id: str | None = Field(description="The specialist handling it; null while nobody is assigned.")
    status: str
    working_days_left: int = Field(description="Working days until `due_date` (negative: this many days late).")
    noticed_at: datetime


@register
class ApplicationDeadlineApproaching(_DeadlineEvent):
    """Three quarters of a dossier's working days have gone and it is still open: once per due date, from the
    escalation check. Notification tells the assignee and the agency's approvers."""

    ce_type: ClassVar[str] = "motcua.submission.ApplicationDeadlineApproaching.v1"


@register
class ApplicationOverdue(_DeadlineEvent):
    """An open dossier passed its due date without an apology setting a later one: once per due date, from the
    escalation check; the dossier is flagged until an apology gives a later date."""

    ce_type: ClassVar[str] = "motcua.submission.ApplicationOverdue.v1"


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


@register
class ApplicationResultIssued(_ApplicationEvent):
    """A completed dossier's result document was issued, signed by the agency: its hash and verification code
    (anyone holding the document can verify it at `PUBLIC_BASE_URL/verify/{verification_code}`), never the file."""

    ce_type: ClassVar[str] = "motcua.submission.ApplicationResultIssued.v1"

    verification_code: str
    sha256: str
    size: int
    content_type: str = "application/pdf"
    made_from: str  # "template" or "upload"
    issued_at: datetime
    # a fee paid at result, now due: the applicant gets the document once it is paid (PaymentCompleted with
    # result_released); 0 when the document is released with this event
    fee_due_vnd: int = Field(default=0, ge=0)


@register
class ResultRevoked(_ApplicationEvent):
    """An approver revoked the dossier's result: the verification answers "revoked" with the reason."""

    ce_type: ClassVar[str] = "motcua.submission.ResultRevoked.v1"

    verification_code: str
    sha256: str
    reason: str
    revoked_at: datetime


class _PaymentEvent(_ApplicationEvent):
    """A dossier's fee, as the provider (VNPAY 2.1.0 and the like) settled it; `txn_ref` is the merchant's order
    reference sent to the provider, `transaction_no` the provider's own reference (both on the receipt)."""

    amount_vnd: int = Field(ge=0)
    provider: str
    txn_ref: str
    transaction_no: str = ""


@register
class PaymentCompleted(_PaymentEvent):
    """The applicant paid the fee (a verified IPN or transaction query): notification sends the receipt (biên lai)."""

    ce_type: ClassVar[str] = "motcua.submission.PaymentCompleted.v1"

    paid_at: datetime
    bank_code: str = ""
    # the fee was paid at result: this payment released the result document to the applicant
    result_released: bool = False


@register
class PaymentFailed(_PaymentEvent):
    """The payment attempt failed or was cancelled at the provider; the fee is still owed (it may be paid again)."""

    ce_type: ClassVar[str] = "motcua.submission.PaymentFailed.v1"

    failed_at: datetime
    response_code: str = ""


@register
class PaymentRefunded(_PaymentEvent):
    """A paid fee is given back: the dossier was withdrawn or refused before processing started. `provider_refunded`
    says whether the provider's refund API confirmed it (false: recorded here, to be refunded by the agency)."""

    ce_type: ClassVar[str] = "motcua.submission.PaymentRefunded.v1"

    refunded_at: datetime
    provider_refunded: bool
