"""The write side: create a procedure, save its draft, publish it as a new version, retire it, seed.

Each change that citizens or consumers can see (publish, retire, seed) writes the procedure, its
version, the listing counter and its events in one transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import structlog
from motcua.catalogue import events
from motcua.catalogue.deps import Catalogue
from motcua.catalogue.model import (
    CodeTaken,
    ProcedureContent,
    ProcedureCreate,
    ProcedureNotFound,
    Status,
    Version,
    check_retirable,
    next_version,
    problems_in,
    stored,
)
from motcua.catalogue.search import folded_fields
from motcua.catalogue.seed import Seed
from motcua.catalogue.store import SUMMARY_FIELDS, version_id
from motcua.common.clock import now as _now
from motcua.common.errors import InvalidInput
from motcua.common.mongo import Document, Session, in_transaction
from pymongo.errors import DuplicateKeyError

log = structlog.get_logger(__name__)

SEED_ATTEMPTS = 5


async def _check(catalogue: Catalogue, content: ProcedureContent) -> None:
    problems = problems_in(content)
    if problems:
        raise InvalidInput(problems)
    if not await catalogue.store.agency_exists(content.agency_code):
        raise InvalidInput.one("/agency_code", f"no agency has the code {content.agency_code}; see GET /v1/agencies")


def _listed(published: dict[str, Any], seq: int, now: datetime) -> dict[str, Any]:
    """The fields a procedure gets when the `published` version (its stored form) becomes current."""
    return {
        "status": Status.PUBLISHED.value,
        "current_version": published["version"],
        "summary": {f: published[f] for f in SUMMARY_FIELDS},
        "search": folded_fields(
            published["code"],
            published["name"],
            published["name_en"],
            published["description"],
            published["description_en"],
        ),
        "draft": None,
        "draft_saved_at": None,
        "retired_at": None,
        "updated_at": now,
        "seq": seq,
    }


def _version_doc(published: dict[str, Any]) -> Document:
    return {"_id": version_id(published["code"], published["version"]), **published}


def _freeze(content: ProcedureContent, code: str, number: int, at: datetime) -> dict[str, Any]:
    """The stored form of a new version: the checked content, its code, number and time."""
    return {**stored(content), "code": code, "version": number, "published_at": at}


async def create(catalogue: Catalogue, body: ProcedureCreate) -> Document:
    """A new procedure holding only a draft; nothing is visible to citizens until it is published."""
    await _check(catalogue, body)
    now = _now()
    doc: Document = {
        "_id": body.code,
        "code": body.code,
        "status": Status.DRAFT.value,
        "current_version": None,
        "summary": None,
        "search": None,
        "draft": stored(body.content()),
        "draft_saved_at": now,
        "created_at": now,
        "updated_at": now,
        "retired_at": None,
        "seq": 0,
    }
    try:
        await catalogue.store.create_procedure(doc)
    except DuplicateKeyError as exc:
        raise CodeTaken(body.code) from exc
    log.info("procedure_created", procedure_code=body.code)
    return doc


async def save_draft(catalogue: Catalogue, code: str, content: ProcedureContent) -> Document:
    """Replace the procedure's draft; the published version stays as it is until the next publish."""
    await _check(catalogue, content)
    if not await catalogue.store.save_draft(code, stored(content), _now()):
        raise ProcedureNotFound(code)
    doc = await catalogue.store.procedure(code)
    assert doc is not None
    log.info("procedure_draft_saved", procedure_code=code)
    return doc


async def publish(catalogue: Catalogue, code: str, request_id: str | None) -> Version:
    """Freeze the draft as the next version, list it, and announce it (ProcedurePublished)."""
    store = catalogue.store

    async def work(session: Session) -> Version:
        doc = await store.procedure(code, session)
        if doc is None:
            raise ProcedureNotFound(code)
        number = next_version(code, doc["current_version"], doc["draft"] is not None)
        content = ProcedureContent.model_validate(doc["draft"])
        problems = problems_in(content)
        if problems:
            raise InvalidInput(problems, "The draft breaks rules added since it was saved; save it again.")
        now = _now()
        published = _freeze(content, code, number, now)
        seq = await store.next_listing_seq(session)
        await store.insert_versions([_version_doc(published)], session)
        await store.update_procedure(code, _listed(published, seq, now), session)
        await catalogue.outbox.add(session, [events.published(published)], request_id=request_id)
        return Version.model_validate(published)

    version = await in_transaction(catalogue.client, work)
    catalogue.outbox.notify()
    log.info("procedure_published", procedure_code=code, version=version.version)
    return version


async def retire(catalogue: Catalogue, code: str, request_id: str | None) -> Document:
    """Withdraw the procedure from citizens (ProcedureRetired); its versions stay readable."""
    store = catalogue.store

    async def work(session: Session) -> Document:
        doc = await store.procedure(code, session)
        if doc is None:
            raise ProcedureNotFound(code)
        check_retirable(code, Status(doc["status"]))
        now = _now()
        seq = await store.next_listing_seq(session)
        changes = {"status": Status.RETIRED.value, "retired_at": now, "updated_at": now, "seq": seq}
        await store.update_procedure(code, changes, session)
        event = events.retired(code, doc["current_version"], now)
        await catalogue.outbox.add(session, [event], request_id=request_id)
        return {**doc, **changes}

    doc = await in_transaction(catalogue.client, work)
    catalogue.outbox.notify()
    log.info("procedure_retired", procedure_code=code, version=doc["current_version"])
    return doc


async def _seed_batch(catalogue: Catalogue, batch: list[ProcedureCreate]) -> int:
    store = catalogue.store

    async def work(session: Session) -> int:
        present = await store.existing_codes([p.code for p in batch], session)
        fresh = [p for p in batch if p.code not in present]
        if not fresh:
            return 0
        now = _now()
        versions = [_freeze(p, p.code, 1, now) for p in fresh]
        first = await store.next_listing_seq(session, len(fresh)) - len(fresh) + 1
        docs = [
            {"_id": v["code"], "code": v["code"], "created_at": now, **_listed(v, first + i, now)}
            for i, v in enumerate(versions)
        ]
        await store.insert_procedures(docs, session)
        await store.insert_versions([_version_doc(v) for v in versions], session)
        await catalogue.outbox.add(session, [events.published(v) for v in versions])
        return len(fresh)

    for attempt in range(1, SEED_ATTEMPTS + 1):
        try:
            return await in_transaction(catalogue.client, work)
        except DuplicateKeyError:
            # another replica seeded some of these at the same moment: look again at what is left
            log.warning("seed_batch_raced", attempt=attempt)
    raise RuntimeError("seeding kept racing with another replica")


async def seed(catalogue: Catalogue, loaded: Seed, batch_size: int) -> int:
    """Publish each seed procedure not yet known, once, as version 1; returns how many were new."""
    await catalogue.store.save_agencies(loaded.agencies)
    known = await catalogue.store.existing_codes([p.code for p in loaded.procedures])
    missing = [p for p in loaded.procedures if p.code not in known]
    published = 0
    for start in range(0, len(missing), batch_size):
        published += await _seed_batch(catalogue, missing[start : start + batch_size])
    if published:
        catalogue.outbox.notify()
    log.info("catalogue_seeded", published=published, already_known=len(loaded.procedures) - len(missing))
    return published
