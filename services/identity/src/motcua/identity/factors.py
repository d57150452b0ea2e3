"""Taking a second factor away (the authenticator app, or one passkey) and replacing the recovery codes.

The routes ask for the password first (`enrolment.confirm_password`). Officers and admins keep at least one
factor while the staff rule is on; when a citizen removes their last one, the recovery codes go with it.
"""

from __future__ import annotations

import structlog
from motcua.common import mongo
from motcua.common.errors import NotFound
from motcua.identity import codes, events
from motcua.identity.deps import Identity
from motcua.identity.model import Account, LastSecondFactor, TwoFactorState

log = structlog.get_logger(__name__)


def _staff_rule(idn: Identity) -> bool:
    return idn.settings.identity_staff_second_factor_required


async def remove_totp(idn: Identity, account: Account) -> None:
    """The authenticator app no longer signs this account in."""
    if not account.totp_enabled:
        raise TwoFactorState("No authenticator app is set up for this account.")
    if not account.may_drop_a_factor(staff_rule=_staff_rule(idn)):
        raise LastSecondFactor()
    now = idn.now()

    async def work(session: mongo.Session) -> bool:
        if not await idn.factors.remove_totp(account.id, keep_recovery=account.passkeys > 0, now=now, session=session):
            return False
        await idn.outbox.add(session, [events.security_changed(account, "two_factor_disabled", now)])
        return True

    if not await idn.write(work):
        raise TwoFactorState("The authenticator app was removed meanwhile.")
    log.info("two_factor_disabled", account_id=account.id)


async def remove_passkey(idn: Identity, account: Account, passkey_id: str) -> None:
    """One passkey of this account no longer signs it in."""
    if not account.may_drop_a_factor(staff_rule=_staff_rule(idn)):
        raise LastSecondFactor()
    now = idn.now()

    async def work(session: mongo.Session) -> bool:
        if not await idn.factors.remove_passkey(account.id, passkey_id, now, session):
            return False
        await idn.factors.drop_recovery(account.id, now, session)
        await idn.outbox.add(session, [events.security_changed(account, "passkey_removed", now)])
        return True

    if not await idn.write(work):
        raise NotFound("No passkey of yours has this id.")
    log.info("passkey_removed", account_id=account.id, passkey_id=passkey_id)


async def new_recovery_codes(idn: Identity, account: Account) -> list[str]:
    """Ten fresh recovery codes (shown this once); the previous ones stop working."""
    if not account.mfa_enabled:
        raise TwoFactorState("Recovery codes come with a second factor: set one up first.")
    recovery = codes.new_recovery_codes()
    now = idn.now()

    async def work(session: mongo.Session) -> None:
        await idn.factors.replace_recovery(account.id, [codes.recovery_digest(c) for c in recovery], now, session)
        await idn.outbox.add(session, [events.security_changed(account, "recovery_codes_regenerated", now)])

    await idn.write(work)
    log.info("recovery_codes_regenerated", account_id=account.id)
    return recovery
