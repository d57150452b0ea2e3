"""Officers' routes: their agency's queue and the actions that move a dossier through its workflow."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from motcua.common.auth import Officer, Principal
from motcua.common.clock import now
from motcua.common.errors import Forbidden, InvalidInput
from motcua.common.paging import check_depth
from motcua.common.request_context import RequestId
from motcua.submission import applicants, applications, due_dates, issuing, tracking
from motcua.submission.deps import SettingsDep, StoreDep, SubmissionDep
from motcua.submission.model import Application, etag
from motcua.submission.result_routes import ACTION_BODY, ActionBody
from motcua.submission.schemas import (
    AgencyApplicationPublic,
    AgencyPage,
    AgencySummary,
    Apology,
)
from motcua.submission.workflow import Action, Status

router = APIRouter(prefix="/v1/agency", tags=["agency"])


def agency_of(officer: Officer) -> str:
    if not officer.agency:
        raise Forbidden("This officer account is not attached to an agency.")
    return officer.agency


def answered(moved: Application, officer: Principal, response: Response) -> AgencyApplicationPublic:
    """The dossier after an officer's move, as that officer may act on it next (never cached)."""
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["ETag"] = etag(moved)
    return AgencyApplicationPublic.of(moved, applications.officer_roles(officer))


@router.get("/applications", summary="My agency's queue")
async def queue(
    officer: Officer,
    store: StoreDep,
    settings: SettingsDep,
    response: Response,
    status: Status | None = None,
    procedure: Annotated[str | None, Query(pattern=r"^[A-Z0-9][A-Z0-9-]{1,39}$")] = None,
    due_within_days: Annotated[int | None, Query(ge=0, le=365)] = None,
    overdue: bool = False,
    assignee: Annotated[str | None, Query(max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")] = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
    q: Annotated[str | None, Query(min_length=2, max_length=applicants.NAME_SEARCH_MAX)] = None,
    open_only: Annotated[bool, Query(alias="open")] = False,
) -> AgencyPage:
    """Submitted applications of the officer's own agency, the earliest due first; drafts never show.
    Filters: `status`, `procedure` (its code), `due_within_days` (open dossiers due within that many
    working days from today in Vietnam, 0 for today and the late ones), `overdue` (open dossiers past
    their due date), `assignee` (an officer's account id, or `none` for the dossiers nobody handles yet),
    `open=true` (only the dossiers still open: submitted, processing, awaiting a supplement, approved), `q`
    (a tracking code, whole or its beginning, dashes optional: `HS-2612-7K` or `hs26127k`; otherwise the
    beginning of the applicant's name, with or without diacritics, any case: `nguyen thi` finds "Nguyễn Thị
    Ánh"; 422 when it is neither). With totals, paginated."""
    prefix = name = None
    if q is not None:
        prefix = tracking.search_prefix(q)
        if prefix is None and tracking.meant_as_code(q):
            raise InvalidInput.one("/q", "must be a tracking code or its beginning, such as HS-2612-7KQ3")
        if prefix is None:
            name = applicants.name_search_prefix(q)
        if prefix is None and name is None:
            raise InvalidInput.one("/q", "must be a tracking code or its beginning, or the beginning of a name")
    size = min(page_size, settings.max_page_size)
    check_depth(page, size)
    today = due_dates.local_day(now())
    found, total = await store.agency_queue(
        agency_of(officer),
        status,
        skip=(page - 1) * size,
        limit=size,
        procedure_code=procedure,
        due_by=due_dates.add_working_days(today, due_within_days) if due_within_days is not None else None,
        overdue_on=today if overdue else None,
        assignee_id=assignee,
        tracking_prefix=prefix,
        name_prefix=name,
        open_only=open_only,
    )
    response.headers["Cache-Control"] = "private, no-store"
    return AgencyPage(items=[AgencySummary.of(a) for a in found], total=total, page=page, page_size=size)


@router.post("/applications/{application_id}/actions", summary="Act on an application", openapi_extra=ACTION_BODY)
async def act(
    application_id: Annotated[str, Path(max_length=64)],
    officer: Officer,  # before the body: who asks is checked before what is sent is read
    body: ActionBody,
    submission: SubmissionDep,
    rid: RequestId,
    response: Response,
) -> AgencyApplicationPublic:
    """`accept`, `request_supplement` (comment required), `propose` (with `outcome` and a comment: advice
    recorded for the approvers, no change of status, the applicant not told), `approve`, `reject` (comment
    required) or `issue_result`. Each only for its roles (403 otherwise: accept and issue_result intake;
    request_supplement intake or specialist; propose specialist; approve and reject approver, and intake
    may reject a dossier not yet accepted); 409 when the workflow does not allow it from the current
    status; the applicant is told through ApplicationStatusChanged. `issue_result` makes the signed result
    document (docs/results.md): multipart with `action=issue_result` and `file` (a PDF), or JSON when the
    procedure has a result template (422 naming `file` otherwise)."""
    agency_of(officer)
    if body.action == Action.ISSUE_RESULT:
        moved = await issuing.issue(
            submission, application_id, officer, comment=body.comment, upload=body.file, request_id=rid
        )
        return answered(moved, officer, response)
    moved = await applications.move(
        submission,
        application_id,
        officer,
        body.action,
        comment=body.comment,
        outcome=body.outcome,
        items=body.items,
        request_id=rid,
    )
    return answered(moved, officer, response)


@router.post("/applications/{application_id}/apology", summary="Apologise for a late answer and set a later date")
async def apologise(
    application_id: Annotated[str, Path(max_length=64)],
    body: Apology,
    officer: Officer,
    submission: SubmissionDep,
    rid: RequestId,
    response: Response,
) -> AgencyApplicationPublic:
    """Any officer of the agency, while the dossier is open: `reason` (the applicant reads it) and
    `new_due_date`, a working day later than the current due date (422 otherwise). The apology slip is
    issued and the applicant told (ApologyIssued); the status does not change."""
    agency_of(officer)
    moved = await applications.apologise(
        submission, application_id, officer, reason=body.reason, new_due_date=body.new_due_date, request_id=rid
    )
    return answered(moved, officer, response)
