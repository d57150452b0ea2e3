"""MongoDB access of the submission service: its collections, their indexes, and the queries it runs."""

from __future__ import annotations

import re
from contextlib import suppress
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any

from bson import Binary
from gridfs import AsyncGridFSBucket
from gridfs.asynchronous.grid_file import AsyncGridIn, AsyncGridOut
from gridfs.errors import NoFile
from motcua.common import mongo
from motcua.submission.applicant_store import ApplicantProfiles
from motcua.submission.model import Application, DocumentRef, HistoryEntry, Officer, Procedure
from motcua.submission.workflow import EDITABLE, OPEN, Status
from pymongo import ASCENDING, DESCENDING, IndexModel, ReturnDocument

PROCEDURES = "procedures"
APPLICATIONS = "applications"
RATE_LIMITS = "rate_limits"
OFFICERS = "officers"  # the officers' directory, from identity's OfficerProfileChanged
BUCKET = "documents"
CHUNK_BYTES = 255 * 1024  # GridFS's default chunk size: a file up to it is one chunk

INDEXES: dict[str, list[IndexModel]] = {
    PROCEDURES: [IndexModel([("code", ASCENDING), ("version", DESCENDING)], name="code_version", unique=True)],
    APPLICATIONS: [
        IndexModel([("owner_id", ASCENDING), ("created_at", DESCENDING)], name="by_owner"),
        IndexModel(
            [("agency_code", ASCENDING), ("status", ASCENDING), ("due_date", ASCENDING), ("submitted_at", ASCENDING)],
            name="agency_queue",
        ),
        IndexModel([("tracking_code", ASCENDING)], name="tracking_code", unique=True, sparse=True),
        # the desk's search by tracking code (whole or its beginning), within one agency
        IndexModel([("agency_code", ASCENDING), ("tracking_code", ASCENDING)], name="agency_tracking", sparse=True),
        # the desk's search by the applicant's name (its folded beginning), within one agency
        IndexModel(
            [("agency_code", ASCENDING), ("applicant.name_key", ASCENDING)], name="agency_applicant", sparse=True
        ),
        # an officer's inbox, soonest due first; and the escalation check's dossiers whose notice day has come
        IndexModel([("assignee.id", ASCENDING), ("due_date", ASCENDING)], name="inbox", sparse=True),
        IndexModel([("next_notice_on", ASCENDING)], name="escalation", sparse=True),
    ],
    OFFICERS: [IndexModel([("agency_code", ASCENDING)], name="by_agency")],
    RATE_LIMITS: [IndexModel([("expires_at", ASCENDING)], name="expiry", expireAfterSeconds=0)],
    # GridFS's own indexes, made at start-up rather than on the first upload.
    f"{BUCKET}.files": [
        IndexModel([("filename", ASCENDING), ("uploadDate", ASCENDING)], name="filename_1_uploadDate_1"),
        IndexModel([("metadata.application_id", ASCENDING)], name="by_application"),
        IndexModel([("metadata.attached", ASCENDING), ("uploadDate", ASCENDING)], name="unattached"),
    ],
    f"{BUCKET}.chunks": [IndexModel([("files_id", ASCENDING), ("n", ASCENDING)], name="files_id_1_n_1", unique=True)],
}

_EDITABLE = [s.value for s in EDITABLE]
# Listed rather than `$ne: draft`: one index range per status, merged in due order, never a sort in memory.
_QUEUED = [s.value for s in Status if s != Status.DRAFT]
_OPEN = [s.value for s in Status if s in OPEN]


def _bson(value: Any) -> Any:
    """Pydantic's python dump, made storable: enums as values, calendar days as ISO strings."""
    if isinstance(value, dict):
        return {k: _bson(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_bson(v) for v in value]
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.isoformat()
    return value


def to_doc(app: Application) -> dict[str, Any]:
    doc: dict[str, Any] = _bson(app.model_dump(by_alias=True))
    doc["_id"] = doc.pop("id")
    # Absent, not null: the sparse unique index on tracking_code skips only missing fields.
    return {k: v for k, v in doc.items() if v is not None}


def from_doc(doc: dict[str, Any]) -> Application:
    return Application.model_validate({**doc, "id": doc["_id"]})


class Store:
    """The service's collections, for one database."""

    def __init__(self, client: mongo.Client, db: mongo.Database) -> None:
        self.client = client
        self.db = db
        self.procedures = db[PROCEDURES]
        self.applications = db[APPLICATIONS]
        self.rate_limits = db[RATE_LIMITS]
        self.officers = db[OFFICERS]
        self.applicant_profiles = ApplicantProfiles(db)
        self.files = AsyncGridFSBucket(db, bucket_name=BUCKET)
        self.file_records = db[f"{BUCKET}.files"]
        self._pinned: dict[tuple[str, int], Procedure] = {}

    # -- the read model of published procedures --

    async def current_procedure(self, code: str) -> Procedure | None:
        doc = await self.procedures.find_one({"code": code}, sort=[("version", DESCENDING)])
        return Procedure.model_validate(doc) if doc else None

    async def pinned_procedure(self, code: str, version: int) -> Procedure | None:
        """A version as published: immutable, so kept in memory once read (its `retired` flag is not used)."""
        found = self._pinned.get((code, version))
        if found is None:
            doc = await self.procedures.find_one({"_id": f"{code}@{version}"})
            if doc is None:
                return None
            found = Procedure.model_validate(doc)
            if len(self._pinned) > 512:
                self._pinned.clear()
            self._pinned[(code, version)] = found
        return found

    async def save_procedure(self, session: mongo.Session, fields: dict[str, Any]) -> None:
        key = f"{fields['code']}@{fields['version']}"
        later_retired = await self.procedures.find_one(
            {"code": fields["code"], "version": {"$gte": fields["version"]}, "retired": True}, session=session
        )
        doc = {**fields, "_id": key, "retired": later_retired is not None}
        await self.procedures.replace_one({"_id": key}, doc, upsert=True, session=session)

    async def retire_procedure(self, session: mongo.Session, code: str, version: int) -> None:
        await self.procedures.update_many(
            {"code": code, "version": {"$lte": version}}, {"$set": {"retired": True}}, session=session
        )

    # -- applications --

    async def insert(self, app: Application) -> None:
        await self.applications.insert_one(to_doc(app))

    async def get(self, application_id: str, *, session: mongo.Session | None = None) -> Application | None:
        doc = await self.applications.find_one({"_id": application_id}, session=session)
        return from_doc(doc) if doc else None

    async def by_tracking_code(self, code: str) -> Application | None:
        doc = await self.applications.find_one({"tracking_code": code})
        return from_doc(doc) if doc else None

    async def owned_by(
        self, owner_id: str, status: Status | None, *, skip: int, limit: int
    ) -> tuple[list[Application], int]:
        """A citizen's applications, newest first, optionally of one status; with how many there are."""
        query: dict[str, Any] = {"owner_id": owner_id}
        if status is not None:
            query["status"] = status.value
        return await self._page(query, [("created_at", -1)], skip=skip, limit=limit)

    async def newest_of(self, owner_id: str, limit: int) -> list[Application]:
        """A citizen's applications, newest first (no count: the wallet reads them all, up to `limit`)."""
        docs = await self.applications.find({"owner_id": owner_id}).sort("created_at", -1).limit(limit).to_list()
        return [from_doc(d) for d in docs]

    async def agency_queue(
        self,
        agency_code: str,
        status: Status | None,
        *,
        skip: int,
        limit: int,
        procedure_code: str | None = None,
        due_by: date | None = None,
        overdue_on: date | None = None,
        assignee_id: str | None = None,
        tracking_prefix: str | None = None,
        name_prefix: str | None = None,
        open_only: bool = False,
    ) -> tuple[list[Application], int]:
        """An agency's submitted applications, the earliest due first, optionally of one status or one
        procedure; `due_by` keeps the open ones due on or before that day, `overdue_on` the open ones due
        before it whose clock runs (not awaiting a supplement); `assignee_id` those assigned to that officer
        ("none": to nobody); `tracking_prefix` those whose tracking code is it or begins with it (canonical
        form, see tracking.search_prefix); `name_prefix` those whose applicant's folded name begins with it
        (applicants.name_search_prefix); `open_only` the ones still open. Drafts are never in it (asking for
        them finds none)."""
        query: dict[str, Any] = {"agency_code": agency_code}
        wanted = _QUEUED if status is None else [status.value]
        if open_only:
            wanted = [s for s in wanted if Status(s) in OPEN]
        if tracking_prefix is not None:
            query["tracking_code"] = {"$regex": "^" + re.escape(tracking_prefix)}
        if name_prefix is not None:
            query["applicant.name_key"] = {"$regex": "^" + re.escape(name_prefix)}
        if due_by is not None or overdue_on is not None:
            wanted = [s for s in wanted if Status(s) in OPEN]
            limits: dict[str, str] = {}
            if due_by is not None:
                limits["$lte"] = due_by.isoformat()
            if overdue_on is not None:  # Application.overdue: a dossier awaiting its supplement is not late
                limits["$lt"] = overdue_on.isoformat()
                wanted = [w for w in wanted if w != Status.SUPPLEMENT_REQUESTED.value]
            query["due_date"] = limits
        query["status"] = {"$in": [s for s in wanted if s != Status.DRAFT.value]}
        if procedure_code is not None:
            query["procedure_code"] = procedure_code
        if assignee_id is not None:
            query["assignee.id"] = None if assignee_id == "none" else assignee_id
        # the queue's own index, read in due order; a search by tracking code has the agency's tracking index (the
        # planner's choice), a search by name the agency's applicant index
        hint: str | None = "agency_queue"
        if tracking_prefix is not None:
            hint = None
        elif name_prefix is not None:
            hint = "agency_applicant"
        return await self._page(query, [("due_date", 1), ("submitted_at", 1)], skip=skip, limit=limit, hint=hint)

    async def inbox(self, officer_id: str, *, skip: int, limit: int) -> tuple[list[Application], int]:
        """The open dossiers assigned to `officer_id`, soonest due first."""
        query = {"assignee.id": officer_id, "status": {"$in": _OPEN}}
        return await self._page(query, [("due_date", 1)], skip=skip, limit=limit)

    async def notices_due(self, today: date, limit: int) -> list[Application]:
        """Dossiers whose next escalation notice is due on or before `today`, the earliest first."""
        docs = await (
            self.applications.find({"next_notice_on": {"$lte": today.isoformat()}})
            .sort("next_notice_on", ASCENDING)
            .limit(limit)
            .to_list()
        )
        return [from_doc(d) for d in docs]

    async def save_notice(self, session: mongo.Session, before: Application, after: Application) -> bool:
        """The notice given, unless the dossier moved meanwhile (its history then says so)."""
        result = await self.applications.update_one(
            {"_id": before.id, "history": {"$size": len(before.history)}, "next_notice": before.next_notice},
            {"$set": _bson({"next_notice": after.next_notice, "next_notice_on": after.next_notice_on})},
            session=session,
        )
        return result.modified_count == 1

    # -- the officers' directory --

    async def save_officer(self, session: mongo.Session, officer: Officer, changed_at: datetime) -> None:
        """Keep the latest entry of an officer (a replayed older record changes nothing)."""
        current = await self.officers.find_one({"_id": officer.id}, session=session)
        if current is not None and current["changed_at"] > changed_at:
            return
        doc = {**officer.model_dump(exclude={"id"}), "changed_at": changed_at}
        await self.officers.replace_one({"_id": officer.id}, doc, upsert=True, session=session)

    async def agency_officers(self, agency_code: str, role: str | None, limit: int = 500) -> list[Officer]:
        """The active officers of an agency (holding `role`, if given), by name."""
        query: dict[str, Any] = {"agency_code": agency_code, "active": True}
        if role is not None:
            query["roles"] = role
        docs = await self.officers.find(query).sort("full_name", ASCENDING).limit(limit).to_list()
        return [Officer.model_validate({**d, "id": d["_id"]}) for d in docs]

    async def officer(self, officer_id: str) -> Officer | None:
        doc = await self.officers.find_one({"_id": officer_id})
        return Officer.model_validate({**doc, "id": doc["_id"]}) if doc else None

    async def _page(
        self, query: dict[str, Any], sort: list[tuple[str, int]], *, skip: int, limit: int, hint: str | None = None
    ) -> tuple[list[Application], int]:
        found = self.applications.find(query).sort(sort).skip(skip).limit(limit)
        docs = await (found.hint(hint) if hint is not None else found).to_list()
        total = await self.applications.count_documents(query)
        return [from_doc(d) for d in docs], total

    async def save_data(self, app: Application, data: dict[str, Any], at: datetime) -> bool:
        """Store the form if nobody changed it meanwhile (same revision, still editable)."""
        result = await self.applications.update_one(
            {"_id": app.id, "revision": app.revision, "status": {"$in": _EDITABLE}},
            {"$set": {"data": data, "updated_at": at}, "$inc": {"revision": 1}},
        )
        return result.modified_count == 1

    async def attach(
        self, app: Application, ref: DocumentRef, *, session: mongo.Session | None = None
    ) -> tuple[bool, DocumentRef | None]:
        """Put `ref` under its key while the application is editable; (attached, the file it replaced)."""
        before = await self.applications.find_one_and_update(
            {"_id": app.id, "status": {"$in": _EDITABLE}},
            {"$set": {f"documents.{ref.document_key}": _bson(ref.model_dump()), "updated_at": ref.uploaded_at}},
            projection={f"documents.{ref.document_key}": 1},
            return_document=ReturnDocument.BEFORE,
            session=session,
        )
        if before is None:
            return False, None
        old = before.get("documents", {}).get(ref.document_key)
        return True, DocumentRef.model_validate(old) if old else None

    # -- the documents' files (GridFS) --

    def new_file(self, file_id: str, filename: str, metadata: dict[str, Any]) -> AsyncGridIn:
        """A file to write an upload into, as it arrives."""
        return self.files.open_upload_stream_with_id(file_id, filename, metadata=metadata)

    async def put_small_file(
        self, session: mongo.Session, file_id: str, filename: str, metadata: dict[str, Any], data: bytes
    ) -> None:
        """A file of one chunk, as GridFS stores it (the chunk, then the file's record), in two writes inside
        the caller's transaction, which attaches it: recorded attached, since both commit or neither does.
        Without the reads GridFS's upload stream makes each time to check its indexes (made at start-up here)."""
        assert len(data) <= CHUNK_BYTES
        chunk = {"files_id": file_id, "n": 0, "data": Binary(data)}
        await self.db[f"{BUCKET}.chunks"].insert_one(chunk, session=session)
        await self.file_records.insert_one(
            {
                "_id": file_id,
                "length": len(data),
                "chunkSize": CHUNK_BYTES,
                "uploadDate": datetime.now(UTC),
                "filename": filename,
                "metadata": {**metadata, "attached": True},
            },
            session=session,
        )

    async def open_file(self, file_id: str) -> AsyncGridOut | None:
        """A stored file to read, or None when it is gone."""
        try:
            return await self.files.open_download_stream(file_id)
        except NoFile:
            return None

    async def delete_file(self, file_id: str) -> None:
        """Delete a stored file (one already gone is fine)."""
        with suppress(NoFile):
            await self.files.delete(file_id)

    async def mark_attached(self, file_id: str) -> None:
        await self.file_records.update_one({"_id": file_id}, {"$set": {"metadata.attached": True}})

    async def unattached_files(self, uploaded_before: datetime, limit: int) -> list[dict[str, Any]]:
        return (
            await self.file_records.find(
                {"metadata.attached": {"$ne": True}, "uploadDate": {"$lt": uploaded_before}},
                projection={"metadata": 1},
            )
            .limit(limit)
            .to_list()
        )

    async def detach(self, app: Application, ref: DocumentRef, at: datetime) -> bool:
        result = await self.applications.update_one(
            {"_id": app.id, "status": {"$in": _EDITABLE}, f"documents.{ref.document_key}.id": ref.id},
            {"$unset": {f"documents.{ref.document_key}": ""}, "$set": {"updated_at": at}},
        )
        return result.modified_count == 1

    async def save_transition(self, session: mongo.Session, before: Application, after: Application) -> bool:
        """Write a move if the application is still as `before` saw it: the same status and the same history
        (a proposal or an apology keeps the status, so the history's length tells a concurrent move)."""
        entry: HistoryEntry = after.history[-1]
        changes = {
            "status": after.status.value,
            "updated_at": after.updated_at,
            "tracking_code": after.tracking_code,
            "submitted_at": after.submitted_at,
            "due_date": after.due_date,
            "receipt": after.receipt.model_dump() if after.receipt else None,
            "assignee": after.assignee.model_dump() if after.assignee else None,
            "applicant": after.applicant.model_dump() if after.applicant else None,  # copied at submission, then kept
            "fee_vnd": after.fee_vnd or None,
            "fee_due": after.fee_due.value,
            # only when this move changes it (submission, a refund): never a stale copy over a settled payment
            "payment_status": after.payment_status.value if after.payment_status != before.payment_status else None,
        }
        # set even when emptied: a supplement request stops the escalation notices
        kept = {
            "supplements": [r.model_dump() for r in after.supplements],
            "next_notice": after.next_notice,
            "next_notice_on": after.next_notice_on,
        }
        expected = {"_id": before.id, "status": before.status.value, "history": {"$size": len(before.history)}}
        if after.payment_status != before.payment_status:  # not over a payment settled meanwhile
            expected["payment_status"] = before.payment_status.value
        result = await self.applications.update_one(
            expected,
            {
                "$set": _bson({k: v for k, v in changes.items() if v is not None} | kept),
                "$push": {"history": _bson(entry.model_dump(by_alias=True))},
            },
            session=session,
        )
        return result.modified_count == 1
