"""The public verification of a result document by its code (the address its QR code encodes): anyone —
a bank, the police, an employer — may check it without signing in. Rate limited per client address."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Request, Response
from motcua.common.errors import InvalidInput, NotFound
from motcua.common.request_context import ClientIp
from motcua.submission import results
from motcua.submission.deps import LimitsDep, SubmissionDep
from motcua.submission.result_routes import read_pdf
from pydantic import BaseModel

router = APIRouter(prefix="/v1", tags=["verification"])

Code = Annotated[str, Path(max_length=40)]
_FILE_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}},
                }
            }
        },
    }
}


class VerificationPublic(BaseModel):
    status: Literal["valid", "revoked"]
    agency_code: str
    procedure_code: str
    issued_at: datetime
    sha256: str
    revoked_at: datetime | None
    revocation_reason: str | None


class FileVerificationPublic(VerificationPublic):
    matches: bool


class UnknownCode(NotFound):
    title = "Unknown verification code"


async def _verification(submission: SubmissionDep, code: str) -> results.Verification:
    normal = results.normalise(code)
    record = await submission.results.find(normal) if normal else None
    if record is None:
        raise UnknownCode("No result document has this verification code; check it against the document.")
    return results.verification_of(record)


def _public(found: results.Verification) -> VerificationPublic:
    return VerificationPublic(
        status="revoked" if found.status == "revoked" else "valid",
        agency_code=found.agency_code,
        procedure_code=found.procedure_code,
        issued_at=found.issued_at,
        sha256=found.sha256,
        revoked_at=found.revoked_at,
        revocation_reason=found.revocation_reason,
    )


@router.get("/verify/{code}", summary="Verify a result document by its code")
async def verify(
    code: Code, submission: SubmissionDep, limits: LimitsDep, ip: ClientIp, response: Response
) -> VerificationPublic:
    """Who issued the document with this code, for which procedure, when, its SHA-256, and whether it
    still stands (`valid`) or was revoked (when, why). Nothing about the applicant. 404 for an unknown
    code; 429 with Retry-After past the per-address limit."""
    await limits.spend("verify", ip)
    found = await _verification(submission, code)
    response.headers["Cache-Control"] = "no-store"
    return _public(found)


@router.post("/verify/{code}", summary="Check a file against the issued document", openapi_extra=_FILE_BODY)
async def verify_file(
    code: Code, request: Request, submission: SubmissionDep, limits: LimitsDep, ip: ClientIp, response: Response
) -> FileVerificationPublic:
    """Multipart `file`: `matches` is true when it is, byte for byte, the document issued under this code
    (its SHA-256 is the one recorded); with the same facts as the GET."""
    await limits.spend("verify", ip)
    found = await _verification(submission, code)
    async with request.form(max_files=1, max_fields=1) as form:
        unknown = sorted(set(form.keys()) - {"file"})
        if unknown:
            raise InvalidInput.one(f"/{unknown[0]}", "unknown field; send the document as file")
        upload = form.get("file")
        if upload is None:
            raise InvalidInput.one("/file", "required: the document to check")
        content = await read_pdf(upload, submission.settings.result_max_mb)
    response.headers["Cache-Control"] = "no-store"
    matches = hashlib.sha256(content).hexdigest() == found.sha256
    return FileVerificationPublic(**_public(found).model_dump(), matches=matches)
