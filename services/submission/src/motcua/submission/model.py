"""The domain: procedures as submission sees them, applications and their documents — pure, no I/O.

What a move of an application decides (its new status, history entry, receipt, tracking code, due
date) is decided here; `applications` reads what a decision needs, calls it, and writes the result.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any, Literal

from motcua.common.errors import (
    Conflict,
    FieldProblem,
    Forbidden,
    InvalidInput,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
    pointer,
)
from motcua.submission import applicants, due_dates, escalation, payments, tracking
from motcua.submission.applicants import Applicant
from motcua.submission.escalation import Notice
from motcua.submission.forms import form_problems
from motcua.submission.payments import FeeDue, PaymentStatus
from motcua.submission.workflow import (
    COMMENT_REQUIRED,
    EDITABLE,
    FINAL,
    OPEN,
    Action,
    Role,
    Status,
    TransitionNotAllowed,
    WrongRole,
    allowed,
    next_status,
)
from pydantic import BaseModel, ConfigDict, Field

# What a specialist proposes to the approver.
Outcome = Literal["approve", "reject"]


class ProcedureUnavailable(NotFound):
    title = "Procedure not found"


class ApplicantTypeNotAllowed(Forbidden):
    title = "Applicant type not allowed"


class ApplicationNotFound(NotFound):
    title = "Application not found"


class DocumentNotFound(NotFound):
    title = "Document not found"


class NotEditable(Conflict):
    title = "Application not editable"


class AlreadySubmitted(Conflict):
    title = "Already submitted"


class Incomplete(InvalidInput):
    """What stands between a dossier and its submission: every invalid field and missing document."""

    def __init__(self, problems: list[FieldProblem]) -> None:
        super().__init__(problems, "The application is not complete: " + ", ".join(p.pointer for p in problems))


class StaleRevision(PreconditionFailed):
    title = "Precondition failed"


class MissingPrecondition(PreconditionRequired):
    """No If-Match at all (428, RFC 6585)."""


class SupplementAlreadyRequested(Conflict):
    title = "Supplement already requested"


class SupplyTimeNotOver(Conflict):
    title = "The applicant still has time to supply"


class RequiredDocument(BaseModel):
    model_config = ConfigDict(frozen=True)

    key: str
    name: str
    name_en: str = ""
    required: bool
    accepted_types: list[str]
    max_size_mb: float

    @property
    def max_bytes(self) -> int:
        return int(self.max_size_mb * 1024 * 1024)


class Procedure(BaseModel):
    """One published version of a procedure, as the catalogue announced it."""

    model_config = ConfigDict(frozen=True)

    code: str
    version: int
    name: str
    name_en: str = ""
    agency_code: str
    applicant_types: list[str]
    processing_days: int
    same_day_cutoff: str | None = None  # "HH:MM": received before it, the result is due the same day
    required_documents: list[RequiredDocument]
    form_schema: dict[str, Any]
    retired: bool = False
    result_template: str | None = "generic"  # what issue_result renders when no PDF is uploaded (None: upload one)
    fee_vnd: int = 0  # paid online (docs/payments.md)
    fee_due: FeeDue = FeeDue.AT_SUBMISSION  # before intake accepts, or before the result is released

    def due_date(self, submitted_at: datetime, hours: due_dates.WorkingHours) -> date:
        """When the result of a dossier of this version submitted at `submitted_at` is due."""
        cutoff = time.fromisoformat(self.same_day_cutoff) if self.same_day_cutoff else None
        return due_dates.due_date(submitted_at, self.processing_days, hours=hours, same_day_cutoff=cutoff)

    def document(self, key: str) -> RequiredDocument | None:
        return next((d for d in self.required_documents if d.key == key), None)

    @property
    def largest_document_bytes(self) -> int:
        return max((d.max_bytes for d in self.required_documents), default=0)


class DocumentSource(BaseModel):
    """Where an attached document came from when it was not uploaded: an item of the citizen's wallet."""

    kind: Literal["wallet"] = "wallet"
    wallet_item_id: str
    item_kind: Literal["upload", "result"]
    from_application_id: str


class DocumentRef(BaseModel):
    """An uploaded file attached to an application (the file itself lives in GridFS under `id`)."""

    id: str
    document_key: str
    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_at: datetime
    source: DocumentSource | None = None  # None: uploaded to this dossier


class IssuedResult(BaseModel):
    """The signed result document of a completed dossier (the file in GridFS under `file_id`); results.py
    decides how it is issued and revoked."""

    verification_code: str
    file_id: str
    filename: str
    sha256: str
    size: int
    issued_at: datetime
    status: Literal["valid", "revoked"] = "valid"
    made_from: Literal["template", "upload"]
    revoked_at: datetime | None = None
    revocation_reason: str | None = None


class HistoryEntry(BaseModel):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    at: datetime
    from_status: Status = Field(alias="from")
    to_status: Status = Field(alias="to")
    by_role: str
    comment: str = ""
    action: Action | None = None  # what was done (kept since roles and proposals; older entries lack it)
    outcome: Outcome | None = None  # a specialist's proposal
    due_date: date | None = None  # the due date in force after this entry (what its slip promises)
    items: list[str] = []  # a supplement request: every missing item, asked at once
    supply_by: date | None = None  # a supplement request: the last day the applicant may supply
    assignee_id: str | None = None  # an assignment: the specialist now handling the dossier
    assignee_name: str | None = None


class Officer(BaseModel):
    """An officer as the directory (identity's OfficerProfileChanged) describes them."""

    id: str
    full_name: str
    agency_code: str
    roles: list[str]
    active: bool


class Assignee(BaseModel):
    id: str
    full_name: str
    assigned_at: datetime


class SupplementRequest(BaseModel):
    """What the agency asked the applicant to supply, and by when."""

    items: list[str]
    supply_by: date
    requested_at: datetime


class SubmitReceipt(BaseModel):
    """The first successful answer to a submit, returned again for the same Idempotency-Key."""

    idempotency_key: str
    status: Status
    tracking_code: str
    submitted_at: datetime
    due_date: date

    def answer(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude={"idempotency_key"})


class Application(BaseModel):
    """A citizen's dossier for one pinned procedure version."""

    id: str
    owner_id: str
    applicant_type: str
    procedure_code: str
    procedure_version: int
    procedure_name: str
    procedure_name_en: str = ""
    agency_code: str
    status: Status = Status.DRAFT
    revision: int = 1
    data: dict[str, Any] = {}
    documents: dict[str, DocumentRef] = {}
    history: list[HistoryEntry] = []
    tracking_code: str | None = None
    submitted_at: datetime | None = None
    due_date: date | None = None
    receipt: SubmitReceipt | None = None
    assignee: Assignee | None = None
    supplements: list[SupplementRequest] = []
    next_notice: Notice | None = None  # the escalation check's next notice, and the day it is due
    next_notice_on: date | None = None
    result: IssuedResult | None = None
    fee_vnd: int = 0  # the pinned version's fee, set at submission
    fee_due: FeeDue = FeeDue.AT_SUBMISSION  # and when it is paid, set at submission
    payment_status: PaymentStatus = PaymentStatus.NOT_REQUIRED
    applicant: Applicant | None = None  # who filed it, as identity verified them at submission (the agency reads it)
    created_at: datetime
    updated_at: datetime

    @property
    def editable(self) -> bool:
        return self.status in EDITABLE

    @property
    def paused(self) -> bool:
        """The processing clock stands still: the agency awaits a supplement from the applicant."""
        return self.status == Status.SUPPLEMENT_REQUESTED

    def overdue(self, today: date) -> bool:
        """Open, its clock running, and past its due date with no apology setting a later one: flagged."""
        return self.status in OPEN and not self.paused and self.due_date is not None and self.due_date < today

    def officer_actions(self, roles: frozenset[Role], today: date) -> list[Action]:
        """What an officer with `roles` may do now: a dossier awaiting its supplement is refused only once its
        supply-by date has passed."""
        return [
            a
            for a in allowed(self.status, "officer", roles)
            if not (self.status == Status.SUPPLEMENT_REQUESTED and a == Action.REJECT and not self._supply_over(today))
        ]

    def _supply_over(self, today: date) -> bool:
        return bool(self.supplements) and self.supplements[-1].supply_by < today

    def working_days_left(self, today: date) -> int | None:
        """Working days until the due date (negative when late); None before submission and once final."""
        if self.due_date is None or self.status in FINAL:
            return None
        return due_dates.working_days_left(self.due_date, today)

    def ensure_editable(self) -> None:
        if not self.editable:
            raise NotEditable(
                f"The application is {self.status}; only drafts and applications awaiting a supplement can be changed."
            )

    def visible_to_agency(self, agency: str | None) -> bool:
        return agency is not None and agency == self.agency_code and self.status != Status.DRAFT

    def check_complete(self, procedure: Procedure, today: date) -> None:
        """Incomplete (422, every problem at once) unless the form and the documents are complete; the
        dates the form bounds relative to today are judged against `today`, the day in Vietnam."""
        problems = form_problems(procedure.form_schema, self.data, complete=True, today=today) + missing_documents(
            procedure, self.documents
        )
        if problems:
            raise Incomplete(problems)

    def submit(
        self,
        procedure: Procedure,
        *,
        idempotency_key: str,
        at: datetime,
        applicant: Applicant | None,
        hours: due_dates.WorkingHours = due_dates.OFFICE_HOURS,
    ) -> Application:
        """The draft submitted at `at` by `applicant` (their profile then, copied in: ApplicantNotYetKnown while
        it has not arrived): its receipt, a fresh tracking code, the due date `procedure`'s processing days give
        from the receipt (outside the desk's `hours`, the next working day's start). The same
        `idempotency_key` again answers the application unchanged."""
        if self.receipt is not None and self.receipt.idempotency_key == idempotency_key:
            return self
        if self.status != Status.DRAFT:
            raise AlreadySubmitted(f"This application was already submitted (tracking code {self.tracking_code}).")
        self.check_complete(procedure, due_dates.local_day(at))
        filed_by = applicants.snapshot(applicant)
        due = procedure.due_date(at, hours)
        moved = changed(
            self.model_copy(update=_clock(due, at, hours)),
            next_status(self.status, Action.SUBMIT),
            by_role="citizen",
            comment="",
            at=at,
            action=Action.SUBMIT,
        )
        receipt = SubmitReceipt(
            idempotency_key=idempotency_key,
            status=moved.status,
            tracking_code=tracking.new_code(at),
            submitted_at=at,
            due_date=due,
        )
        return moved.model_copy(
            update={
                "tracking_code": receipt.tracking_code,
                "submitted_at": at,
                "due_date": receipt.due_date,
                "receipt": receipt,
                "fee_vnd": procedure.fee_vnd,
                "fee_due": procedure.fee_due,
                "payment_status": payments.at_submission(procedure.fee_vnd, procedure.fee_due),
                "applicant": filed_by,
            }
        )

    def resubmit(
        self,
        procedure: Procedure,
        *,
        comment: str,
        at: datetime,
        hours: due_dates.WorkingHours = due_dates.OFFICE_HOURS,
    ) -> Application:
        """The supplemented dossier back with the agency; checked like a submit, and the processing time
        restarts from `at`, since the dossier is complete again. The applicant section stays as filed at
        submission: the same filing, supplemented (applicants.py)."""
        target = next_status(self.status, Action.RESUBMIT)
        self.check_complete(procedure, due_dates.local_day(at))
        restarted = self.model_copy(update=_clock(procedure.due_date(at, hours), at, hours))
        return changed(restarted, target, by_role="citizen", comment=comment, at=at, action=Action.RESUBMIT)

    def apologise(self, *, reason: str, new_due_date: date, at: datetime) -> Application:
        """The agency's apology for being late, with a later working day as the new due date: recorded in
        the history (its slip), the status unchanged."""
        if self.status not in OPEN or self.due_date is None:
            raise TransitionNotAllowed(f"An application that is {self.status} owes no answer to apologise for.")
        problems = []
        if not reason.strip():
            problems.append(FieldProblem("/reason", "say why the answer will be late: the applicant reads it"))
        if new_due_date <= self.due_date:
            problems.append(
                FieldProblem("/new_due_date", f"must be later than the current due date {self.due_date.isoformat()}")
            )
        elif not due_dates.is_working_day(new_due_date):
            problems.append(FieldProblem("/new_due_date", "must be a working day (not a weekend or a holiday)"))
        if problems:
            raise InvalidInput(problems)
        entry = HistoryEntry(
            at=at,
            from_status=self.status,
            to_status=self.status,
            by_role="officer",
            comment=reason.strip(),
            action=Action.APOLOGISE,
            due_date=new_due_date,
        )
        notice_on = escalation.overdue_day(new_due_date)  # warned already: only lateness is told again
        return self.model_copy(
            update={
                "due_date": new_due_date,
                "next_notice": "overdue",
                "next_notice_on": notice_on,
                "history": [*self.history, entry],
                "updated_at": at,
            }
        )

    def assign(self, officer: Officer, *, by_id: str, by_roles: frozenset[Role], at: datetime) -> Application:
        """Give the open dossier to `officer`, a specialist of its agency: intake assigns anyone such, a specialist
        takes it only for themself. The same specialist again changes nothing."""
        if self.status not in OPEN:
            raise TransitionNotAllowed(f"An application that is {self.status} is no longer assigned to anyone.")
        if Role.INTAKE not in by_roles and not (Role.SPECIALIST in by_roles and officer.id == by_id):
            raise WrongRole("Only an intake officer assigns a dossier; a specialist may take one for themself.")
        if officer.agency_code != self.agency_code or not officer.active or Role.SPECIALIST not in officer.roles:
            raise InvalidInput.one("/assignee_id", "must be an active specialist of this dossier's agency")
        if self.assignee is not None and self.assignee.id == officer.id:
            return self
        entry = HistoryEntry(
            at=at,
            from_status=self.status,
            to_status=self.status,
            by_role="officer",
            comment=officer.full_name,
            action=Action.ASSIGN,
            due_date=self.due_date,
            assignee_id=officer.id,
            assignee_name=officer.full_name,
        )
        assignee = Assignee(id=officer.id, full_name=officer.full_name, assigned_at=at)
        return self.model_copy(update={"assignee": assignee, "history": [*self.history, entry], "updated_at": at})

    def request_supplement(self, *, comment: str, items: list[str], at: datetime, supply_days: int) -> Application:
        """Ask the applicant for every missing item at once, to supply within `supply_days` days; the clock stops.
        One request per dossier (Decree 61/2018): a later one only when the resubmission still lacks items the
        first asked for, and only for those."""
        asked = [i.strip() for i in items if i.strip()] or [comment]
        if self.supplements:
            first = set(self.supplements[0].items)
            extra = [i for i in asked if i not in first]
            if extra:
                raise SupplementAlreadyRequested(
                    "A supplement was already requested for this dossier: ask again only for items of that request"
                    f" still missing ({'; '.join(self.supplements[0].items)}), not for: {'; '.join(extra)}."
                )
        supply_by = due_dates.local_day(at) + timedelta(days=supply_days)
        target = next_status(self.status, Action.REQUEST_SUPPLEMENT)
        moved = changed(self, target, by_role="officer", comment=comment, at=at, action=Action.REQUEST_SUPPLEMENT)
        entry = moved.history[-1].model_copy(update={"items": asked, "supply_by": supply_by})
        request = SupplementRequest(items=asked, supply_by=supply_by, requested_at=at)
        return moved.model_copy(
            update={
                "history": [*self.history, entry],
                "supplements": [*self.supplements, request],
                "next_notice": None,  # the clock stands still until the resubmission restarts it
                "next_notice_on": None,
            }
        )

    def noticed(self, notice: Notice) -> Application:
        """`notice` was given: the next one (overdue after the warning), or none."""
        assert self.due_date is not None
        following, on = escalation.after(notice, self.due_date)
        return self.model_copy(update={"next_notice": following, "next_notice_on": on})

    def move(
        self, action: Action, *, by_role: str, comment: str, at: datetime, outcome: Outcome | None = None
    ) -> Application:
        """Where the state machine takes the application by `action` (a withdrawal or an officer's action);
        a proposal (`outcome` approve or reject) is recorded without a change of status; a dossier awaiting its
        supplement is refused only after its supply-by date."""
        target = next_status(self.status, action)
        refusing_a_supplement = self.status == Status.SUPPLEMENT_REQUESTED and action == Action.REJECT
        if refusing_a_supplement and not self._supply_over(due_dates.local_day(at)):
            supply_by = self.supplements[-1].supply_by.isoformat() if self.supplements else "the supply-by date"
            raise SupplyTimeNotOver(f"The applicant may supply the missing items until {supply_by}.")
        if action == Action.ACCEPT:
            payments.check_acceptable(self.payment_status, self.fee_vnd)
        moved = changed(self, target, by_role=by_role, comment=comment, at=at, action=action, outcome=outcome)
        if action == Action.ISSUE_RESULT:  # a fee paid at result is owed from now; the document waits for it
            owed = payments.at_result(self.payment_status, self.fee_vnd, self.fee_due)
            return moved.model_copy(update={"payment_status": owed})
        accepted = any(h.action == Action.ACCEPT for h in self.history)
        if payments.refund_due(self.payment_status, to_status=target.value, ever_accepted=accepted):
            return moved.model_copy(update={"payment_status": PaymentStatus.REFUNDED})
        return moved


def _clock(due: date, at: datetime, hours: due_dates.WorkingHours) -> dict[str, Any]:
    """A due date counted from `at`, and the escalation check's first notice for it."""
    start = due_dates.local_day(due_dates.received_at(at, hours))
    notice, on = escalation.first_notice(start, due)
    return {"due_date": due, "next_notice": notice, "next_notice_on": on}


def missing_documents(procedure: Procedure, documents: dict[str, DocumentRef]) -> list[FieldProblem]:
    return [
        FieldProblem(pointer("documents", d.key), f"required document missing: {d.name_en or d.name}")
        for d in procedure.required_documents
        if d.required and d.key not in documents
    ]


def explained(action: Action, comment: str) -> str:
    """The comment of a move, trimmed; required where the applicant needs to know why (InvalidInput)."""
    if action in COMMENT_REQUIRED and not comment.strip():
        raise InvalidInput.one("/comment", f"say why: the applicant reads this comment ({action.value})")
    return comment.strip()


def start_draft(
    procedure: Procedure, *, application_id: str, owner_id: str, account_type: str | None, at: datetime
) -> Application:
    """A new draft pinned to `procedure`'s version, if the procedure takes this kind of applicant."""
    if procedure.retired:
        raise ProcedureUnavailable(f"The procedure {procedure.code} no longer takes applications.")
    if account_type not in procedure.applicant_types:
        allowed = ", ".join(procedure.applicant_types)
        raise ApplicantTypeNotAllowed(
            f"The procedure {procedure.code} is for {allowed} applicants; this account is {account_type or 'unknown'}."
        )
    return Application(
        id=application_id,
        owner_id=owner_id,
        applicant_type=account_type,
        procedure_code=procedure.code,
        procedure_version=procedure.version,
        procedure_name=procedure.name,
        procedure_name_en=procedure.name_en,
        agency_code=procedure.agency_code,
        created_at=at,
        updated_at=at,
    )


def check_revision(app: Application, if_match: str | None) -> None:
    """If-Match must name the current revision (`*` matches any); weak tags never match (RFC 9110)."""
    if if_match is None:
        raise MissingPrecondition("Send If-Match with the ETag of the application you last read.")
    tags = [t.strip() for t in if_match.split(",")]
    if "*" in tags or etag(app) in tags:
        return
    raise StaleRevision(
        f"The application changed since you read it (it is now at {etag(app)}); read it again and reapply."
    )


def etag(app: Application) -> str:
    return f'"{app.revision}"'


def changed(
    app: Application,
    to: Status,
    *,
    by_role: str,
    comment: str,
    at: datetime,
    action: Action | None = None,
    outcome: Outcome | None = None,
) -> Application:
    """`app` moved to `to`, with the move appended to its history (and the due date then in force)."""
    entry = HistoryEntry(
        at=at,
        from_status=app.status,
        to_status=to,
        by_role=by_role,
        comment=comment,
        action=action,
        outcome=outcome,
        due_date=app.due_date,
    )
    return app.model_copy(update={"status": to, "history": [*app.history, entry], "updated_at": at})
