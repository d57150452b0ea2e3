"""The events submission emits (built from an application) and the handlers of those it consumes."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime

import structlog
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from motcua.common import mongo, topics
from motcua.common.consumer import Consumer, Handler
from motcua.common.contracts.catalogue import ProcedurePublished, ProcedureRetired
from motcua.common.contracts.identity import AccountProfileChanged, OfficerProfileChanged
from motcua.common.contracts.submission import (
    ApologyIssued,
    ApplicationAssigned,
    ApplicationDeadlineApproaching,
    ApplicationOverdue,
    ApplicationReceived,
    ApplicationStatusChanged,
    IssuedSlip,
)
from motcua.common.events import Envelope
from motcua.common.slip_document import SlipKind
from motcua.submission import applicants, due_dates, slips
from motcua.submission.applicants import Applicant
from motcua.submission.deps import Submission
from motcua.submission.escalation import Notice
from motcua.submission.model import Application, Officer
from motcua.submission.slips import slip_id
from motcua.submission.store import Store
from motcua.submission.workflow import ADVISORY, Action, Status

log = structlog.get_logger(__name__)

GROUP = "submission"
# Document keys become MongoDB field names in an application: refuse what would break a path.
_DOCUMENT_KEY = re.compile(r"^[A-Za-z0-9_\-]{1,100}$")


def common_fields(app: Application) -> dict[str, object]:
    assert app.tracking_code is not None
    assert app.due_date is not None
    return {
        "application_id": app.id,
        "tracking_code": app.tracking_code,
        "procedure_code": app.procedure_code,
        "procedure_version": app.procedure_version,
        "procedure_name": app.procedure_name,
        "procedure_name_en": app.procedure_name_en,
        "agency_code": app.agency_code,
        "applicant_account_id": app.owner_id,
        "due_date": app.due_date,
    }


def received(app: Application) -> ApplicationReceived:
    assert app.submitted_at is not None
    return ApplicationReceived(**common_fields(app), submitted_at=app.submitted_at)


def issued_slip(app: Application) -> IssuedSlip | None:
    """The slip `app`'s last move issued, if it issued one."""
    found = slips.slips_of_entry(app, len(app.history) - 1)
    if found is None:
        return None
    return IssuedSlip(
        id=found.id,
        kind=found.kind.value,
        submitted_at=app.submitted_at,
        items=found.items,
        supply_by=found.supply_by,
    )


def status_changed(app: Application) -> ApplicationStatusChanged:
    """The last move in `app`'s history, as agencies and notification read it."""
    entry = app.history[-1]
    return ApplicationStatusChanged(
        slip=issued_slip(app),
        **common_fields(app),
        from_status=entry.from_status.value,
        to_status=entry.to_status.value,
        comment=entry.comment,
        by_role=entry.by_role,
        changed_at=entry.at,
    )


def apology_issued(app: Application, previous_due_date: date) -> ApologyIssued:
    """The apology just recorded, with the date it replaces."""
    entry = app.history[-1]
    return ApologyIssued(
        **common_fields(app),
        previous_due_date=previous_due_date,
        reason=entry.comment,
        slip_id=slip_id(SlipKind.APOLOGY, len(app.history) - 1),
        issued_at=entry.at,
        slip=issued_slip(app),
    )


def assigned(app: Application, before: Application, by: str) -> ApplicationAssigned:
    """The assignment just recorded, naming the specialist it replaces if any."""
    assert app.assignee is not None
    return ApplicationAssigned(
        **common_fields(app),
        assignee_id=app.assignee.id,
        assignee_name=app.assignee.full_name,
        previous_assignee_id=before.assignee.id if before.assignee else None,
        assigned_by=by,
        assigned_at=app.assignee.assigned_at,
    )


def deadline(app: Application, notice: Notice, at: datetime) -> ApplicationDeadlineApproaching | ApplicationOverdue:
    """The escalation check's notice about `app`, for its assignee and its agency's approvers."""
    kind = ApplicationOverdue if notice == "overdue" else ApplicationDeadlineApproaching
    left = app.working_days_left(due_dates.local_day(at))
    return kind(
        **common_fields(app),
        assignee_id=app.assignee.id if app.assignee else None,
        status=app.status.value,
        working_days_left=left if left is not None else 0,
        noticed_at=at,
    )


Announcement = ApplicationReceived | ApplicationStatusChanged | ApologyIssued | ApplicationAssigned


def announcing(app: Application, before: Application, by: str) -> Announcement | None:
    """What `app`'s last move tells the agency and the applicant: a submission is received, an apology
    gives a new date, an assignment names the specialist, any other move is a change of status; a
    proposal stays inside the agency (nothing)."""
    entry = app.history[-1]
    if entry.action in ADVISORY:
        return None
    if entry.from_status == Status.DRAFT:
        return received(app)
    if entry.action == Action.APOLOGISE and before.due_date is not None:
        return apology_issued(app, before.due_date)
    if entry.action == Action.ASSIGN:
        return assigned(app, before, by)
    return status_changed(app)


class InvalidProcedure(Exception):
    """A published procedure submission cannot validate against: it goes to the dead-letter topic."""


def procedure_handlers(store: Store) -> Mapping[str, Handler]:
    """Keep the read model of published procedures; each version is stored as published."""

    async def published(envelope: Envelope, session: mongo.Session) -> None:
        event = envelope.data
        assert isinstance(event, ProcedurePublished)
        try:
            Draft202012Validator.check_schema(event.form_schema)
        except SchemaError as exc:
            raise InvalidProcedure(
                f"form_schema of {event.code} v{event.version} is not JSON Schema: {exc.message}"
            ) from exc
        bad = [d.key for d in event.required_documents if not _DOCUMENT_KEY.match(d.key)]
        if bad:
            raise InvalidProcedure(f"document keys of {event.code} v{event.version} are not usable: {bad}")
        fields = event.model_dump(
            include={
                "code",
                "version",
                "name",
                "name_en",
                "agency_code",
                "applicant_types",
                "processing_days",
                "same_day_cutoff",
                "required_documents",
                "form_schema",
                "published_at",
                "result_template",
                "fee_vnd",
                "fee_due",
            }
        )
        await store.save_procedure(session, fields)
        log.info("procedure_version_stored", procedure_code=event.code, version=event.version)

    async def retired(envelope: Envelope, session: mongo.Session) -> None:
        event = envelope.data
        assert isinstance(event, ProcedureRetired)
        await store.retire_procedure(session, event.code, event.version)
        log.info("procedure_retired", procedure_code=event.code, version=event.version)

    return {ProcedurePublished.ce_type: published, ProcedureRetired.ce_type: retired}


def directory_handlers(store: Store) -> Mapping[str, Handler]:
    """Keep the officers' directory: who may be assigned a dossier of which agency."""

    async def profile(envelope: Envelope, session: mongo.Session) -> None:
        event = envelope.data
        assert isinstance(event, OfficerProfileChanged)
        officer = Officer(
            id=event.account_id,
            full_name=event.full_name,
            agency_code=event.agency_code,
            roles=list(event.agency_roles),
            active=event.active,
        )
        await store.save_officer(session, officer, event.changed_at)
        log.info("officer_directory_updated", account_id=event.account_id, agency=event.agency_code)

    return {OfficerProfileChanged.ce_type: profile}


def profile_handlers(store: Store) -> Mapping[str, Handler]:
    """Keep the applicants' profiles: whom each dossier is filed by, copied in at submission."""

    async def profile(envelope: Envelope, session: mongo.Session) -> None:
        event = envelope.data
        assert isinstance(event, AccountProfileChanged)
        kept = await store.applicant_profiles.save(
            session,
            Applicant(
                **event.model_dump(exclude={"changed_at"}),
                profile_changed_at=event.changed_at,
                name_key=applicants.name_key(event.full_name),
            ),
        )
        log.info("applicant_profile_updated", account_id=event.account_id, kept=kept)

    return {AccountProfileChanged.ce_type: profile}


def consumers(submission: Submission) -> list[Consumer]:
    """The service's one consumer: the catalogue's procedures, the officers' directory and the applicants'
    profiles, into read models."""
    store = submission.store
    return [
        Consumer(
            client=store.client,
            db=store.db,
            settings=submission.settings,
            group=GROUP,
            topic_names=[topics.CATALOGUE_PROCEDURE, topics.IDENTITY_DIRECTORY, topics.IDENTITY_PROFILE],
            handlers={**procedure_handlers(store), **directory_handlers(store), **profile_handlers(store)},
        )
    ]
