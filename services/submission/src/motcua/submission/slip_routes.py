"""The slips of a dossier (Decree 61/2018): listed for the applicant and the agency, each opened as a PDF."""

from __future__ import annotations

import asyncio
from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Response
from motcua.common.auth import CurrentPrincipal
from motcua.common.slip_document import SlipKind
from motcua.submission import applications, slip_pdf, slips
from motcua.submission.deps import SubmissionDep
from pydantic import BaseModel, Field

router = APIRouter(prefix="/v1", tags=["slips"])

ApplicationId = Annotated[str, Path(max_length=64)]
SlipId = Annotated[str, Path(max_length=64, pattern=r"^[a-z_]+-[0-9]{1,4}$")]


class SlipPublic(BaseModel):
    id: str
    kind: SlipKind
    title: str
    title_en: str
    issued_at: datetime
    due_date: date | None
    items: list[str] = Field(description="a supplement request: every missing item, asked at once")
    supply_by: date | None = Field(description="a supplement request: the last day to supply")

    @classmethod
    def of(cls, slip: slips.Slip) -> SlipPublic:
        return cls(
            id=slip.id,
            kind=slip.kind,
            title=slip.title,
            title_en=slip.title_en,
            issued_at=slip.issued_at,
            due_date=slip.due_date,
            items=slip.items,
            supply_by=slip.supply_by,
        )


class SlipList(BaseModel):
    items: list[SlipPublic]


@router.get("/applications/{application_id}/slips", summary="The dossier's slips")
async def list_slips(
    application_id: ApplicationId, who: CurrentPrincipal, submission: SubmissionDep, response: Response
) -> SlipList:
    """Receipt, supplement request, refusal and apology slips, oldest first: for the owner and the officers
    of the procedure's agency (404 for anyone else)."""
    app = await applications.readable(submission.store, application_id, who)
    response.headers["Cache-Control"] = "private, no-store"
    return SlipList(items=[SlipPublic.of(s) for s in slips.slips_of(app)])


@router.get(
    "/applications/{application_id}/slips/{slip_id}",
    summary="One slip as a PDF",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}, "description": "the slip"}},
)
async def read_slip(
    application_id: ApplicationId, slip_id: SlipId, who: CurrentPrincipal, submission: SubmissionDep
) -> Response:
    app = await applications.readable(submission.store, application_id, who)
    slip = slips.find(app, slip_id)
    pdf = await asyncio.to_thread(slip_pdf.render, slip, app, submission.fonts, submission.settings.public_base_url)
    name = f"{slip.kind.value}-{app.tracking_code or app.id}.pdf"
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )
