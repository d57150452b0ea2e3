"""The officers of each agency: who sets an officer's desk roles (an admin, or an approver — the agency's lead — of
that officer's agency), and the directory entry the change publishes."""

from __future__ import annotations

import structlog
from motcua.common import mongo
from motcua.common.auth import Principal
from motcua.common.clock import now
from motcua.common.contracts.identity import AgencyRole
from motcua.common.errors import Forbidden
from motcua.identity import events, sessions
from motcua.identity.deps import Identity
from motcua.identity.model import Account, AccountNotFound, CannotDisableSelf
from motcua.identity.store import account_of

log = structlog.get_logger(__name__)


class NotTheAgencysLead(Forbidden):
    title = "Not the agency's lead"


def may_set_roles(who: Principal, officer: Account) -> bool:
    """An admin; or an officer of the same agency holding `approver` (403 for other roles of that agency)."""
    if who.has("admin"):
        return True
    if not (who.has("officer") and who.agency == officer.agency_code):
        raise AccountNotFound()  # another agency's officer does not exist for them
    return "approver" in who.agency_roles


async def _lead_or_admin(idn: Identity, officer_id: str, by: Principal, what: str) -> None:
    found = await idn.store.account(officer_id)
    if found is None or found.get("account_type") != "officer":
        raise AccountNotFound()
    if not may_set_roles(by, account_of(found)):
        raise NotTheAgencysLead(f"Only an admin or an approver of the officer's agency {what}.")


async def set_roles(
    idn: Identity, officer_id: str, roles: list[AgencyRole], *, by: Principal, request_id: str | None
) -> Account:
    """The officer's desk roles become `roles`: the directory is told, and their sessions end, so no access
    token carries a role taken away (they sign in again)."""
    await _lead_or_admin(idn, officer_id, by, "sets an officer's roles")
    at = now()

    async def work(session: mongo.Session) -> Account:
        doc = await idn.store.set_agency_roles(officer_id, list(roles), session)
        assert doc is not None
        account = account_of(doc)
        await idn.outbox.add(session, [events.officer_profile(account, at)], request_id=request_id)
        await sessions.end_all(idn, session, officer_id, reason="roles_changed", now=at, request_id=request_id)
        return account

    account = await idn.write(work)
    log.info("officer_roles_set", account_id=officer_id, roles=list(roles), by=by.sub)
    return account


async def of_agency(idn: Identity, agency_code: str | None, *, skip: int, limit: int) -> tuple[list[Account], int]:
    docs, total = await idn.store.officers(agency_code, skip=skip, limit=limit)
    return [account_of(d) for d in docs], total


async def set_enabled(
    idn: Identity, officer_id: str, enabled: bool, *, by: Principal, request_id: str | None
) -> Account:
    """Take an officer off the desk (`enabled=False`) or back on. Disabled: they cannot sign in, their sessions
    end at once (every service refuses their access tokens), and the directory says `active: false`, so nobody
    assigns them a dossier and no notice is sent to them. Their past actions stay in the dossiers' history.
    Nobody disables themself (409): another admin or lead must, so an agency is never left without one by
    mistake. Repeating the same change is answered with the account as it is, and publishes nothing."""
    await _lead_or_admin(idn, officer_id, by, "disables or enables an officer")
    if not enabled and officer_id == by.sub:
        raise CannotDisableSelf()
    at = now()

    async def work(session: mongo.Session) -> Account:
        before, doc = await idn.store.set_officer_status(officer_id, "active" if enabled else "disabled", at, session)
        assert doc is not None
        account = account_of(doc)
        if before == account.status:
            return account
        await idn.outbox.add(session, [events.officer_profile(account, at)], request_id=request_id)
        if not enabled:
            await sessions.end_all(idn, session, officer_id, reason="disabled", now=at, request_id=request_id)
        return account

    account = await idn.write(work)
    log.info("officer_enabled" if enabled else "officer_disabled", account_id=officer_id, by=by.sub)
    return account
