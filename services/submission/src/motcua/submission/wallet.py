"""The citizen's document wallet (kho dữ liệu): every document they uploaded and every result issued to them,
reusable in a new dossier without uploading it again ("submit once").

The wallet is read from the citizen's own dossiers (nothing is copied to build it); only the owner sees it.
Attaching an item to another dossier checks it against what that document accepts — type and size as an
upload would, and its SHA-256 against the file actually stored — then stores the dossier's own copy, so
the agency processing that dossier sees that file and nothing else of the wallet, and removing or
replacing it there never touches the original. The attached document records where it came from.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Response
from fastapi.exceptions import RequestValidationError
from motcua.common.auth import Citizen, Principal
from motcua.common.clock import now
from motcua.common.errors import Conflict, InvalidInput, NotFound
from motcua.submission import applications, filetypes, payments
from motcua.submission.deps import Submission, SubmissionDep
from motcua.submission.model import Application, DocumentRef, DocumentSource
from motcua.submission.schemas import DocumentPublic
from motcua.submission.uploads import DocumentTooLarge, DocumentTypeNotAccepted
from pydantic import BaseModel, ConfigDict, Field, ValidationError

router = APIRouter(prefix="/v1", tags=["wallet"])

# How many of the citizen's dossiers the wallet is read from (the newest).
DOSSIERS_READ = 500
ItemKind = Literal["upload", "result"]


class WalletItemNotFound(NotFound):
    title = "Wallet item not found"


class WalletItemChanged(Conflict):
    title = "Wallet item changed"


class WalletItem(BaseModel):
    id: str
    kind: ItemKind
    filename: str
    content_type: str
    size: int
    sha256: str
    from_application_id: str
    created_at: datetime
    document_key: str | None = Field(default=None, description="the document it was uploaded as (uploads only)")
    procedure_code: str
    status: Literal["valid", "revoked"] | None = Field(default=None, description="a result's standing")


class Wallet(BaseModel):
    items: list[WalletItem]


class WalletAttach(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    document_key: str = Field(min_length=1, max_length=100)
    wallet_item_id: str = Field(min_length=1, max_length=64)


def _result_document(app: Application) -> DocumentRef | None:
    """The dossier's issued result, described as a document (it is one of the wallet's items once released: a
    fee paid at result is paid first)."""
    r = app.result
    if r is None or payments.withholds_result(app.payment_status):
        return None
    return DocumentRef(
        id=r.file_id,
        document_key="result",
        filename=r.filename,
        content_type="application/pdf",
        size=r.size,
        sha256=r.sha256,
        uploaded_at=r.issued_at,
    )


def _listed(kind: ItemKind, ref: DocumentRef, app: Application, **extra: Any) -> WalletItem:
    return WalletItem(
        id=ref.id,
        kind=kind,
        filename=ref.filename,
        content_type=ref.content_type,
        size=ref.size,
        sha256=ref.sha256,
        from_application_id=app.id,
        created_at=ref.uploaded_at,
        procedure_code=app.procedure_code,
        **extra,
    )


def items_of(dossiers: list[Application]) -> list[WalletItem]:
    """The wallet from the citizen's dossiers, newest first: each upload (not those themselves taken from
    the wallet) and each result; the same file uploaded twice is listed once."""
    found: list[WalletItem] = []
    seen: set[str] = set()
    for app in dossiers:
        result = _result_document(app)
        if result is not None and app.result is not None:
            found.append(_listed("result", result, app, status=app.result.status))
        for d in app.documents.values():
            if d.source is not None or d.sha256 in seen:
                continue
            seen.add(d.sha256)
            found.append(_listed("upload", d, app, document_key=d.document_key))
    return sorted(found, key=lambda i: i.created_at, reverse=True)


@router.get("/wallet", summary="My document wallet")
async def wallet(who: Citizen, submission: SubmissionDep, response: Response) -> Wallet:
    """The signed-in citizen's uploaded documents and issued results (`kind` `upload` or `result`), newest
    first; each can be attached to a new dossier with `POST /v1/applications/{id}/documents` and
    `{"document_key", "wallet_item_id"}`, without uploading it again."""
    response.headers["Cache-Control"] = "private, no-store"
    return Wallet(items=items_of(await submission.store.newest_of(who.sub, DOSSIERS_READ)))


def _item(source: Application, item_id: str) -> tuple[ItemKind, DocumentRef]:
    """The wallet item `item_id` of dossier `source`, described as a document."""
    result = _result_document(source)
    if result is not None and result.id == item_id:
        return "result", result
    for d in source.documents.values():
        if d.id == item_id and d.source is None:
            return "upload", d
    raise WalletItemNotFound(f"No item {item_id} in your wallet.")


def parse_attach(raw: Any) -> WalletAttach:
    """The JSON body of an attachment from the wallet (422 naming each bad field)."""
    try:
        return WalletAttach.model_validate(raw)
    except ValidationError as exc:
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]) from exc


async def attach(submission: Submission, application_id: str, who: Principal, body: WalletAttach) -> DocumentPublic:
    """Attach the wallet item to the owner's editable dossier under `document_key`: 422 for a key the
    procedure does not list, 415 for a type it does not accept, 413 over its size, 404 for an item that is
    not the caller's, 409 when the stored file no longer has the item's SHA-256."""
    store = submission.store
    app = await applications.owned(store, application_id, who)
    app.ensure_editable()
    procedure = await applications.pinned(store, app)
    wanted = procedure.document(body.document_key)
    if wanted is None:
        known = ", ".join(d.key for d in procedure.required_documents)
        raise InvalidInput.one("/document_key", f"not a document of this procedure (it lists: {known})")
    record = await store.file_records.find_one({"_id": body.wallet_item_id}, projection={"metadata": 1})
    source_id = str((record or {}).get("metadata", {}).get("application_id", ""))
    source = await store.get(source_id) if source_id else None
    if source is None or not applications.is_owner(source, who):
        raise WalletItemNotFound(f"No item {body.wallet_item_id} in your wallet.")
    kind, item = _item(source, body.wallet_item_id)
    if item.content_type not in wanted.accepted_types:
        raise DocumentTypeNotAccepted(
            f"The item is {item.content_type}; {wanted.key} accepts {', '.join(wanted.accepted_types)}."
        )
    if item.size > wanted.max_bytes:
        raise DocumentTooLarge(f"The item is larger than the {wanted.max_size_mb:g} MB {wanted.key} allows.")
    opened = await store.open_file(item.id)
    if opened is None:
        raise WalletItemNotFound("The file of this wallet item is gone.")
    content = await opened.read()
    if hashlib.sha256(content).hexdigest() != item.sha256 or filetypes.sniff(content[:4096]) != item.content_type:
        raise WalletItemChanged("The stored file no longer matches this wallet item's SHA-256; upload it instead.")
    await submission.limits.spend("upload", who.sub)
    copy_id = uuid.uuid4().hex
    sink = store.new_file(copy_id, item.filename, {"application_id": app.id, "owner_id": app.owner_id})
    await sink.write(content)
    await sink.close()
    ref = DocumentRef(
        id=copy_id,
        document_key=wanted.key,
        filename=item.filename,
        content_type=item.content_type,
        size=item.size,
        sha256=item.sha256,
        uploaded_at=now(),
        source=DocumentSource(wallet_item_id=item.id, item_kind=kind, from_application_id=source.id),
    )
    await applications.attach(submission, app, ref)
    return DocumentPublic.of(ref)
