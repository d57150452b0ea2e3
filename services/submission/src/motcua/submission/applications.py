"""What citizens and officers do with applications: read, call the domain, write one transaction.

Who may see what is decided here, once: an application someone may not see does not exist for them
(404), whichever route they came by.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any, NoReturn

import structlog
from motcua.common import mongo
from motcua.common.auth import Principal
from motcua.common.clock import now
from motcua.common.errors import Conflict, InvalidInput
from motcua.submission import events, forms, payment_flow
from motcua.submission.deps import Submission
from motcua.submission.model import (
    Application,
    ApplicationNotFound,
    DocumentNotFound,
    DocumentRef,
    Outcome,
    Procedure,
    ProcedureUnavailable,
    SubmitReceipt,
    check_revision,
    explained,
    start_draft,
)
from motcua.submission.store import Store
from motcua.submission.uploads import Received
from motcua.submission.workflow import OFFICER_ACTIONS, Action, Role, require_role
from pymongo.errors import DuplicateKeyError

log = structlog.get_logger(__name__)

TRACKING_CODE_ATTEMPTS = 5


class ChangedMeanwhile(Conflict):
    title = "Changed meanwhile"


def is_owner(app: Application, who: Principal) -> bool:
    return who.has("citizen") and app.owner_id == who.sub


def is_agency_officer(app: Application, who: Principal) -> bool:
    return who.has("officer") and app.visible_to_agency(who.agency)


def officer_roles(who: Principal) -> frozenset[Role]:
    """The desk roles the officer's token gives (unknown names ignored; no claim, no role)."""
    return frozenset(Role(r) for r in who.agency_roles if r in Role.__members__.values())


def missing(application_id: str) -> ApplicationNotFound:
    return ApplicationNotFound(f"No application {application_id} here.")


async def owned(store: Store, application_id: str, who: Principal) -> Application:
    app = await store.get(application_id)
    if app is None or not is_owner(app, who):
        raise missing(application_id)
    return app


async def readable(store: Store, application_id: str, who: Principal) -> Application:
    """The owner and the officers of the procedure's agency (once submitted) may read it."""
    app = await store.get(application_id)
    if app is None or not (is_owner(app, who) or is_agency_officer(app, who)):
        raise missing(application_id)
    return app


async def pinned(store: Store, app: Application) -> Procedure:
    procedure = await store.pinned_procedure(app.procedure_code, app.procedure_version)
    if procedure is None:  # the read model lost a version it once had: not the citizen's fault
        raise RuntimeError(f"procedure {app.procedure_code} v{app.procedure_version} missing from the read model")
    return procedure


async def start(submission: Submission, procedure_code: str, who: Principal) -> Application:
    store = submission.store
    procedure = await store.current_procedure(procedure_code)
    if procedure is None:
        raise ProcedureUnavailable(f"No procedure {procedure_code} takes applications.")
    app = start_draft(
        procedure, application_id=uuid.uuid4().hex, owner_id=who.sub, account_type=who.account_type, at=now()
    )
    await store.insert(app)
    log.info("draft_started", application_id=app.id, procedure_code=procedure.code, version=procedure.version)
    return app


async def autosave(
    submission: Submission, app: Application, patch: dict[str, Any] | None, if_match: str | None
) -> Application:
    """Merge `patch` into the form if the caller saw the latest revision; the shape is checked now."""
    store, max_bytes = submission.store, submission.settings.max_form_bytes
    app.ensure_editable()  # 409 before 412: reading the application again would not help
    check_revision(app, if_match)
    data = forms.merge_patch(app.data, patch) if patch is not None else {}
    procedure = await pinned(store, app)
    problems = forms.bounds_problems(data, max_bytes=max_bytes) or forms.form_problems(
        procedure.form_schema, data, complete=False
    )
    if problems:
        raise InvalidInput(problems)
    at = now()
    if not await store.save_data(app, data, at):
        latest = await store.get(app.id)
        assert latest is not None
        latest.ensure_editable()
        check_revision(latest, if_match)
        raise ChangedMeanwhile("The application changed while saving; read it again.")
    return app.model_copy(update={"data": data, "revision": app.revision + 1, "updated_at": at})


def _changed_meanwhile(app: Application) -> NoReturn:
    app.ensure_editable()
    raise ChangedMeanwhile("The application stopped being editable during the upload.")


async def attach(submission: Submission, app: Application, document: DocumentRef | Received) -> None:
    """Attach a stored file, or an upload received; the file it replaces (same document key) is deleted.

    A small upload (one GridFS chunk, not yet written) is stored in the same transaction as its attachment:
    its chunk, its record and the application's reference commit together, or nothing is stored."""
    store = submission.store
    if isinstance(document, Received) and document.content is not None:
        upload, content = document, document.content
        ref = upload.ref

        async def work(session: mongo.Session) -> DocumentRef | None:
            attached, replaced = await store.attach(app, ref, session=session)
            if not attached:
                _changed_meanwhile(app)
            await store.put_small_file(session, ref.id, upload.stored_name, upload.metadata, content)
            return replaced

        replaced = await mongo.in_transaction(store.client, work)
    else:
        ref = document.ref if isinstance(document, Received) else document
        attached, replaced = await store.attach(app, ref)
        if not attached:
            await store.delete_file(ref.id)
            _changed_meanwhile(app)
        await store.mark_attached(ref.id)
    if replaced is not None:
        await store.delete_file(replaced.id)
    log.info("document_attached", application_id=app.id, document_key=ref.document_key, size=ref.size)


async def detach(submission: Submission, app: Application, document_id: str) -> None:
    store = submission.store
    app.ensure_editable()
    ref = find_document(app, document_id)
    if not await store.detach(app, ref, now()):
        raise ChangedMeanwhile("The application changed meanwhile; read it again.")
    await store.delete_file(ref.id)


def find_document(app: Application, document_id: str) -> DocumentRef:
    ref = next((d for d in app.documents.values() if d.id == document_id), None)
    if ref is None:
        raise DocumentNotFound(f"No document {document_id} in this application.")
    return ref


Decision = Callable[[Application], Awaitable[Application]]


async def _transition(
    submission: Submission,
    application_id: str,
    may: Callable[[Application], bool],
    decide: Decision,
    *,
    by: str,
    request_id: str | None,
) -> Application:
    """One transaction: read, check who asks, the domain's decision, and its status change, history entry
    and event written together."""
    store, outbox = submission.store, submission.outbox

    async def work(session: mongo.Session) -> Application:
        current = await store.get(application_id, session=session)
        if current is None or not may(current):
            raise missing(application_id)
        after = await decide(current)
        if after is current:
            return current  # nothing to change (an idempotent replay)
        if not await store.save_transition(session, current, after):
            raise ChangedMeanwhile("The application changed meanwhile; read it again.")
        announcement = events.announcing(after, current, by)
        if announcement is not None:  # a proposal stays inside the agency
            await outbox.add(session, [announcement], request_id=request_id)
        await payment_flow.mark_refund(session, submission, current, after)
        return after

    result = await mongo.in_transaction(store.client, work)
    outbox.notify()
    return result


async def submit(
    submission: Submission, application_id: str, who: Principal, idempotency_key: str, *, request_id: str | None
) -> SubmitReceipt:
    """Submit a draft once; the same Idempotency-Key gets the same receipt and emits nothing more. The
    applicant's profile (from identity's profile topic) is copied into the dossier: 503 while it has not come."""

    async def decide(current: Application) -> Application:
        procedure = await pinned(submission.store, current)
        hours = submission.settings.hours_for(procedure.agency_code)
        applicant = await submission.store.applicant_profiles.get(current.owner_id)
        return current.submit(procedure, idempotency_key=idempotency_key, at=now(), applicant=applicant, hours=hours)

    for attempt in range(1, TRACKING_CODE_ATTEMPTS + 1):
        try:
            after = await _transition(
                submission, application_id, lambda a: is_owner(a, who), decide, by=who.sub, request_id=request_id
            )
            break
        except DuplicateKeyError:  # a tracking code already taken: astronomically rare, draw again
            log.warning("tracking_code_collision", application_id=application_id, attempt=attempt)
    else:
        raise RuntimeError("no free tracking code after several attempts")
    assert after.receipt is not None
    log.info("application_submitted", application_id=application_id, tracking_code=after.tracking_code)
    return after.receipt


async def move(
    submission: Submission,
    application_id: str,
    who: Principal,
    action: Action,
    *,
    comment: str,
    request_id: str | None,
    outcome: Outcome | None = None,
    items: list[str] | None = None,
) -> Application:
    """Resubmit, withdraw, or an officer's action: the state machine decides, history and topic record it
    (a supplement request lists its `items`, every missing one at once)."""
    why = explained(action, comment)
    by_officer = action in OFFICER_ACTIONS
    may = (lambda a: is_agency_officer(a, who)) if by_officer else (lambda a: is_owner(a, who))

    async def decide(current: Application) -> Application:
        if by_officer:
            require_role(current.status, action, officer_roles(who))
        if action == Action.RESUBMIT:
            procedure = await pinned(submission.store, current)
            hours = submission.settings.hours_for(procedure.agency_code)
            return current.resubmit(procedure, comment=why, at=now(), hours=hours)
        if action == Action.REQUEST_SUPPLEMENT:
            days = submission.settings.supplement_days
            return current.request_supplement(comment=why, items=items or [], at=now(), supply_days=days)
        by_role = "officer" if by_officer else "citizen"
        return current.move(action, by_role=by_role, comment=why, at=now(), outcome=outcome)

    after = await _transition(submission, application_id, may, decide, by=who.sub, request_id=request_id)
    await payment_flow.refund_if_due(submission, after, request_id=request_id)
    log.info("application_moved", application_id=application_id, action=action.value, status=after.status.value)
    return after


async def apologise(
    submission: Submission,
    application_id: str,
    who: Principal,
    *,
    reason: str,
    new_due_date: date,
    request_id: str | None,
) -> Application:
    """An officer of the agency apologises for a late answer and sets a later date: the slip is the history
    entry, ApologyIssued tells the applicant."""

    async def decide(current: Application) -> Application:
        return current.apologise(reason=reason, new_due_date=new_due_date, at=now())

    after = await _transition(
        submission, application_id, lambda a: is_agency_officer(a, who), decide, by=who.sub, request_id=request_id
    )
    log.info("apology_issued", application_id=application_id, new_due_date=new_due_date.isoformat())
    return after


async def assign(
    submission: Submission, application_id: str, who: Principal, assignee_id: str, *, request_id: str | None
) -> Application:
    """Give a dossier to a specialist of its agency (intake), or take it (a specialist): recorded in the history,
    ApplicationAssigned tells the agency."""
    officer = await submission.store.officer(assignee_id)

    async def decide(current: Application) -> Application:  # after the dossier is known to be the caller's to see
        if officer is None:
            raise InvalidInput.one("/assignee_id", "no officer with this id in the directory")
        return current.assign(officer, by_id=who.sub, by_roles=officer_roles(who), at=now())

    after = await _transition(
        submission, application_id, lambda a: is_agency_officer(a, who), decide, by=who.sub, request_id=request_id
    )
    log.info("application_assigned", application_id=application_id, assignee_id=assignee_id)
    return after
