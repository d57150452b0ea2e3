"""The applicant's rating of a finished dossier: once, 1–5 on three questions, an optional comment.

The rating and its comment live in `ratings` (one document per dossier, its id the application's, so a
second rating is refused by the database itself); ApplicationRated tells the index, without the comment.
The comment is shown only to the agency (its dashboard).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import structlog
from motcua.common import mongo
from motcua.common.auth import Principal
from motcua.common.clock import now
from motcua.common.contracts.submission import ApplicationRated
from motcua.common.errors import Conflict, NotFound
from motcua.submission import applications
from motcua.submission.deps import Submission
from motcua.submission.index_model import Month
from motcua.submission.model import Application
from motcua.submission.workflow import FINAL
from pydantic import BaseModel, ConfigDict, Field, StrictInt
from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.errors import DuplicateKeyError

log = structlog.get_logger(__name__)

RATINGS = "ratings"
INDEXES: dict[str, list[IndexModel]] = {
    RATINGS: [IndexModel([("agency_code", ASCENDING), ("rated_at", DESCENDING)], name="agency_rated")],
}
MAX_COMMENT = 1000


class AlreadyRated(Conflict):
    title = "Already rated"


class NotFinished(Conflict):
    title = "Not finished yet"


Score = StrictInt


class RatingCreate(BaseModel):
    """1 (poor) to 5 (excellent) on each question; the comment is read only by the agency."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    guidance: Score = Field(ge=1, le=5, description="how clear the guidance was")
    timeliness: Score = Field(ge=1, le=5, description="whether the result came on time")
    courtesy: Score = Field(ge=1, le=5, description="the officers' courtesy and helpfulness")
    comment: str | None = Field(default=None, max_length=MAX_COMMENT)


class RatingPublic(BaseModel):
    application_id: str
    guidance: int
    timeliness: int
    courtesy: int
    comment: str | None
    rated_at: datetime


def check_ratable(app: Application) -> None:
    """NotFinished (409) unless the dossier is completed, rejected or withdrawn."""
    if app.status not in FINAL:
        raise NotFinished(
            f"A dossier can be rated once it is completed, rejected or withdrawn; this one is {app.status}."
        )


def rated(app: Application, body: RatingCreate, at: datetime) -> ApplicationRated:
    assert app.tracking_code is not None
    assert app.due_date is not None
    return ApplicationRated(
        application_id=app.id,
        tracking_code=app.tracking_code,
        procedure_code=app.procedure_code,
        procedure_version=app.procedure_version,
        procedure_name=app.procedure_name,
        procedure_name_en=app.procedure_name_en,
        agency_code=app.agency_code,
        applicant_account_id=app.owner_id,
        due_date=app.due_date,
        guidance=body.guidance,
        timeliness=body.timeliness,
        courtesy=body.courtesy,
        has_comment=bool(body.comment),
        rated_at=at,
    )


async def rate(
    submission: Submission, application_id: str, who: Principal, body: RatingCreate, *, request_id: str | None
) -> RatingPublic:
    """The owner's one rating of a finished dossier, with its event, in one transaction."""
    store, outbox = submission.store, submission.outbox
    app = await applications.owned(store, application_id, who)  # 404 for anyone else
    check_ratable(app)  # a finished dossier stays finished: checking before the transaction is safe
    at = now()
    comment = body.comment or None
    doc: dict[str, Any] = {
        "_id": app.id,
        "agency_code": app.agency_code,
        "procedure_code": app.procedure_code,
        "tracking_code": app.tracking_code,
        "guidance": body.guidance,
        "timeliness": body.timeliness,
        "courtesy": body.courtesy,
        "comment": comment,
        "rated_at": at,
    }

    async def work(session: mongo.Session) -> None:
        await store.db[RATINGS].insert_one(doc, session=session)
        await outbox.add(session, [rated(app, body, at)], request_id=request_id)

    try:
        await mongo.in_transaction(store.client, work)
    except DuplicateKeyError:
        raise AlreadyRated("This dossier has already been rated; a rating cannot be changed.") from None
    outbox.notify()
    log.info("application_rated", application_id=app.id)
    return RatingPublic(
        application_id=app.id,
        guidance=body.guidance,
        timeliness=body.timeliness,
        courtesy=body.courtesy,
        comment=comment,
        rated_at=at,
    )


class NotRated(NotFound):
    title = "Not rated"


async def read(submission: Submission, application_id: str, who: Principal) -> RatingPublic:
    """The owner's rating of their dossier; 404 when there is none (or the dossier is someone else's)."""
    app = await applications.owned(submission.store, application_id, who)
    doc = await submission.store.db[RATINGS].find_one({"_id": app.id})
    if doc is None:
        raise NotRated(f"The dossier {application_id} has not been rated.")
    return RatingPublic(
        application_id=app.id,
        guidance=doc["guidance"],
        timeliness=doc["timeliness"],
        courtesy=doc["courtesy"],
        comment=doc.get("comment"),
        rated_at=doc["rated_at"],
    )


async def comments(db: mongo.Database, agency_code: str, month: Month, limit: int = 100) -> list[dict[str, Any]]:
    """The month's ratings that carry a comment, for the agency's eyes only, newest first."""
    query = {"agency_code": agency_code, "rated_at": {"$gte": month.start, "$lt": month.end}, "comment": {"$ne": None}}
    found = db[RATINGS].find(query).sort("rated_at", DESCENDING).limit(limit)
    return [
        {
            "tracking_code": d.get("tracking_code"),
            "procedure_code": d.get("procedure_code"),
            "guidance": d["guidance"],
            "timeliness": d["timeliness"],
            "courtesy": d["courtesy"],
            "comment": d["comment"],
            "rated_at": d["rated_at"].isoformat(),
        }
        async for d in found
    ]
