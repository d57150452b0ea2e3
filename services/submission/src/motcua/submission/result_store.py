"""MongoDB access for result documents: the `result` of an application, the public verification records
(keyed by verification code, so a verification reads one document and no application), and the files."""

from __future__ import annotations

from typing import Any

from motcua.common import mongo
from motcua.submission.model import Application, IssuedResult
from pymongo import ASCENDING, IndexModel

RESULTS = "results"
RESULT_INDEXES: dict[str, list[IndexModel]] = {
    RESULTS: [IndexModel([("application_id", ASCENDING)], name="by_application")],
}


class ResultStore:
    """The verification records and the `result` field of applications, for one database."""

    def __init__(self, db: mongo.Database) -> None:
        self.records = db[RESULTS]
        self.applications = db["applications"]

    async def save_issued(self, session: mongo.Session, app: Application) -> None:
        """Record `app`'s new result on the application and for the public verification, in `session`."""
        result = app.result
        assert result is not None
        await self.applications.update_one({"_id": app.id}, {"$set": {"result": result.model_dump()}}, session=session)
        await self.records.insert_one(_record(app, result), session=session)

    async def save_revoked(self, session: mongo.Session, app: Application) -> None:
        result = app.result
        assert result is not None
        await self.applications.update_one({"_id": app.id}, {"$set": {"result": result.model_dump()}}, session=session)
        await self.records.update_one(
            {"_id": result.verification_code},
            {
                "$set": {
                    "status": result.status,
                    "revoked_at": result.revoked_at,
                    "revocation_reason": result.revocation_reason,
                }
            },
            session=session,
        )

    async def find(self, verification_code: str) -> dict[str, Any] | None:
        doc: dict[str, Any] | None = await self.records.find_one({"_id": verification_code})
        return doc


def _record(app: Application, result: IssuedResult) -> dict[str, Any]:
    """What the public verification reads: no personal data, only what the document itself shows."""
    return {
        "_id": result.verification_code,
        "application_id": app.id,
        "agency_code": app.agency_code,
        "procedure_code": app.procedure_code,
        "procedure_name": app.procedure_name,
        "procedure_name_en": app.procedure_name_en,
        "issued_at": result.issued_at,
        "sha256": result.sha256,
        "status": result.status,
        "revoked_at": None,
        "revocation_reason": None,
    }
