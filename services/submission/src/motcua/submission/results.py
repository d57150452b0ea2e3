"""Result documents — the domain, pure: the verification code, issuing a result with the last move of a
dossier, revoking it, and what the public verification may tell.

A result is issued with `issue_result` (status `approved` → `completed`): its PDF is the officer's upload or
the procedure's template, signed by the agency. The verification code printed and QR-encoded on it is random
(not the tracking code, which is readable and in the applicant's hands for other reasons), so knowing one
document's code tells nothing about any other. An approver may revoke a result with a reason: the dossier
stays completed, the history records it, and the public verification says "revoked".
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from motcua.common.errors import Conflict, InvalidInput, NotFound
from motcua.submission.model import Application, HistoryEntry, IssuedResult, Procedure
from motcua.submission.workflow import Action, Role, Status, WrongRole

# Crockford's base32 without the letters read as digits: 16 characters, 80 random bits, in groups of four.
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 16
_CODE = re.compile(r"^[0-9A-Z]{16}$")
REVOKERS = frozenset({Role.APPROVER})
MAX_REASON = 2000


class NoResultDocument(InvalidInput):
    """issue_result with neither an uploaded PDF nor a template to make one."""


class ResultNotFound(NotFound):
    title = "Result not found"


class ResultAlreadyRevoked(Conflict):
    title = "Result already revoked"


def new_code() -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(CODE_LENGTH))


def display(code: str) -> str:
    """How the code is printed: XXXX-XXXX-XXXX-XXXX."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def normalise(raw: str) -> str | None:
    """A code as typed or scanned (dashes, spaces, lower case, O for 0, I/L for 1), or None if it cannot be one."""
    cleaned = raw.upper().replace("-", "").replace(" ", "").replace("O", "0").replace("I", "1").replace("L", "1")
    return cleaned if _CODE.match(cleaned) else None


def verification_url(public_base_url: str, code: str) -> str:
    return f"{public_base_url.rstrip('/')}/verify/{code}"


def require_document(procedure: Procedure, uploaded: bool) -> str:
    """How the result is made: `upload`, or `template` when the procedure has one; NoResultDocument (422
    naming `file`) when neither."""
    if uploaded:
        return "upload"
    if procedure.result_template:
        return "template"
    raise NoResultDocument.one(
        "/file", f"the procedure {procedure.code} has no result template: attach the signed result as a PDF"
    )


def with_result(app: Application, result: IssuedResult) -> Application:
    """The just-completed dossier, carrying its result."""
    if app.status != Status.COMPLETED:
        raise ValueError("a result belongs to a completed dossier")
    return app.model_copy(update={"result": result})


def revoke(app: Application, *, reason: str, roles: frozenset[Role], at: datetime) -> Application:
    """The dossier's result revoked by an approver, with the reason recorded in the history."""
    if not roles & REVOKERS:
        raise WrongRole("Only an officer with the approver role can revoke a result.")
    if app.result is None:
        raise ResultNotFound("This dossier has no result to revoke.")
    if app.result.status == "revoked":
        raise ResultAlreadyRevoked("This result was already revoked.")
    why = reason.strip()
    if not why:
        raise InvalidInput.one("/reason", "say why the result is revoked: the applicant and the verification read it")
    entry = HistoryEntry(
        at=at,
        from_status=app.status,
        to_status=app.status,
        by_role="officer",
        comment=why,
        action=Action.REVOKE_RESULT,
        due_date=app.due_date,
    )
    revoked = app.result.model_copy(update={"status": "revoked", "revoked_at": at, "revocation_reason": why})
    return app.model_copy(update={"result": revoked, "history": [*app.history, entry], "updated_at": at})


@dataclass(frozen=True)
class Verification:
    """What anyone holding a code may learn: nothing personal beyond what the document itself shows."""

    status: str
    agency_code: str
    procedure_code: str
    procedure_name: str
    procedure_name_en: str
    issued_at: datetime
    sha256: str
    revoked_at: datetime | None
    revocation_reason: str | None


def verification_of(record: dict[str, object]) -> Verification:
    """The public answer from a stored verification record (result_store)."""
    return Verification(
        status=str(record["status"]),
        agency_code=str(record["agency_code"]),
        procedure_code=str(record["procedure_code"]),
        procedure_name=str(record.get("procedure_name", "")),
        procedure_name_en=str(record.get("procedure_name_en", "")),
        issued_at=record["issued_at"],  # type: ignore[arg-type]
        sha256=str(record["sha256"]),
        revoked_at=record.get("revoked_at"),  # type: ignore[arg-type]
        revocation_reason=record.get("revocation_reason"),  # type: ignore[arg-type]
    )
