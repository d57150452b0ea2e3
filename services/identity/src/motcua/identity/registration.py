"""Creating accounts: citizens register themselves, the admin creates officers, the first admin comes from env."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta
from typing import Any, Literal

import structlog
from motcua.common import mongo
from motcua.common.contracts.identity import AgencyRole
from motcua.common.errors import TooManyRequests
from motcua.identity import events, passwords, verification
from motcua.identity.deps import Identity
from motcua.identity.details import normalise_email, validate_registration
from motcua.identity.limits import client_network
from motcua.identity.model import (
    AGENCY_ROLES,
    Account,
    AccountType,
    AlreadyRegistered,
    Locale,
    Registration,
)
from motcua.identity.store import account_of, duplicated_field
from pymongo.errors import DuplicateKeyError

log = structlog.get_logger(__name__)

# The owner of a detail someone tried to register with is told at most once in this window.
NOTICE_WINDOW = timedelta(hours=1)


def _account_doc(registration: Registration, password_hash: str, now: datetime, *, verified: bool) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "_id": str(uuid.uuid4()),
        "account_type": registration.account_type,
        "status": "active" if verified else "pending_verification",
        "full_name": registration.full_name,
        "email": registration.email,
        "phone": registration.phone,
        "locale": registration.locale,
        "password_hash": password_hash,
        "password_changed_at": now,
        "created_at": now,
        "updated_at": now,
        "email_verified_at": now if verified else None,
        "phone_verified_at": now if verified else None,
    }
    if verified:
        doc["activated_at"] = now
    for name in ("national_id", "tax_code", "organisation_name", "agency_code"):
        if getattr(registration, name) is not None:
            doc[name] = getattr(registration, name)
    return doc


async def limit_per_address(idn: Identity, action: str, address: str, per_hour: int) -> None:
    """Refuse the caller's address (an IPv6 /64 as one) once it did `action` `per_hour` times this hour."""
    now = idn.now()
    count, window_ends = await idn.store.hit(f"{action}:{client_network(address)}", now, timedelta(hours=1))
    if count > per_hour:
        wait = max(1, int((window_ends - now).total_seconds()))
        raise TooManyRequests(f"Too many requests from your network; try again in {wait} second(s).", retry_after=wait)


async def _refuse_taken(idn: Identity, registration: Registration, request_id: str | None) -> None:
    """409 without saying which detail is taken; each holder is told instead, at most once an hour."""
    holders = await idn.store.holders(
        email=registration.email, phone=registration.phone, national_id=registration.national_id
    )
    if not holders:
        return
    now = idn.now()
    notices = []
    for doc, held in holders:
        told, _ = await idn.store.hit(f"duplicate-notice:{doc['_id']}", now, NOTICE_WINDOW)
        if told == 1:
            channel: Literal["email", "sms"] = "sms" if held == ["phone"] else "email"
            notices.append(events.duplicate_registration(account_of(doc), channel, now))
    if notices:

        async def work(session: mongo.Session) -> None:
            await idn.outbox.add(session, notices, request_id=request_id)

        await idn.write(work)
        log.info("duplicate_registration_told", account_ids=[n.account_id for n in notices])
    raise AlreadyRegistered()


async def _insert(
    idn: Identity, doc: dict[str, Any], staged: list[Any], request_id: str | None, *, say_which: bool = False
) -> None:
    async def work(session: mongo.Session) -> None:
        await idn.store.insert_account(doc, session)
        await idn.outbox.add(session, staged, request_id=request_id)

    try:
        await idn.write(work)
    except DuplicateKeyError as exc:  # another registration with the same details won the race
        raise AlreadyRegistered([duplicated_field(exc) or "email"] if say_which else None) from exc


async def register(
    idn: Identity,
    *,
    account_type: AccountType,
    full_name: str,
    email: str,
    phone: str,
    password: str,
    locale: Locale,
    national_id: str | None,
    tax_code: str | None,
    organisation_name: str | None,
    address: str,
    request_id: str | None,
) -> Account:
    """Register a pending account; its email link and SMS code go out with AccountRegistered. Every valid
    attempt counts against the caller's address before any detail is looked up."""
    registration = await asyncio.to_thread(  # zxcvbn is pure Python: keep the event loop free
        validate_registration,
        account_type=account_type,
        full_name=full_name,
        email=email,
        phone=phone,
        password=password,
        locale=locale,
        national_id=national_id,
        tax_code=tax_code,
        organisation_name=organisation_name,
        min_score=idn.settings.identity_password_min_score,
    )
    await limit_per_address(idn, "register", address, idn.settings.identity_registrations_per_ip_per_hour)
    await _refuse_taken(idn, registration, request_id)
    now = idn.now()
    doc = _account_doc(registration, await idn.hasher.hash(password), now, verified=False)
    doc["pending_expires_at"] = now + timedelta(days=idn.settings.identity_pending_account_ttl_days)
    account = account_of(doc)
    doc["email_check"], link = verification.email_check(idn, account, now, sent=[now])
    doc["phone_check"], sms = verification.phone_check(idn, account, now, sent=[now])
    await _insert(idn, doc, [events.registered(account), link, sms], request_id)
    log.info("account_registered", account_id=account.id, account_type=account.account_type)
    return account


async def create_officer(
    idn: Identity,
    *,
    full_name: str,
    email: str,
    phone: str,
    password: str,
    agency_code: str,
    agency_roles: tuple[AgencyRole, ...] = AGENCY_ROLES,
    admin_id: str,
    request_id: str | None,
) -> Account:
    """An officer of one agency with their roles there, active at once: the admin vouches for the email
    and phone."""
    registration = await asyncio.to_thread(
        validate_registration,
        account_type="officer",
        full_name=full_name,
        email=email,
        phone=phone,
        password=password,
        agency_code=agency_code,
        min_score=idn.settings.identity_password_min_score,
    )
    held = [
        field
        for _, fields in await idn.store.holders(email=registration.email, phone=registration.phone, national_id=None)
        for field in fields
    ]
    if held:  # the admin is told which
        raise AlreadyRegistered(sorted(set(held)))
    doc = _account_doc(registration, await idn.hasher.hash(password), idn.now(), verified=True)
    doc["created_by"] = admin_id
    doc["agency_roles"] = list(agency_roles)
    account = account_of(doc)
    await _insert(
        idn,
        doc,
        [events.registered(account), events.activated(account), events.officer_profile(account, account.created_at)],
        request_id,
        say_which=True,
    )
    log.info("officer_created", account_id=account.id, agency=account.agency_code, admin_id=admin_id)
    return account


async def ensure_bootstrap_admin(idn: Identity) -> None:
    """Create the first admin from IDENTITY_BOOTSTRAP_ADMIN_* when no admin exists (no events: no phone)."""
    settings = idn.settings
    password = settings.identity_bootstrap_admin_password.get_secret_value()
    if not settings.identity_bootstrap_admin_email or not password or await idn.store.admin_exists():
        return
    try:
        email = normalise_email(settings.identity_bootstrap_admin_email)
    except ValueError as exc:
        log.error("bootstrap_admin_refused", reason=f"IDENTITY_BOOTSTRAP_ADMIN_EMAIL {exc}")
        return
    weak = passwords.weakness(
        password, personal=[email, email.split("@")[0]], min_score=settings.identity_password_min_score
    )
    if weak is not None:
        log.error("bootstrap_admin_refused", reason=f"IDENTITY_BOOTSTRAP_ADMIN_PASSWORD {weak}")
        return
    admin = Registration(account_type="admin", full_name="Administrator", email=email, phone="")
    doc = _account_doc(admin, await idn.hasher.hash(password), idn.now(), verified=True)
    doc["phone"] = None
    try:
        await idn.store.insert_account(doc)
    except DuplicateKeyError:
        log.warning("bootstrap_admin_not_created", reason="the email belongs to another account, or a replica made it")
        return
    log.info("bootstrap_admin_created", account_id=doc["_id"])
