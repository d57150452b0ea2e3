"""The agency's desk: assigning a dossier to a specialist, and each officer's inbox of what is assigned to them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from motcua.common.auth import Officer
from motcua.common.paging import check_depth
from motcua.common.request_context import RequestId
from motcua.submission import applications
from motcua.submission.agency import agency_of, answered
from motcua.submission.deps import SettingsDep, StoreDep, SubmissionDep
from motcua.submission.schemas import AgencyApplicationPublic, AgencyPage, AgencySummary, Assignment
from motcua.submission.workflow import Role
from pydantic import BaseModel

router = APIRouter(prefix="/v1/agency", tags=["agency"])


@router.get("/inbox", summary="The dossiers assigned to me")
async def inbox(
    officer: Officer,
    store: StoreDep,
    settings: SettingsDep,
    response: Response,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> AgencyPage:
    """The open dossiers of the officer's agency assigned to the caller, the soonest due first; with totals."""
    agency_of(officer)
    size = min(page_size, settings.max_page_size)
    check_depth(page, size)
    found, total = await store.inbox(officer.sub, skip=(page - 1) * size, limit=size)
    response.headers["Cache-Control"] = "private, no-store"
    items = [AgencySummary.of(a) for a in found if a.visible_to_agency(officer.agency)]
    return AgencyPage(items=items, total=total, page=page, page_size=size)


class OfficerPublic(BaseModel):
    id: str
    full_name: str
    roles: list[str]


class OfficerList(BaseModel):
    items: list[OfficerPublic]


@router.get("/officers", summary="The officers of my agency")
async def officers(
    officer: Officer,
    store: StoreDep,
    response: Response,
    role: Annotated[Role | None, Query(description="only those holding this desk role")] = None,
) -> OfficerList:
    """The active officers of the caller's agency, by name, as the directory has them (whom to assign to)."""
    found = await store.agency_officers(agency_of(officer), role.value if role else None)
    response.headers["Cache-Control"] = "private, no-store"
    return OfficerList(items=[OfficerPublic(id=o.id, full_name=o.full_name, roles=o.roles) for o in found])


@router.post("/applications/{application_id}/assign", summary="Assign a dossier to a specialist, or take it")
async def assign(
    application_id: Annotated[str, Path(max_length=64)],
    body: Assignment,
    officer: Officer,
    submission: SubmissionDep,
    rid: RequestId,
    response: Response,
) -> AgencyApplicationPublic:
    """An intake officer assigns an open dossier to an active specialist of the same agency; a specialist takes
    one for themself (`assignee_id` their own id). 403 for another role or another officer's name; 422 when
    `assignee_id` is not an active specialist of the agency; 404 for a dossier of another agency. A reassignment
    is recorded in the history and ApplicationAssigned names the previous assignee."""
    agency_of(officer)
    moved = await applications.assign(submission, application_id, officer, body.assignee_id, request_id=rid)
    return answered(moved, officer, response)
