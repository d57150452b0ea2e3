"""The service index's read model: one document per dossier in `index_dossiers`, fed by the submission
topic through its own consumer group (`Settings.index_consumer_group`, `submission-index` by default).

It reads only events, never the `applications` collection, so an empty read model fed from the topic's
beginning by a new group holds the same facts, and gives the same figures (the replay test). It keeps
no personal data: no applicant id, no form, no comment; the tracking code only for the agency's own
dashboard (the public answers never carry it).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

import structlog
from motcua.common import mongo, topics
from motcua.common.consumer import Consumer, Handler
from motcua.common.contracts.submission import (
    ApologyIssued,
    ApplicationAssigned,
    ApplicationRated,
    ApplicationReceived,
    ApplicationStatusChanged,
)
from motcua.common.events import Envelope
from motcua.common.staging import Staging
from motcua.submission.index_model import FINISHED, Dossier, Month, Rating
from pymongo import ASCENDING, IndexModel

if TYPE_CHECKING:
    from motcua.submission.deps import Submission

log = structlog.get_logger(__name__)

DOSSIERS = "index_dossiers"
INDEXES: dict[str, list[IndexModel]] = {
    DOSSIERS: [
        # open dossiers (finished_at null) and those finished since a month's start, of an agency or all
        IndexModel(
            [("agency_code", ASCENDING), ("finished_at", ASCENDING), ("submitted_at", ASCENDING)],
            name="agency_finished",
        ),
        IndexModel([("finished_at", ASCENDING), ("submitted_at", ASCENDING)], name="finished"),
        IndexModel([("agency_code", ASCENDING)], name="agency"),
        IndexModel([("rating.at", ASCENDING)], name="rated", sparse=True),
    ],
}
_EVENT = ApplicationReceived | ApplicationStatusChanged | ApologyIssued | ApplicationRated | ApplicationAssigned


def _about(event: _EVENT) -> dict[str, Any]:
    return {
        "agency_code": event.agency_code,
        "procedure_code": event.procedure_code,
        "procedure_name": event.procedure_name,
        "tracking_code": event.tracking_code,
    }


def _due(at: datetime, due: date) -> dict[str, Any]:
    return {"at": at, "due_date": due.isoformat()}


def changes(event: _EVENT) -> dict[str, Any]:
    """The update one event makes to its dossier's document (pure: the handlers below apply it)."""
    about = _about(event)
    if isinstance(event, ApplicationReceived):
        return {
            "$set": {**about, "submitted_at": event.submitted_at},
            "$push": {"dues": _due(event.submitted_at, event.due_date)},
        }
    if isinstance(event, ApologyIssued):
        return {
            "$set": about,
            "$push": {"dues": _due(event.issued_at, event.due_date), "apologies": event.issued_at},
        }
    if isinstance(event, ApplicationAssigned):  # the specialist handling it: its row of the dashboard
        return {"$set": {**about, "officer_id": event.assignee_id, "officer_name": event.assignee_name}}
    if isinstance(event, ApplicationRated):
        rating = {"at": event.rated_at, "guidance": event.guidance, "timeliness": event.timeliness}
        return {"$set": {**about, "rating": {**rating, "courtesy": event.courtesy}}}
    pushes: dict[str, Any] = {"dues": _due(event.changed_at, event.due_date)}
    if event.to_status == "supplement_requested":
        pushes["supplements"] = event.changed_at
    finished: dict[str, Any] = {}
    if event.to_status in FINISHED:
        finished = {
            "finished_at": event.changed_at,
            "outcome": event.to_status,
            "finish_due": event.due_date.isoformat(),
        }
    return {"$set": {**about, **finished}, "$push": pushes}


def handlers(db: mongo.Database, staging: Staging | None = None) -> Mapping[str, Handler]:
    """Each event of a dossier updates its one document, inside the consumer's transaction (the inbox
    makes a redelivery a no-op); with `staging`, a batch's updates go in one ordered `bulk_write`."""
    dossiers = db[DOSSIERS]
    staging = staging or Staging()  # never begun: each update written at once

    async def apply(envelope: Envelope, session: mongo.Session) -> None:
        event = envelope.data
        assert isinstance(event, _EVENT)
        await staging.update(session, dossiers, {"_id": event.application_id}, changes(event), upsert=True)

    types = (ApplicationReceived, ApplicationStatusChanged, ApologyIssued, ApplicationRated, ApplicationAssigned)
    return {t.ce_type: apply for t in types}


def consumers(submission: Submission) -> list[Consumer]:
    """The index's consumer: the submission topic, in its own group, into `index_dossiers`."""
    store, settings = submission.store, submission.settings
    staging = Staging()
    return [
        Consumer(
            client=store.client,
            db=store.db,
            settings=settings,
            group=settings.index_consumer_group,
            topic_names=[topics.SUBMISSION_APPLICATION],
            handlers=handlers(store.db, staging),
            staging=staging,
        )
    ]


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def dossier(doc: dict[str, Any]) -> Dossier:
    """A stored document as the index's arithmetic reads it."""
    rating = doc.get("rating")
    return Dossier(
        application_id=str(doc["_id"]),
        agency_code=str(doc.get("agency_code", "")),
        procedure_code=str(doc.get("procedure_code", "")),
        procedure_name=str(doc.get("procedure_name", "")),
        tracking_code=str(doc.get("tracking_code", "")),
        submitted_at=_maybe(doc.get("submitted_at")),
        dues=tuple((_aware(d["at"]), date.fromisoformat(d["due_date"])) for d in doc.get("dues", [])),
        supplements=tuple(_aware(at) for at in doc.get("supplements", [])),
        apologies=tuple(_aware(at) for at in doc.get("apologies", [])),
        finished_at=_maybe(doc.get("finished_at")),
        outcome=doc.get("outcome"),
        finish_due=_day(doc.get("finish_due")),
        rating=Rating(
            at=_aware(rating["at"]),
            guidance=int(rating["guidance"]),
            timeliness=int(rating["timeliness"]),
            courtesy=int(rating["courtesy"]),
        )
        if rating
        else None,
        officer_id=doc.get("officer_id"),
        officer_name=doc.get("officer_name", ""),
    )


def _aware(value: datetime) -> datetime:
    # the client is tz-aware (UTC); a naive value would be UTC too
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _maybe(value: datetime | None) -> datetime | None:
    return _aware(value) if value is not None else None


def _touching(first: Month, last: Month) -> dict[str, Any]:
    """Dossiers any figure of the months `first`..`last` may count: open at some time in them (received
    before their end and not finished before their start), or rated in them."""
    start, end = first.start, last.end
    return {
        "$or": [
            {"submitted_at": {"$lt": end}, "finished_at": None},
            {"submitted_at": {"$lt": end}, "finished_at": {"$gte": start}},
            {"rating.at": {"$gte": start, "$lt": end}},
        ]
    }


class IndexReader:
    """Queries of the read model."""

    def __init__(self, db: mongo.Database) -> None:
        self.dossiers = db[DOSSIERS]

    async def touching(self, first: Month, last: Month, agency_code: str | None = None) -> list[Dossier]:
        query = _touching(first, last)
        if agency_code is not None:
            query = {"agency_code": agency_code, **query}
        return [dossier(doc) async for doc in self.dossiers.find(query)]
