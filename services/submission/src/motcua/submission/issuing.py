"""Issuing and revoking result documents: read, call the domain (results.py), render and sign, write one
transaction (the move, the result, its verification record and the events).

The PDF is rendered and signed before the transaction (seconds of CPU must not hold one open) and stored in
GridFS; if the transaction then fails, the file is deleted, so a refused or raced issue leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from datetime import datetime

import structlog
from motcua.common import mongo
from motcua.common.auth import Principal
from motcua.common.clock import now
from motcua.common.contracts.submission import ApplicationResultIssued, ResultRevoked
from motcua.submission import events, payments, result_pdf, results
from motcua.submission.applications import (
    ChangedMeanwhile,
    is_agency_officer,
    missing,
    officer_roles,
    pinned,
)
from motcua.submission.deps import Submission
from motcua.submission.model import Application, IssuedResult, explained
from motcua.submission.workflow import Action, next_status, require_role

log = structlog.get_logger(__name__)


def result_issued(app: Application) -> ApplicationResultIssued:
    result = app.result
    assert result is not None
    return ApplicationResultIssued(
        **events.common_fields(app),
        verification_code=result.verification_code,
        sha256=result.sha256,
        size=result.size,
        made_from=result.made_from,
        issued_at=result.issued_at,
        fee_due_vnd=app.fee_vnd if payments.withholds_result(app.payment_status) else 0,
    )


def result_revoked(app: Application) -> ResultRevoked:
    result = app.result
    assert result is not None
    assert result.revoked_at is not None
    return ResultRevoked(
        **events.common_fields(app),
        verification_code=result.verification_code,
        sha256=result.sha256,
        reason=result.revocation_reason or "",
        revoked_at=result.revoked_at,
    )


async def _render(submission: Submission, app: Application, upload: bytes | None, issue: result_pdf.Issue) -> bytes:
    if upload is not None:
        return await asyncio.to_thread(result_pdf.with_verification_page, upload, app, issue, submission.fonts)
    procedure = await pinned(submission.store, app)
    return await asyncio.to_thread(result_pdf.render_template, app, procedure, issue, submission.fonts)


async def issue(
    submission: Submission,
    application_id: str,
    who: Principal,
    *,
    comment: str,
    upload: bytes | None,
    request_id: str | None,
) -> Application:
    """`issue_result`: the dossier completed with its signed result (the officer's PDF, or the procedure's
    template when none is uploaded); ApplicationStatusChanged and ApplicationResultIssued announce it."""
    store = submission.store
    current = await store.get(application_id)
    if current is None or not is_agency_officer(current, who):
        raise missing(application_id)
    require_role(current.status, Action.ISSUE_RESULT, officer_roles(who))
    next_status(current.status, Action.ISSUE_RESULT)  # 409 before any rendering
    why = explained(Action.ISSUE_RESULT, comment)
    made_from = results.require_document(await pinned(store, current), upload is not None)
    at = now()
    code = results.new_code()
    completed = current.move(Action.ISSUE_RESULT, by_role="officer", comment=why, at=at)
    issue_facts = result_pdf.Issue(code, at, submission.settings.public_base_url)
    unsigned = await _render(submission, completed, upload, issue_facts)
    signed = await submission.signers.sign(
        unsigned, current.agency_code, reason=f"Kết quả giải quyết hồ sơ {current.tracking_code}", at=at
    )
    file_id = uuid.uuid4().hex
    filename = f"ket-qua-{current.tracking_code or current.id}.pdf"
    sink = store.new_file(
        file_id,
        filename,
        {"application_id": current.id, "owner_id": current.owner_id, "kind": "result", "attached": True},
    )
    await sink.write(signed)
    await sink.close()
    result = IssuedResult(
        verification_code=code,
        file_id=file_id,
        filename=filename,
        sha256=hashlib.sha256(signed).hexdigest(),
        size=len(signed),
        issued_at=at,
        made_from="upload" if made_from == "upload" else "template",
    )
    after = results.with_result(completed, result)

    async def work(session: mongo.Session) -> None:
        if not await store.save_transition(session, current, after):
            raise ChangedMeanwhile("The application changed meanwhile; read it again.")
        await submission.results.save_issued(session, after)
        await submission.outbox.add(
            session, [events.status_changed(after), result_issued(after)], request_id=request_id
        )

    try:
        await mongo.in_transaction(store.client, work)
    except BaseException:
        await store.delete_file(file_id)
        raise
    submission.outbox.notify()
    log.info(
        "result_issued",
        application_id=current.id,
        made_from=result.made_from,
        size=result.size,
        payment_status=after.payment_status.value,
    )
    return after


async def revoke(
    submission: Submission, application_id: str, who: Principal, *, reason: str, request_id: str | None
) -> Application:
    """An approver of the agency revokes the result (the dossier stays completed); ResultRevoked tells."""
    store = submission.store

    async def work(session: mongo.Session) -> Application:
        current = await store.get(application_id, session=session)
        if current is None or not is_agency_officer(current, who):
            raise missing(application_id)
        at: datetime = now()
        after = results.revoke(current, reason=reason, roles=officer_roles(who), at=at)
        if not await store.save_transition(session, current, after):
            raise ChangedMeanwhile("The application changed meanwhile; read it again.")
        await submission.results.save_revoked(session, after)
        await submission.outbox.add(session, [result_revoked(after)], request_id=request_id)
        return after

    after = await mongo.in_transaction(store.client, work)
    submission.outbox.notify()
    log.info("result_revoked", application_id=application_id)
    return after
