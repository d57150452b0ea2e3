"""Accountability in the open: the applicant's rating, the public service index of every agency (its
month, its last twelve months, the ranking), and the agency's own dashboard."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Response
from motcua.common.auth import CurrentPrincipal, Officer
from motcua.common.clock import now
from motcua.common.errors import Forbidden, NotFound
from motcua.common.request_context import RequestId
from motcua.submission import index_model, ratings
from motcua.submission.deps import StoreDep, SubmissionDep
from motcua.submission.index_feed import IndexReader
from motcua.submission.index_model import Figures, Month, Row
from pydantic import BaseModel, Field

router = APIRouter(tags=["accountability"])

MONTH_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])$"
AGENCY_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,63}$"
MonthQuery = Annotated[
    str | None, Query(pattern=MONTH_PATTERN, description="YYYY-MM, Vietnam's calendar; this month by default")
]
AgencyCode = Annotated[str, Path(pattern=AGENCY_PATTERN, max_length=64)]
PUBLIC_CACHE = "public, max-age=60"


class FiguresPublic(BaseModel):
    received: int
    online_share: float | None = Field(description="every dossier here arrives online: 1.0, null when none")
    on_time: int = Field(description="decided (completed or rejected) in the month on or before the due date")
    late: int = Field(description="decided in the month after the due date in force")
    open_past_due: int = Field(description="still open at the month's end (now, this month) and past due")
    average_working_days: float | None = Field(description="from receipt to decision, of those decided")
    supplements: int
    apologies: int
    ratings: int
    satisfaction_rate: float | None = Field(description="share of ratings averaging 4 or more of 5")


class AgencyIndex(FiguresPublic):
    agency_code: str
    month: str


class AgencyMonths(BaseModel):
    agency_code: str
    items: list[AgencyIndex]


class RankedAgency(AgencyIndex):
    rank: int
    on_time_rate: float | None


class Ranking(BaseModel):
    month: str
    items: list[RankedAgency]


def _month(text: str | None) -> Month:
    return Month.parse(text) if text else Month.of(now())


def _index(code: str, month: Month, f: Figures) -> AgencyIndex:
    return AgencyIndex(agency_code=code, month=str(month), **f.as_dict())


async def _known_agency(store: StoreDep, reader: IndexReader, code: str) -> None:
    """An agency is known when a procedure of it was published or a dossier of it was received."""
    if await store.procedures.find_one({"agency_code": code}, projection={"_id": 1}) is None and (
        await reader.dossiers.find_one({"agency_code": code}, projection={"_id": 1}) is None
    ):
        raise NotFound(f"No agency {code} publishes an index here.")


@router.post("/v1/applications/{application_id}/rating", status_code=201, summary="Rate a finished dossier")
async def rate(
    application_id: Annotated[str, Path(max_length=64)],
    body: ratings.RatingCreate,
    who: CurrentPrincipal,
    submission: SubmissionDep,
    rid: RequestId,
    response: Response,
) -> ratings.RatingPublic:
    """The owner, once the dossier is completed, rejected or withdrawn: 1–5 for `guidance`, `timeliness`
    and `courtesy`, an optional `comment` (≤ 1,000 characters, read only by the agency). 409 when already
    rated or not finished; 404 for anyone but the owner."""
    response.headers["Cache-Control"] = "private, no-store"
    return await ratings.rate(submission, application_id, who, body, request_id=rid)


@router.get("/v1/applications/{application_id}/rating", summary="My rating of a dossier")
async def my_rating(
    application_id: Annotated[str, Path(max_length=64)],
    who: CurrentPrincipal,
    submission: SubmissionDep,
    response: Response,
) -> ratings.RatingPublic:
    """The owner's rating, with its comment; 404 when not rated yet, and for anyone but the owner."""
    response.headers["Cache-Control"] = "private, no-store"
    return await ratings.read(submission, application_id, who)


@router.get("/v1/public/agencies/{code}/index", summary="An agency's service index for a month")
async def agency_index(code: AgencyCode, store: StoreDep, response: Response, month: MonthQuery = None) -> AgencyIndex:
    """Anyone: the month's figures of the agency's dossiers, computed from the events; no personal data."""
    reader = IndexReader(store.db)
    await _known_agency(store, reader, code)
    wanted = _month(month)
    found = await reader.touching(wanted, wanted, code)
    response.headers["Cache-Control"] = PUBLIC_CACHE
    return _index(code, wanted, index_model.figures(found, wanted, now()))


@router.get("/v1/public/agencies/{code}/index/months", summary="An agency's index, month by month")
async def agency_months(
    code: AgencyCode,
    store: StoreDep,
    response: Response,
    to: MonthQuery = None,
    count: Annotated[int, Query(ge=1, le=24)] = 12,
) -> AgencyMonths:
    """Anyone: the agency's figures for `count` months (12 by default) ending with `to`, oldest first."""
    reader = IndexReader(store.db)
    await _known_agency(store, reader, code)
    months = index_model.months_back(_month(to), count)
    found = await reader.touching(months[0], months[-1], code)
    at = now()
    response.headers["Cache-Control"] = PUBLIC_CACHE
    return AgencyMonths(agency_code=code, items=[_index(code, m, index_model.figures(found, m, at)) for m in months])


@router.get("/v1/public/ranking", summary="Every agency's index for a month, best first")
async def ranking(store: StoreDep, response: Response, month: MonthQuery = None) -> Ranking:
    """Anyone: agencies ranked by the share decided on time, then satisfaction, then dossiers received."""
    wanted = _month(month)
    found = await IndexReader(store.db).touching(wanted, wanted)
    by_agency = index_model.grouped(found, lambda d: d.agency_code, wanted, now())
    ranked = index_model.ranking({str(k): v for k, v in by_agency.items()})
    response.headers["Cache-Control"] = PUBLIC_CACHE
    return Ranking(
        month=str(wanted),
        items=[
            RankedAgency(
                rank=r.rank,
                agency_code=r.agency_code,
                month=str(wanted),
                on_time_rate=r.figures.on_time_rate,
                **r.figures.as_dict(),
            )
            for r in ranked
        ],
    )


class ProcedureFigures(FiguresPublic):
    procedure_code: str
    procedure_name: str


class OfficerFigures(FiguresPublic):
    officer_id: str | None = Field(description="the specialist the dossiers were assigned to; null: never assigned")
    officer_name: str = Field(default="", description="that specialist's name, as last assigned")


class Dashboard(BaseModel):
    agency_code: str
    month: str
    totals: FiguresPublic
    per_procedure: list[ProcedureFigures]
    per_officer: list[OfficerFigures]
    costly: list[dict[str, Any]] = Field(description="late without an apology, the latest first")
    comments: list[dict[str, Any]] = Field(description="the month's rating comments (the agency's eyes only)")


def _by_code(item: tuple[str | None, Figures]) -> str:
    return item[0] or ""


@router.get(
    "/v1/agency/dashboard",
    summary="My agency's index: per procedure and per officer (CSV with Accept: text/csv)",
    response_model=Dashboard,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
async def dashboard(
    officer: Officer,
    store: StoreDep,
    month: MonthQuery = None,
    accept: Annotated[str | None, Header(max_length=1000)] = None,
) -> Any:
    """Officers of an agency, for their own agency: the month's figures in total, per procedure and per
    officer, the dossiers costing the most points (late, no apology) and the rating comments."""
    if not officer.agency:
        raise Forbidden("This officer account is not attached to an agency.")
    code, wanted, at = officer.agency, _month(month), now()
    found = await IndexReader(store.db).touching(wanted, wanted, code)
    totals = index_model.figures(found, wanted, at)
    names = {d.procedure_code: d.procedure_name for d in found}
    procedures = index_model.grouped(found, lambda d: d.procedure_code, wanted, at)
    officers = index_model.grouped(found, lambda d: d.officer_id, wanted, at)
    officer_names = {d.officer_id: d.officer_name for d in found if d.officer_id}
    rows = [
        Row("agency", code, code, totals),
        *(
            Row("procedure", p, names.get(str(p), ""), f)
            for p, f in sorted(procedures.items(), key=lambda i: str(i[0]))
        ),
        *(
            Row("officer", o, officer_names.get(o, "") if o else "", f)
            for o, f in sorted(officers.items(), key=lambda i: str(i[0]))
        ),
    ]
    headers = {"Cache-Control": "private, no-store", "Vary": "Accept"}
    if accept and "text/csv" in accept.lower():
        headers["Content-Disposition"] = f'attachment; filename="dashboard-{code}-{wanted}.csv"'
        return Response(index_model.as_csv(rows), media_type="text/csv; charset=utf-8", headers=headers)
    answer = Dashboard(
        agency_code=code,
        month=str(wanted),
        totals=FiguresPublic(**totals.as_dict()),
        per_procedure=[
            ProcedureFigures(procedure_code=str(r.code), procedure_name=r.name, **r.figures.as_dict())
            for r in rows
            if r.scope == "procedure"
        ],
        per_officer=[
            OfficerFigures(officer_id=r.code, officer_name=r.name, **r.figures.as_dict())
            for r in rows
            if r.scope == "officer"
        ],
        costly=[c.as_dict() for c in index_model.costly(found, wanted, at)],
        comments=await ratings.comments(store.db, code, wanted),
    )
    return Response(answer.model_dump_json(), media_type="application/json", headers=headers)
