"""The events notification consumes, each turned into deliveries in the consumer's transaction.

A handler records what is to be sent (one delivery per event and channel, `pending`), never sends:
the dispatcher does that outside any transaction. In-app notifications are stored here and are done.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import structlog
from motcua.common import mongo
from motcua.common.consumer import Handler
from motcua.common.contracts.identity import (
    AccountActivated,
    AccountRegistered,
    AccountSecurityChanged,
    DuplicateRegistrationAttempted,
    EmailVerificationRequested,
    OfficerProfileChanged,
    PasswordResetRequested,
    PhoneVerificationRequested,
)
from motcua.common.contracts.notification import NotificationFailed, NotificationSent
from motcua.common.contracts.submission import (
    ApologyIssued,
    ApplicationDeadlineApproaching,
    ApplicationOverdue,
    ApplicationReceived,
    ApplicationResultIssued,
    ApplicationStatusChanged,
    PaymentCompleted,
    ResultRevoked,
)
from motcua.common.events import Envelope, Event, event_types
from motcua.common.outbox import Outbox
from motcua.common.slip_document import SlipDocument, SlipKind
from motcua.common.slip_document import render as render_slip
from motcua.notification import model
from motcua.notification.deliveries import Delivery
from motcua.notification.messages import ApplicationEvent, Attachment, Composer, Contact, Outgoing
from motcua.notification.model import Status
from motcua.notification.settings import Settings
from motcua.notification.store import Store

log = structlog.get_logger(__name__)

# What a delivery may be about: the applicant's dossier events, and the officers' deadline notices.
DossierEvent = ApplicationEvent | ApplicationDeadlineApproaching | ApplicationOverdue | PaymentCompleted


class Desk:
    """Where events arrive: keeps the contacts read model and records the messages each event causes."""

    def __init__(self, store: Store, outbox: Outbox, composer: Composer, settings: Settings) -> None:
        self._store = store
        self._outbox = outbox
        self._composer = composer
        self._settings = settings

    def handlers(self) -> dict[str, Handler]:
        """Every consumed event type and its handler, in one place."""
        return {
            AccountRegistered.ce_type: self.contact_changed,
            AccountActivated.ce_type: self.contact_changed,
            EmailVerificationRequested.ce_type: self.email_verification,
            PhoneVerificationRequested.ce_type: self.phone_verification,
            PasswordResetRequested.ce_type: self.password_reset,
            DuplicateRegistrationAttempted.ce_type: self.duplicate_registration,
            AccountSecurityChanged.ce_type: self.security_changed,
            ApplicationReceived.ce_type: self.application,
            ApplicationStatusChanged.ce_type: self.application,
            ApologyIssued.ce_type: self.application,
            ApplicationResultIssued.ce_type: self.application,
            ResultRevoked.ce_type: self.application,
            OfficerProfileChanged.ce_type: self.officer_changed,
            ApplicationDeadlineApproaching.ce_type: self.deadline,
            ApplicationOverdue.ce_type: self.deadline,
            PaymentCompleted.ce_type: self.payment_receipt,
        }

    async def prepare(self, session: mongo.Session, envelopes: list[Envelope]) -> None:
        """Before a consumer batch: the contacts of every applicant its events concern, in one read."""
        applicants = [
            e.data.applicant_account_id for e in envelopes if isinstance(e.data, ApplicationEvent | PaymentCompleted)
        ]
        await self._store.read_contacts(session, applicants)

    async def officer_changed(self, envelope: Envelope, session: mongo.Session) -> None:
        data = envelope.data
        assert isinstance(data, OfficerProfileChanged)
        roles: list[str] = list(data.agency_roles)
        await self._store.save_officer(
            session, data.account_id, agency_code=data.agency_code, roles=roles, active=data.active
        )

    async def deadline(self, envelope: Envelope, session: mongo.Session) -> None:
        """Tell the assignee and the agency's approvers, each once (one delivery per event, person and channel)."""
        data = envelope.data
        assert isinstance(data, ApplicationDeadlineApproaching | ApplicationOverdue)
        people = await self._store.agency_officers(session, data.agency_code, "approver")
        if data.assignee_id is not None:
            people = [data.assignee_id, *people]
        for account_id in dict.fromkeys(people):
            contact = await self._store.find_contact(session, account_id)
            if contact is None:
                log.warning("officer_contact_unknown", account_id=account_id, event_type=envelope.type)
                continue
            theirs = replace(envelope, id=f"{envelope.id}:{account_id}")  # once per person, even on a replay
            await self._record(session, theirs, self._composer.deadline(data, contact), account_id, data)

    async def payment_receipt(self, envelope: Envelope, session: mongo.Session) -> None:
        """The receipt of a paid fee, to the applicant, once (its deliveries are unique per event and channel)."""
        data = envelope.data
        assert isinstance(data, PaymentCompleted)
        contact = await self._store.find_contact(session, data.applicant_account_id)
        if contact is None:  # identity's topic is behind: the receipt waits aside, as the dossier's messages do
            log.warning("contact_unknown_event_parked", account_id=data.applicant_account_id)
            await self._store.park(session, _parked(envelope, data.applicant_account_id))
            return
        await self._record(session, envelope, self._composer.payment_receipt(data, contact), contact.account_id, data)

    async def contact_changed(self, envelope: Envelope, session: mongo.Session) -> None:
        data = envelope.data
        assert isinstance(data, AccountRegistered | AccountActivated)
        contact = Contact(data.account_id, data.full_name, data.email, data.phone, data.locale)
        await self._store.save_contact(session, contact, data.account_type)
        for parked in await self._store.take_parked(session, data.account_id):
            waiting = _unpark(parked)
            log.info("parked_event_released", parked_event_id=waiting.id, account_id=data.account_id)
            if isinstance(waiting.data, PaymentCompleted):
                receipt = self._composer.payment_receipt(waiting.data, contact)
                await self._record(session, waiting, receipt, data.account_id, waiting.data)
                continue
            assert isinstance(waiting.data, ApplicationEvent)
            messages = self._composer.application(waiting.data, contact, slip=self._slip(waiting.data))
            await self._record(session, waiting, messages, data.account_id, waiting.data)

    async def email_verification(self, envelope: Envelope, session: mongo.Session) -> None:
        assert isinstance(envelope.data, EmailVerificationRequested)
        message = self._composer.email_verification(envelope.data)
        await self._record(session, envelope, [message], envelope.data.account_id)

    async def phone_verification(self, envelope: Envelope, session: mongo.Session) -> None:
        assert isinstance(envelope.data, PhoneVerificationRequested)
        message = self._composer.phone_verification(envelope.data)
        await self._record(session, envelope, [message], envelope.data.account_id)

    async def password_reset(self, envelope: Envelope, session: mongo.Session) -> None:
        assert isinstance(envelope.data, PasswordResetRequested)
        message = self._composer.password_reset(envelope.data)
        await self._record(session, envelope, [message], envelope.data.account_id)

    async def duplicate_registration(self, envelope: Envelope, session: mongo.Session) -> None:
        assert isinstance(envelope.data, DuplicateRegistrationAttempted)
        message = self._composer.duplicate_registration(envelope.data)
        await self._record(session, envelope, [message], envelope.data.account_id)

    async def security_changed(self, envelope: Envelope, session: mongo.Session) -> None:
        assert isinstance(envelope.data, AccountSecurityChanged)
        message = self._composer.security_changed(envelope.data)
        await self._record(session, envelope, [message], envelope.data.account_id)

    async def application(self, envelope: Envelope, session: mongo.Session) -> None:
        data = envelope.data
        assert isinstance(data, ApplicationEvent)
        if isinstance(data, ApplicationStatusChanged) and data.to_status == "completed":
            # every completion carries its result: ApplicationResultIssued, which follows in the same
            # transaction, tells the applicant once, with the link to the result (issue 20)
            return
        contact = await self._store.find_contact(session, data.applicant_account_id)
        if contact is None:
            # Identity's events travel on another topic and may come later; waiting here by retrying
            # would block the records behind this one (identity's among them), so the event waits aside.
            log.warning("contact_unknown_event_parked", account_id=data.applicant_account_id)
            await self._store.park(session, _parked(envelope, data.applicant_account_id))
            return
        messages = self._composer.application(data, contact, slip=self._slip(data))
        await self._record(session, envelope, messages, contact.account_id, data)

    def _slip(self, data: ApplicationEvent) -> Attachment | None:
        """The slip the move issued, as the PDF the portal serves (the same bytes), to attach to the email."""
        if isinstance(data, ApplicationStatusChanged):
            slip, issued_at, text, previous = data.slip, data.changed_at, data.comment, None
        elif isinstance(data, ApologyIssued):
            slip, issued_at, text, previous = data.slip, data.issued_at, data.reason, data.previous_due_date
        else:
            return None
        if slip is None:
            return None
        document = SlipDocument(
            kind=SlipKind(slip.kind),
            issued_at=issued_at,
            tracking_code=data.tracking_code,
            procedure_code=data.procedure_code,
            procedure_name=data.procedure_name,
            agency_code=data.agency_code,
            submitted_at=slip.submitted_at,
            text=text,
            due_date=data.due_date,
            previous_due_date=previous,
            items=list(slip.items),
            supply_by=slip.supply_by,
        )
        pdf = render_slip(document, self._settings.slip_fonts(), self._settings.public_base_url)
        return Attachment(document.filename(), "application/pdf", pdf, document.title)

    async def _record(
        self,
        session: mongo.Session,
        envelope: Envelope,
        messages: list[Outgoing],
        account_id: str,
        application: DossierEvent | None = None,
    ) -> None:
        """One delivery per message (unique per event and channel), its in-app copy, and final events."""
        now = datetime.now(UTC)
        deliveries: list[Delivery] = []
        events: list[Event] = []
        for message in messages:
            delivery = _delivery(envelope, message, account_id, now, application)
            status, reason = await self._first_status(session, message, now)
            if status == Status.SENT:
                delivery = delivery.stored_in_app(now)
                await self._store.add_notification(session, _in_app(envelope, message, account_id, application))
                events.append(final_event(delivery, Status.SENT, "", now))
            elif status != Status.PENDING:
                delivery = delivery.refused(status, reason, now)
                events.append(final_event(delivery, status, reason, now))
                log.warning("delivery_not_sent", delivery_id=delivery.id, channel=message.channel, status=status)
            deliveries.append(delivery)
        await self._store.add_deliveries(session, deliveries)
        await self._outbox.add(session, events, request_id=envelope.request_id, staging=self._store.staging)

    async def _first_status(self, session: mongo.Session, message: Outgoing, now: datetime) -> tuple[Status, str]:
        if message.problem:
            return Status.FAILED, message.problem
        if model.is_expired(message.expires_at, now):
            return Status.EXPIRED, "expired before it could be sent"
        if message.channel == "in_app":
            return Status.SENT, ""
        if message.secret and self._settings.secret_messages_per_recipient:
            count = await self._store.count_send(
                session,
                f"{message.channel}:{message.recipient.lower()}",
                window_seconds=self._settings.secret_message_window_seconds,
                now=now,
            )
            if not model.within_limit(count, self._settings.secret_messages_per_recipient):
                return Status.RATE_LIMITED, "too many verification or reset messages to this recipient; try later"
        return Status.PENDING, ""


def _delivery(
    envelope: Envelope, message: Outgoing, account_id: str, now: datetime, application: DossierEvent | None
) -> Delivery:
    return Delivery.record(
        cause_event_id=envelope.id,
        cause_event_type=envelope.type,
        channel=message.channel,
        recipient=message.recipient,
        account_id=account_id,
        content=message.content,
        secret=message.secret,
        expires_at=message.expires_at,
        request_id=envelope.request_id,
        application_id=application.application_id if application else None,
        tracking_code=application.tracking_code if application else None,
        now=now,
    )


def _in_app(envelope: Envelope, message: Outgoing, account_id: str, application: DossierEvent | None) -> dict[str, Any]:
    if isinstance(application, ApplicationDeadlineApproaching | ApplicationOverdue):
        kind, status = "application_deadline", application.status  # for the officer: a dossier running late
    elif isinstance(application, ApplicationStatusChanged):
        kind, status = "application_status_changed", application.to_status
    elif isinstance(application, ApologyIssued):
        kind, status = "application_apology", None  # the status stays; the date moves
    elif isinstance(application, ApplicationResultIssued) and application.fee_due_vnd > 0:
        kind, status = "payment_due", "completed"  # the result waits for its fee, paid at result
    elif isinstance(application, ApplicationResultIssued):
        kind, status = "application_result_issued", "completed"
    elif isinstance(application, ResultRevoked):
        kind, status = "application_result_revoked", None
    elif isinstance(application, PaymentCompleted):
        kind, status = "payment_receipt", None  # the fee paid: the status stays
    else:
        kind, status = "application_received", "submitted"
    return {
        "_id": uuid.uuid4().hex,
        "account_id": account_id,
        "cause_event_id": envelope.id,
        "kind": kind,
        "title": message.content["title"],
        "body": message.content["body"],
        "link": message.content["link"],
        "application_id": application.application_id if application else None,
        "tracking_code": application.tracking_code if application else None,
        "status": status,
        "created_at": envelope.time,
        "read_at": None,
    }


def _parked(envelope: Envelope, account_id: str) -> dict[str, Any]:
    return {
        "_id": envelope.id,
        "account_id": account_id,
        "type": envelope.type,
        "data": envelope.data.model_dump(mode="json"),
        "source": envelope.source,
        "time": envelope.time,
        "request_id": envelope.request_id,
        "parked_at": datetime.now(UTC),
    }


def _unpark(doc: dict[str, Any]) -> Envelope:
    data = event_types()[doc["type"]].model_validate(doc["data"])
    return Envelope(data=data, source=doc["source"], id=doc["_id"], time=doc["time"], request_id=doc.get("request_id"))


def final_event(delivery: Delivery, status: Status, reason: str, at: datetime) -> Event:
    """NotificationSent or NotificationFailed for a delivery that reached a final status."""
    common = {
        "delivery_id": delivery.id,
        "cause_event_id": delivery.cause_event_id,
        "cause_event_type": delivery.cause_event_type,
        "channel": delivery.channel,
        "account_id": delivery.account_id,
        "attempts": delivery.attempts,
    }
    if status == Status.SENT:
        return NotificationSent(**common, sent_at=at)
    return NotificationFailed(**common, reason=reason, failed_at=at, status=status.value)
