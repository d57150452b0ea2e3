"""Result documents over HTTP: the officer's action body (JSON, or multipart with the result PDF), the
signed result for the applicant and the agency, and its revocation by an approver."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Path, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import StreamingResponse
from motcua.common.auth import CurrentPrincipal, Officer
from motcua.common.errors import InvalidInput, NotFound, PayloadTooLarge, UnsupportedMediaType
from motcua.common.request_context import RequestId
from motcua.submission import applications, filetypes, issuing, payments
from motcua.submission.deps import SubmissionDep
from motcua.submission.results import ResultNotFound
from motcua.submission.schemas import AgencyApplicationPublic, OfficerAction
from motcua.submission.uploads import DocumentTypeNotAccepted
from motcua.submission.workflow import Action
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.datastructures import UploadFile

router = APIRouter(prefix="/v1", tags=["results"])

ApplicationId = Annotated[str, Path(max_length=64)]
MIB = 1024 * 1024
JSON_LIMIT = 64 * 1024

# The actions route takes JSON, or multipart when issue_result carries the result PDF (OpenAPI).
ACTION_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": OfficerAction.model_json_schema()},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["action"],
                    "properties": {
                        "action": {"type": "string", "enum": ["issue_result"]},
                        "comment": {"type": "string"},
                        "file": {"type": "string", "format": "binary", "description": "the result, a PDF"},
                    },
                }
            },
        },
    }
}


@dataclass(frozen=True)
class ActionRequest:
    """An officer's action as sent: the JSON fields, and the uploaded result when there is one."""

    sent: OfficerAction
    file: bytes | None

    @property
    def action(self) -> Action:
        return self.sent.action

    @property
    def comment(self) -> str:
        return self.sent.comment

    @property
    def outcome(self) -> Any:
        return self.sent.outcome

    @property
    def items(self) -> list[str] | None:
        return self.sent.items


def _invalid(exc: ValidationError) -> RequestValidationError:
    return RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in exc.errors()])


async def _json(request: Request) -> Any:
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > JSON_LIMIT:
            raise PayloadTooLarge("The body is larger than 64 KiB; send a result PDF as multipart.")
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise InvalidInput.one("", "the body is not valid JSON") from exc


async def read_pdf(upload: Any, max_mb: float) -> bytes:
    """The uploaded file of a form, checked to be a PDF by its content and within `max_mb`."""
    if not isinstance(upload, UploadFile):
        raise InvalidInput.one("/file", "send the file as a file part")
    content = await upload.read(int(max_mb * MIB) + 1)
    if len(content) > max_mb * MIB:
        raise PayloadTooLarge(f"The file is larger than the {max_mb:g} MB allowed.")
    if not content:
        raise InvalidInput.one("/file", "the file is empty")
    kind = filetypes.sniff(content[: filetypes.SNIFF_BYTES])
    if kind != "application/pdf":
        raise DocumentTypeNotAccepted(
            f"The file is {kind or 'of an unrecognised type'}; a result is a PDF (judged by the file's content)."
        )
    return content


async def action_request(request: Request, submission: SubmissionDep) -> ActionRequest:
    """Parse the actions route's body: JSON `{"action", "comment", "outcome"}`, or multipart `action`,
    `comment` and `file` (the result PDF, with issue_result only)."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "multipart/form-data":
        async with request.form(max_files=1, max_fields=4, max_part_size=JSON_LIMIT) as form:
            unknown = sorted(set(form.keys()) - {"action", "comment", "file"})
            if unknown:
                raise InvalidInput.one(f"/{unknown[0]}", "unknown field; send action, comment and file")
            fields = {k: v for k, v in form.items() if k != "file" and isinstance(v, str)}
            try:
                parsed = OfficerAction.model_validate(fields)
            except ValidationError as exc:
                raise _invalid(exc) from exc
            upload = form.get("file")
            if upload is not None and parsed.action != Action.ISSUE_RESULT:
                raise InvalidInput.one("/file", "only issue_result takes a file")
            content = await read_pdf(upload, submission.settings.result_max_mb) if upload is not None else None
        return ActionRequest(parsed, content)
    if kind not in ("application/json", ""):
        raise UnsupportedMediaType("Send the action as JSON, or as multipart/form-data with the result's file.")
    try:
        parsed = OfficerAction.model_validate(await _json(request))
    except ValidationError as exc:
        raise _invalid(exc) from exc
    return ActionRequest(parsed, None)


ActionBody = Annotated[ActionRequest, Depends(action_request)]


@router.get(
    "/applications/{application_id}/result",
    summary="The signed result document",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/pdf": {}}, "description": "the result, signed by the agency"}},
)
async def read_result(application_id: ApplicationId, who: CurrentPrincipal, submission: SubmissionDep) -> Response:
    """The result PDF of a completed dossier, signed by the agency (PAdES): for the owner and the officers of
    the procedure's agency (404 for anyone else, and before a result is issued). A fee paid at result must be
    paid before the owner gets it (409 "Fee not paid"); the agency's officers get it at once."""
    store = submission.store
    app = await applications.readable(store, application_id, who)
    if app.result is None:
        raise ResultNotFound("This dossier has no result yet.")
    if not applications.is_agency_officer(app, who):
        payments.check_released(app.payment_status, app.fee_vnd)
    source = await store.open_file(app.result.file_id)
    if source is None:
        raise NotFound("The file of this result is gone.")
    content = await source.read()
    return Response(
        content,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(app.result.filename)}",
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    )


class Revocation(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: str = Field(min_length=1, max_length=2000, examples=["Cấp nhầm: sai ngày sinh của trẻ."])


@router.post("/agency/applications/{application_id}/result/revoke", summary="Revoke the result")
async def revoke_result(
    application_id: ApplicationId,
    body: Revocation,
    officer: Officer,
    submission: SubmissionDep,
    rid: RequestId,
    response: Response,
) -> AgencyApplicationPublic:
    """An officer with the approver role revokes the dossier's result with a reason (403 for other roles,
    404 for another agency's dossier, 409 when already revoked): the history records it, the verification
    answers "revoked", and ResultRevoked tells the applicant."""
    moved = await issuing.revoke(submission, application_id, officer, reason=body.reason, request_id=rid)
    response.headers["Cache-Control"] = "private, no-store"
    return AgencyApplicationPublic.of(moved, applications.officer_roles(officer))
