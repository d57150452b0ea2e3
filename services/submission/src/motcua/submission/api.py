"""Citizens' routes and the public lookup: parse, authorise, call the use case, shape the answer."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Header, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import StreamingResponse
from motcua.common.auth import Citizen, CurrentPrincipal
from motcua.common.errors import DomainError, InvalidInput, NotFound, PayloadTooLarge, UnsupportedMediaType
from motcua.common.paging import check_depth
from motcua.common.request_context import ClientIp, RequestId
from motcua.submission import applications, tracking, uploads, wallet
from motcua.submission.deps import LimitsDep, SettingsDep, StoreDep, SubmissionDep
from motcua.submission.model import Application, etag
from motcua.submission.schemas import (
    AgencyApplicationPublic,
    ApplicationPage,
    ApplicationPublic,
    ApplicationSummary,
    Comment,
    DocumentPublic,
    DraftCreate,
    FormPatch,
    LookupPublic,
    SubmitAnswer,
)
from motcua.submission.workflow import Action, Status
from pydantic import ValidationError

router = APIRouter(prefix="/v1", tags=["applications"])

ApplicationId = Annotated[str, Path(max_length=64)]
DocumentId = Annotated[str, Path(max_length=64)]
PRIVATE = "private, no-store"
IDEMPOTENCY_KEY = Header(
    alias="Idempotency-Key",
    min_length=1,
    max_length=255,
    pattern=r"^[\x21-\x7e]+$",
    description="any unique string per submit attempt; a retry sends the same one",
)
_UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["document_key", "file"],
                    "properties": {"document_key": {"type": "string"}, "file": {"type": "string", "format": "binary"}},
                }
            }
        },
    }
}
_PATCH_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/merge-patch+json": {"schema": FormPatch.model_json_schema()},
            "application/json": {"schema": FormPatch.model_json_schema()},
        },
    }
}


def _private(response: Response, app: Application | None = None) -> None:
    response.headers["Cache-Control"] = PRIVATE
    if app is not None:
        response.headers["ETag"] = etag(app)


@router.post("/applications", status_code=201, summary="Start a draft")
async def start_draft(
    body: DraftCreate, who: Citizen, submission: SubmissionDep, limits: LimitsDep, response: Response
) -> ApplicationPublic:
    """Start a draft of the procedure's current published version; the draft stays on that version.

    404 when the procedure is unknown or retired, 403 when it does not take this kind of applicant.
    """
    await limits.spend("draft", who.sub)
    app = await applications.start(submission, body.procedure_code, who)
    _private(response, app)
    response.headers["Location"] = f"/v1/applications/{app.id}"
    return ApplicationPublic.of(app)


@router.get("/applications", summary="My applications")
async def list_mine(
    who: Citizen,
    store: StoreDep,
    settings: SettingsDep,
    response: Response,
    status: Status | None = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> ApplicationPage:
    """The signed-in citizen's applications, newest first, optionally of one status."""
    size = min(page_size, settings.max_page_size)
    check_depth(page, size)
    found, total = await store.owned_by(who.sub, status, skip=(page - 1) * size, limit=size)
    _private(response)
    return ApplicationPage(items=[ApplicationSummary.of(a) for a in found], total=total, page=page, page_size=size)


@router.get(
    "/applications/{application_id}",
    summary="One application with its history",
    response_model=AgencyApplicationPublic | ApplicationPublic,
)
async def read(
    application_id: ApplicationId, who: CurrentPrincipal, store: StoreDep, response: Response
) -> ApplicationPublic:
    """The application, its documents and its history; for the owner, and for the officers of the
    procedure's agency once it is submitted (they also see who applied)."""
    app = await applications.readable(store, application_id, who)
    _private(response, app)
    if applications.is_owner(app, who):
        return ApplicationPublic.of(app)
    return AgencyApplicationPublic.of(app, applications.officer_roles(who))


async def _json_body(request: Request, limit: int) -> Any:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in ("application/merge-patch+json", "application/json"):
        raise UnsupportedMediaType("Send a JSON merge patch (application/merge-patch+json).")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise PayloadTooLarge(f"The patch is larger than {limit // 1024} KiB.")

    def refuse_constant(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")

    try:
        return json.loads(body, parse_constant=refuse_constant)
    except (ValueError, RecursionError) as exc:
        raise InvalidInput.one("", "the body is not valid JSON") from exc


@router.patch("/applications/{application_id}", summary="Autosave the form", openapi_extra=_PATCH_BODY)
async def autosave(
    application_id: ApplicationId,
    request: Request,
    who: CurrentPrincipal,
    submission: SubmissionDep,
    response: Response,
    if_match: Annotated[str | None, Header(max_length=200)] = None,
) -> ApplicationPublic:
    """Merge `{"data": {...}}` into the form (RFC 7396: `null` removes a field). `If-Match` must carry
    the ETag last read: 428 without it, 412 when someone saved since. Only the shape is checked here
    (unknown fields, wrong JSON types); completeness is checked at submission."""
    app = await applications.owned(submission.store, application_id, who)
    raw = await _json_body(request, submission.settings.max_form_bytes * 2)
    try:
        patch = FormPatch.model_validate(raw)
    except ValidationError as exc:
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]) from exc
    saved = await applications.autosave(submission, app, patch.data, if_match)
    _private(response, saved)
    return ApplicationPublic.of(saved)


@router.post(
    "/applications/{application_id}/documents", status_code=201, summary="Upload a document", openapi_extra=_UPLOAD_BODY
)
async def upload(
    application_id: ApplicationId, request: Request, who: CurrentPrincipal, submission: SubmissionDep, limits: LimitsDep
) -> DocumentPublic:
    """Upload the file of one of the procedure's documents (multipart `document_key`, `file`); it
    replaces an earlier file of the same key. 413 over the document's size limit, 415 for a type it
    does not accept (judged by the content), 422 for an empty file or a key the procedure does not list.
    JSON `{"document_key", "wallet_item_id"}` attaches an item of the citizen's wallet instead (wallet.py)."""
    if request.headers.get("content-type", "").split(";")[0].strip().lower() == "application/json":
        attach = wallet.parse_attach(await _json_body(request, 64 * 1024))
        return await wallet.attach(submission, application_id, who, attach)
    store = submission.store
    drain_limit = int(submission.settings.upload_drain_limit_mb * 1024 * 1024)
    try:
        app = await applications.owned(store, application_id, who)
        app.ensure_editable()
        await limits.spend("upload", who.sub)
    except DomainError:
        await uploads.drain(request.stream(), drain_limit)  # so the client reads the refusal, not a reset
        raise
    procedure = await applications.pinned(store, app)
    received = await uploads.receive(
        request.stream(),
        request.headers.get("content-type", ""),
        procedure,
        store,
        metadata={"application_id": app.id, "owner_id": app.owner_id},
        drain_limit=drain_limit,
    )
    await applications.attach(submission, app, received)
    return DocumentPublic.of(received.ref)


# What a browser may show in the page (the upload's type is sniffed from its bytes, never taken from the client).
PREVIEWABLE = frozenset({"application/pdf", "image/png", "image/jpeg"})


@router.get(
    "/applications/{application_id}/documents/{document_id}",
    summary="Download a document",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
async def download(
    application_id: ApplicationId,
    document_id: DocumentId,
    who: CurrentPrincipal,
    store: StoreDep,
    inline: Annotated[bool, Query(description="shown in the page rather than saved: PDF, PNG and JPEG only")] = False,
) -> StreamingResponse:
    """The file as uploaded; for the owner and the officers of the procedure's agency. With `inline=true` a PDF,
    PNG or JPEG (types judged by the file's content at upload) is sent `Content-Disposition: inline`, for a
    preview; any other type is still an attachment. `X-Content-Type-Options: nosniff` either way."""
    app = await applications.readable(store, application_id, who)
    ref = applications.find_document(app, document_id)
    source = await store.open_file(ref.id)
    if source is None:
        raise NotFound("The file of this document is gone.")

    async def chunks() -> AsyncIterator[bytes]:
        while chunk := await source.readchunk():
            yield chunk

    disposition = "inline" if inline and ref.content_type in PREVIEWABLE else "attachment"
    return StreamingResponse(
        chunks(),
        media_type=ref.content_type,
        headers={
            "Content-Length": str(ref.size),
            "Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(ref.filename)}",
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": PRIVATE,
        },
    )


@router.delete("/applications/{application_id}/documents/{document_id}", status_code=204, summary="Remove a document")
async def remove_document(
    application_id: ApplicationId, document_id: DocumentId, who: CurrentPrincipal, submission: SubmissionDep
) -> Response:
    """Remove an uploaded file while the application is a draft or awaits a supplement."""
    app = await applications.owned(submission.store, application_id, who)
    await applications.detach(submission, app, document_id)
    return Response(status_code=204)


@router.post("/applications/{application_id}/submit", summary="Submit")
async def submit(
    application_id: ApplicationId,
    who: CurrentPrincipal,
    submission: SubmissionDep,
    rid: RequestId,
    response: Response,
    idempotency_key: Annotated[str, IDEMPOTENCY_KEY],
) -> SubmitAnswer:
    """Submit the draft: 422 lists every invalid field and missing document at once. The answer
    carries the tracking code and due date; the same Idempotency-Key returns the same answer and
    nothing is sent twice; a submitted application answers another key with 409."""
    receipt = await applications.submit(submission, application_id, who, idempotency_key, request_id=rid)
    _private(response)
    return SubmitAnswer.model_validate(receipt.answer())


@router.post("/applications/{application_id}/resubmit", summary="Resubmit after a supplement request")
async def resubmit(
    application_id: ApplicationId,
    who: CurrentPrincipal,
    submission: SubmissionDep,
    rid: RequestId,
    response: Response,
    body: Comment | None = None,
) -> ApplicationPublic:
    """Send the supplemented dossier back to the agency (status `processing`); checked like a submit."""
    moved = await applications.move(
        submission, application_id, who, Action.RESUBMIT, comment=body.comment if body else "", request_id=rid
    )
    _private(response, moved)
    return ApplicationPublic.of(moved)


@router.post("/applications/{application_id}/withdraw", summary="Withdraw")
async def withdraw(
    application_id: ApplicationId,
    who: CurrentPrincipal,
    submission: SubmissionDep,
    rid: RequestId,
    response: Response,
    body: Comment | None = None,
) -> ApplicationPublic:
    """Withdraw a dossier that is `submitted` or `supplement_requested`; 409 in any other state."""
    moved = await applications.move(
        submission, application_id, who, Action.WITHDRAW, comment=body.comment if body else "", request_id=rid
    )
    _private(response, moved)
    return ApplicationPublic.of(moved)


@router.get("/lookup/{tracking_code}", tags=["lookup"], summary="Where is my dossier?")
async def lookup(
    tracking_code: Annotated[str, Path(max_length=40)], store: StoreDep, limits: LimitsDep, ip: ClientIp
) -> LookupPublic:
    """The status of a dossier by its tracking code, for anyone, without personal data. Rate limited
    per client address (429 with Retry-After)."""
    await limits.spend("lookup", ip)
    code = tracking.normalise(tracking_code)
    app = await store.by_tracking_code(code) if code else None
    if app is None or app.submitted_at is None or app.due_date is None or app.tracking_code is None:
        raise NotFound("No dossier has this tracking code; check it against your receipt.")
    return LookupPublic(
        tracking_code=app.tracking_code,
        procedure_code=app.procedure_code,
        status=app.status,
        submitted_at=app.submitted_at,
        due_date=app.due_date,
        updated_at=app.updated_at,
    )
