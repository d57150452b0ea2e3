"""What each event says to whom: messages rendered from the Jinja2 templates, in the reader's language.

Templates live in `templates/{vi,en}/<kind>.txt` (blocks `subject`, `text`, `sms`, `title`, `body`) and
`<kind>.html` (autoescaped). Everything that comes from an event is data in the template, never markup.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from urllib.parse import quote

import structlog
from jinja2 import Environment, PackageLoader, StrictUndefined, Template, select_autoescape
from motcua.common.contracts.identity import (
    AccountSecurityChanged,
    DuplicateRegistrationAttempted,
    EmailVerificationRequested,
    PasswordResetRequested,
    PhoneVerificationRequested,
)
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
from motcua.common.events import Event
from motcua.common.sealing import EventSealer, SealedText, UnreadableSecret, purpose
from motcua.notification import model
from motcua.notification.model import Channel, Locale

log = structlog.get_logger(__name__)

ApplicationEvent = (
    ApplicationReceived | ApplicationStatusChanged | ApologyIssued | ApplicationResultIssued | ResultRevoked
)


@dataclass(frozen=True)
class Contact:
    """How to reach an account, as identity last told us."""

    account_id: str
    full_name: str
    email: str
    phone: str
    locale: Locale = "vi"


@dataclass(frozen=True)
class Outgoing:
    """One message for one channel. `problem` set: the recipient is unusable, record it failed, never send."""

    channel: Channel
    recipient: str
    content: dict[str, str] = field(default_factory=dict)
    secret: bool = False
    expires_at: datetime | None = None
    problem: str = ""


@dataclass(frozen=True)
class Attachment:
    """A file sent with an email (a slip's PDF): kept base64 in the delivery's content, attached when sent."""

    filename: str
    content_type: str
    data: bytes
    title: str  # what the email calls it

    def content(self) -> dict[str, str]:
        return {
            "attachment_name": self.filename,
            "attachment_type": self.content_type,
            "attachment_base64": base64.b64encode(self.data).decode("ascii"),
        }


def _amount(vnd: int, locale: str) -> str:
    return f"{vnd:,}".replace(",", "." if locale == "vi" else ",")


def _procedure_name(name: str, name_en: str, locale: Locale) -> str:
    """The procedure's name in the reader's language (Vietnamese when it has no English one)."""
    return name_en if locale == "en" and name_en else name


_BLANK_LINES = re.compile(r"\n{3,}")


class Composer:
    """Renders messages; built once per app (the templates are read on first use and cached)."""

    def __init__(self, *, public_base_url: str, secrets: EventSealer, sms_without_diacritics: bool = False) -> None:
        self._base = public_base_url.rstrip("/")
        self._secrets = secrets
        self._sms_ascii = sms_without_diacritics
        self._env = Environment(
            loader=PackageLoader("motcua.notification", "templates"),
            autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=True),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )

    def email_verification(self, event: EmailVerificationRequested) -> Outgoing:
        """The email with the link that confirms an address."""
        ctx = {
            "full_name": model.one_line(event.full_name),
            "verification_url": self._open(event, "verification_url", event.verification_url),
            "expires_at": model.format_moment(event.expires_at, event.locale),
        }
        return self._email("email_verification", event.locale, event.email, ctx, secret=True, expires=event.expires_at)

    def password_reset(self, event: PasswordResetRequested) -> Outgoing:
        """The email with the single-use reset link."""
        ctx = {
            "full_name": model.one_line(event.full_name),
            "reset_url": self._open(event, "reset_url", event.reset_url),
            "expires_at": model.format_moment(event.expires_at, event.locale),
        }
        return self._email("password_reset", event.locale, event.email, ctx, secret=True, expires=event.expires_at)

    def duplicate_registration(self, event: DuplicateRegistrationAttempted) -> Outgoing:
        """Tell the holder of a detail that someone tried to register with it (the 409 did not say which)."""
        if event.channel == "sms":
            local = event.attempted_at.astimezone(model.VIETNAM_TIME)
            template = self._template("duplicate_registration", event.locale, "txt")
            return self._sms(event.phone, self._block(template, "sms", {"attempted_time": f"{local:%H:%M}"}))
        ctx = {
            "full_name": model.one_line(event.full_name),
            "attempted_at": model.format_moment(event.attempted_at, event.locale),
            "reset_url": f"{self._base}/forgot-password",
        }
        return self._email("duplicate_registration", event.locale, event.email, ctx)

    def security_changed(self, event: AccountSecurityChanged) -> Outgoing:
        """Tell the owner by email that a password, email, phone or second factor changed (no secret in it)."""
        ctx = {
            "full_name": model.one_line(event.full_name),
            "changed_at": model.format_moment(event.changed_at, event.locale),
            "change_words": model.security_change_words(event.change, event.locale),
            "reset_url": f"{self._base}/forgot-password",
        }
        return self._email("account_security_changed", event.locale, event.email, ctx)

    def phone_verification(self, event: PhoneVerificationRequested) -> Outgoing:
        """The SMS with the 6-digit code."""
        local = event.expires_at.astimezone(model.VIETNAM_TIME)
        ctx = {"code": self._open(event, "code", event.code), "expires_time": f"{local:%H:%M}"}
        template = self._template("phone_verification", event.locale, "txt")
        return self._sms(event.phone, self._block(template, "sms", ctx), secret=True, expires=event.expires_at)

    def _open(self, event: Event, field_name: str, sealed: SealedText | str) -> str:
        """A secret identity sealed for us; UnreadableSecret (retried, then dead-lettered) when it does not open."""
        try:
            return self._secrets.open(sealed, purpose=purpose(event.ce_type, field_name), owner=event.subject)
        except UnreadableSecret as exc:
            log.error("event_secret_unreadable", event_type=event.ce_type, kid=exc.kid, reason=exc.reason)
            raise

    def application(
        self, event: ApplicationEvent, contact: Contact, *, slip: Attachment | None = None
    ) -> list[Outgoing]:
        """Email, SMS and in-app notification about a dossier, in the applicant's language; the slip the move
        issued, if any, attached to the email."""
        locale = contact.locale
        status = event.to_status if isinstance(event, ApplicationStatusChanged) else "submitted"
        if isinstance(event, ApplicationResultIssued):
            status = "completed"  # the result's message is the completion's (the status change sends none)
        name = _procedure_name(event.procedure_name, event.procedure_name_en, locale)
        ctx: dict[str, Any] = {
            "full_name": model.one_line(contact.full_name),
            "procedure_name": model.one_line(name),
            "tracking_code": model.one_line(event.tracking_code, 64),
            "due_date": model.format_date(event.due_date, locale),
            "status": status,
            "status_words": model.status_words(status, locale),
            "next_step": model.next_step(
                status, locale, event.from_status if isinstance(event, ApplicationStatusChanged) else None
            ),
            "application_url": f"{self._base}/applications/{quote(event.application_id, safe='')}",
            "lookup_url": f"{self._base}/lookup/{quote(event.tracking_code, safe='')}",
            "comment": "",
            "submitted_at": "",
            "slip_title": slip.title if slip else "",
        }
        if isinstance(event, ApplicationReceived):
            kind = "application_received"
            ctx["submitted_at"] = model.format_moment(event.submitted_at, locale)
        elif isinstance(event, ApologyIssued):
            kind = "application_apology"
            ctx["comment"] = model.one_line(event.reason, 1000)
            ctx["previous_due_date"] = model.format_date(event.previous_due_date, locale)
            ctx["slip_url"] = f"{ctx['application_url']}#slips"
        elif isinstance(event, ApplicationResultIssued | ResultRevoked):
            code = quote(event.verification_code, safe="")
            ctx["verification_code"] = model.one_line(event.verification_code, 64)
            ctx["verification_url"] = f"{self._base}/verify/{code}"
            ctx["result_url"] = f"{ctx['application_url']}#result"
            if isinstance(event, ApplicationResultIssued) and event.fee_due_vnd > 0:
                # a fee paid at result: the document waits for it, so neither its code nor its link is told yet
                kind = "application_result_fee_due"
                ctx["amount"] = _amount(event.fee_due_vnd, locale)
                ctx["verification_code"] = ctx["verification_url"] = ctx["result_url"] = ""
            elif isinstance(event, ApplicationResultIssued):
                kind = "application_result_issued"
            else:
                kind = "application_result_revoked"
                ctx["comment"] = model.one_line(event.reason, 1000)
        else:
            kind = "application_status_changed"
            ctx["comment"] = model.one_line(event.comment, 1000)
        text = self._template(kind, locale, "txt")
        email = self._email(kind, locale, contact.email, ctx, to_name=contact.full_name)
        if slip is not None and not email.problem:
            email = replace(email, content={**email.content, **slip.content()})
        sms = self._sms(contact.phone, self._block(text, "sms", ctx))
        in_app = self._in_app(text, contact.account_id, ctx, ctx["application_url"])
        return [email, sms, in_app]

    def deadline(self, event: ApplicationDeadlineApproaching | ApplicationOverdue, officer: Contact) -> list[Outgoing]:
        """Email and in-app notice to an officer of the agency: a dossier is due soon, or overdue."""
        locale = officer.locale
        overdue = isinstance(event, ApplicationOverdue)
        name = _procedure_name(event.procedure_name, event.procedure_name_en, locale)
        days = abs(event.working_days_left)
        ctx: dict[str, Any] = {
            "full_name": model.one_line(officer.full_name),
            "procedure_name": model.one_line(name),
            "tracking_code": model.one_line(event.tracking_code, 64),
            "due_date": model.format_date(event.due_date, locale),
            "overdue": overdue,
            "days_words": model.working_days_words(days, locale),
            "desk_url": f"{self._base}/officer/applications/{quote(event.application_id, safe='')}",
        }
        text = self._template("application_deadline", locale, "txt")
        email = self._email("application_deadline", locale, officer.email, ctx, to_name=officer.full_name)
        in_app = self._in_app(text, officer.account_id, ctx, ctx["desk_url"])
        return [email, in_app]

    def payment_receipt(self, event: PaymentCompleted, contact: Contact) -> list[Outgoing]:
        """The electronic receipt (biên lai) of a paid fee: amount, procedure, date and transaction references,
        by email and in the app."""
        locale = contact.locale
        name = _procedure_name(event.procedure_name, event.procedure_name_en, locale)
        amount = _amount(event.amount_vnd, locale)
        application_url = f"{self._base}/applications/{quote(event.application_id, safe='')}"
        ctx: dict[str, Any] = {
            "full_name": model.one_line(contact.full_name),
            "procedure_name": model.one_line(name),
            "tracking_code": model.one_line(event.tracking_code, 64),
            "agency_code": model.one_line(event.agency_code, 64),
            "amount": amount,
            "paid_at": model.format_moment(event.paid_at, locale),
            "txn_ref": model.one_line(event.txn_ref, 64),
            "transaction_no": model.one_line(event.transaction_no, 64),
            "provider": model.one_line(event.provider.upper(), 32),
            "application_url": application_url,
            # a fee paid at result: this payment released the document
            "result_url": f"{application_url}#result" if event.result_released else "",
        }
        text = self._template("payment_receipt", locale, "txt")
        email = self._email("payment_receipt", locale, contact.email, ctx, to_name=contact.full_name)
        in_app = self._in_app(text, contact.account_id, ctx, ctx["application_url"])
        return [email, in_app]

    def _in_app(self, text: Template, account_id: str, ctx: dict[str, Any], link: str) -> Outgoing:
        """The portal's notification: the template's title and body, and where it leads."""
        content = {"title": self._block(text, "title", ctx), "body": self._block(text, "body", ctx), "link": link}
        return Outgoing(channel="in_app", recipient=account_id, content=content)

    def _email(
        self,
        kind: str,
        locale: Locale,
        address: str,
        ctx: dict[str, Any],
        *,
        to_name: str = "",
        secret: bool = False,
        expires: datetime | None = None,
    ) -> Outgoing:
        text = self._template(kind, locale, "txt")
        subject = model.one_line(self._block(text, "subject", ctx), 250)
        body = _BLANK_LINES.sub("\n\n", self._block(text, "text", ctx)) + "\n"
        html = self._template(kind, locale, "html").render({**ctx, "subject": subject})
        name = model.one_line(to_name or ctx["full_name"])
        content = {"subject": subject, "text": body, "html": html, "to_name": name}
        problem = "" if model.usable_email(address) else "the email address cannot be used"
        return Outgoing("email", address, content, secret=secret, expires_at=expires, problem=problem)

    def _sms(self, phone: str, text: str, *, secret: bool = False, expires: datetime | None = None) -> Outgoing:
        number = model.international_phone(phone)
        if self._sms_ascii:
            text = model.without_diacritics(text)
        problem = "" if number else "the phone number cannot be used"
        return Outgoing("sms", number or phone, {"text": text}, secret=secret, expires_at=expires, problem=problem)

    def _template(self, kind: str, locale: Locale, ext: str) -> Template:
        return self._env.get_template(f"{locale}/{kind}.{ext}")

    @staticmethod
    def _block(template: Template, name: str, ctx: dict[str, Any]) -> str:
        return "".join(template.blocks[name](template.new_context(ctx))).strip()
