"""HTTP routes of the catalogue: parse, authorise, call the domain, shape the answer."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Request, Response
from fastapi import Query as QueryParam
from motcua.catalogue import publishing
from motcua.catalogue.deps import CatalogueDep, ListingDep, StoreDep
from motcua.catalogue.model import (
    Agency,
    OnlineLevel,
    ProcedureContent,
    ProcedureCreate,
    ProcedureNotFound,
    ProcedureRetired,
    Status,
    Version,
    VersionNotFound,
)
from motcua.catalogue.search import Query
from motcua.common.auth import Admin
from motcua.common.contracts.catalogue import ApplicantType
from motcua.common.errors import InvalidInput
from motcua.common.mongo import Document
from motcua.common.paging import check_depth
from motcua.common.request_context import RequestId
from pydantic import BaseModel

router = APIRouter(prefix="/v1", tags=["catalogue"])  # bodies: 64 KiB (a procedure with its form is a few KiB)

CodePath = Annotated[
    str, Path(min_length=2, max_length=40, pattern=r"^[A-Za-z0-9-]+$", description="procedure code, e.g. HT-KS-01")
]
SEARCH_PARAMS = frozenset({"q", "agency", "applicant_type", "page", "page_size"})


class AgencyList(BaseModel):
    items: list[Agency]


class ProcedureSummary(BaseModel):
    code: str
    version: int
    name: str
    name_en: str
    agency_code: str
    applicant_types: list[ApplicantType]
    online_level: OnlineLevel
    processing_days: int
    fee_vnd: int


class SearchPage(BaseModel):
    items: list[ProcedureSummary]
    total: int
    page: int
    page_size: int


class VersionEntry(BaseModel):
    version: int
    published_at: datetime


class VersionList(BaseModel):
    code: str
    items: list[VersionEntry]


class ProcedureAdmin(BaseModel):
    """A procedure as its editors see it: its status, current version number and working draft."""

    code: str
    status: Status
    current_version: int | None
    draft: ProcedureContent | None
    draft_saved_at: datetime | None
    created_at: datetime
    updated_at: datetime
    retired_at: datetime | None


def _admin_view(doc: Document) -> ProcedureAdmin:
    draft = doc.get("draft")
    return ProcedureAdmin(
        code=doc["_id"],
        status=Status(doc["status"]),
        current_version=doc.get("current_version"),
        draft=ProcedureContent.model_validate(draft) if draft else None,
        draft_saved_at=doc.get("draft_saved_at"),
        created_at=doc["created_at"],
        updated_at=doc["updated_at"],
        retired_at=doc.get("retired_at"),
    )


def _etag(code: str, number: int) -> str:
    return f'"{code}.v{number}"'


def _known_params(request: Request) -> None:
    unknown = sorted(set(request.query_params) - SEARCH_PARAMS)
    if unknown:
        raise InvalidInput.one(f"/{unknown[0]}", f"is not a search parameter (use {', '.join(sorted(SEARCH_PARAMS))})")


@router.get("/agencies", response_model=AgencyList, summary="List the agencies")
async def list_agencies(store: StoreDep) -> dict[str, Any]:
    """Every agency that handles procedures: `code`, `name` (Vietnamese), `name_en`, `level`."""
    return {"items": await store.agencies()}


@router.get(
    "/procedures", response_model=SearchPage, summary="Search procedures", dependencies=[Depends(_known_params)]
)
async def search_procedures(
    listing: ListingDep,
    q: Annotated[str, QueryParam(max_length=200, description="words, with or without diacritics, or a code")] = "",
    agency: Annotated[str | None, QueryParam(max_length=40, pattern=r"^[A-Za-z0-9-]+$")] = None,
    applicant_type: ApplicantType | None = None,
    page: Annotated[int, QueryParam(ge=1, le=10_000)] = 1,
    page_size: Annotated[int, QueryParam(ge=1, le=100)] = 20,
) -> dict[str, Any]:
    """Published procedures matching `q` ("dang ky kinh doanh" finds "Đăng ký kinh doanh"): an exact
    code first, then name matches (a phrase higher), then description matches. Without `q`, all of
    them by name. Filters: `agency` (code), `applicant_type`. `total` counts every match; only the first
    10,000 are paged (`page` × `page_size` ≤ 10,000)."""
    check_depth(page, page_size)
    query = Query(
        q=q, agency=agency.upper() if agency else None, applicant_type=applicant_type, page=page, page_size=page_size
    )
    results = await listing.search(query)
    return {"items": results.items, "total": results.total, "page": page, "page_size": page_size}


@router.get(
    "/procedures/{code}",
    response_model=Version,
    summary="A procedure's current version",
    responses={304: {"description": "unchanged since the ETag sent"}, 404: {}, 410: {"description": "retired"}},
)
async def get_procedure(
    store: StoreDep, response: Response, code: CodePath, if_none_match: Annotated[str | None, Header()] = None
) -> Version | Response:
    """The current published version: fields, documents, form (JSON Schema 2020-12) and UI hints.
    404 for an unknown or never-published code; 410 once retired (old versions stay readable)."""
    code = code.upper()
    doc = await store.status(code)
    if doc is None or doc.get("current_version") is None:
        raise ProcedureNotFound(code)
    if doc["status"] == Status.RETIRED:
        raise ProcedureRetired(code, doc.get("retired_at"))
    etag = _etag(code, doc["current_version"])
    headers = {"ETag": etag, "Cache-Control": "public, max-age=60"}
    if if_none_match is not None and etag in (t.strip() for t in if_none_match.split(",")):
        return Response(status_code=304, headers=headers)
    version = await store.version(code, doc["current_version"])
    if version is None:  # written in the same transaction as the status: only a damaged database
        raise ProcedureNotFound(code)
    response.headers.update(headers)
    return Version.model_validate(version)


@router.get("/procedures/{code}/versions", response_model=VersionList, summary="A procedure's versions")
async def list_versions(store: StoreDep, code: CodePath) -> dict[str, Any]:
    """Every published version's number and date, oldest first, retired procedures included."""
    code = code.upper()
    found = await store.versions_of(code)
    if not found:
        raise ProcedureNotFound(code)
    return {"code": code, "items": found}


@router.get("/procedures/{code}/versions/{number}", response_model=Version, summary="One published version")
async def get_version(
    store: StoreDep, response: Response, code: CodePath, number: Annotated[int, Path(ge=1, le=1_000_000)]
) -> Version:
    """A version exactly as it was published; versions never change, so this can be cached."""
    code = code.upper()
    doc = await store.version(code, number)
    if doc is None:
        raise VersionNotFound(code, number)
    response.headers.update({"ETag": _etag(code, number), "Cache-Control": "public, max-age=86400, immutable"})
    return Version.model_validate(doc)


@router.post("/procedures", response_model=ProcedureAdmin, status_code=201, summary="Create a procedure (admin)")
async def create_procedure(
    catalogue: CatalogueDep, response: Response, body: ProcedureCreate, _: Admin
) -> ProcedureAdmin:
    """A new procedure holding a draft; 409 when the code is taken. Publish it to show it to citizens."""
    doc = await publishing.create(catalogue, body)
    response.headers["Location"] = f"/v1/procedures/{body.code}/draft"
    return _admin_view(doc)


@router.get("/procedures/{code}/draft", response_model=ProcedureAdmin, summary="A procedure's draft (admin)")
async def get_draft(store: StoreDep, code: CodePath, _: Admin) -> ProcedureAdmin:
    """The procedure as its editors see it, whatever its status."""
    doc = await store.procedure(code.upper())
    if doc is None:
        raise ProcedureNotFound(code.upper())
    return _admin_view(doc)


@router.put("/procedures/{code}/draft", response_model=ProcedureAdmin, summary="Save a draft (admin)")
async def save_draft(catalogue: CatalogueDep, code: CodePath, body: ProcedureContent, _: Admin) -> ProcedureAdmin:
    """Replace the draft (the whole content); citizens keep seeing the current version until publish."""
    return _admin_view(await publishing.save_draft(catalogue, code.upper(), body))


@router.post("/procedures/{code}/publish", response_model=Version, status_code=201, summary="Publish the draft (admin)")
async def publish_procedure(
    catalogue: CatalogueDep, rid: RequestId, response: Response, code: CodePath, _: Admin
) -> Version:
    """The draft becomes the next immutable version and ProcedurePublished is emitted; 409 without a
    draft. Publishing a retired procedure's new draft brings it back."""
    version = await publishing.publish(catalogue, code.upper(), rid)
    response.headers["Location"] = f"/v1/procedures/{version.code}/versions/{version.version}"
    return version


@router.post("/procedures/{code}/retire", response_model=ProcedureAdmin, summary="Retire a procedure (admin)")
async def retire_procedure(catalogue: CatalogueDep, rid: RequestId, code: CodePath, _: Admin) -> ProcedureAdmin:
    """Citizens can no longer find or start it (ProcedureRetired is emitted); 409 unless published."""
    doc = await publishing.retire(catalogue, code.upper(), rid)
    return _admin_view(doc)
