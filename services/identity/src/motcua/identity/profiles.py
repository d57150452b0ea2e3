"""Every active applicant's profile on the profile topic, which submission copies into each dossier filed.

An account's profile is published at its activation (verification.py), in the activation's transaction,
which marks it `profile_published_at`. Accounts activated before profiles existed are published once, in the
background, on the first start after the upgrade: in batches by account id, each batch marked and its events
staged in one transaction, then the pass is recorded as done so later starts skip it. Two replicas running it
together may publish an account twice: the same profile, which submission keeps once (latest `changed_at`).
"""

from __future__ import annotations

import structlog
from motcua.common import mongo
from motcua.identity import events
from motcua.identity.deps import Identity
from motcua.identity.model import Account
from motcua.identity.store import account_of

log = structlog.get_logger(__name__)

BATCH = 200
PASS = "applicant-profiles-v1"


async def publish_missing(idn: Identity) -> int:
    """Publish the profile of each active applicant not yet published; how many were published."""
    if await idn.store.pass_done(PASS):
        return 0
    after, count = "", 0
    while batch := await idn.store.unpublished_profiles(after, BATCH):
        after = batch[-1]["_id"]
        count += await _publish(idn, [account_of(doc) for doc in batch])
    await idn.store.mark_pass_done(PASS, idn.now())
    log.info("applicant_profiles_published", count=count)
    return count


async def _publish(idn: Identity, accounts: list[Account]) -> int:
    """One batch: marked published and its profiles staged in one transaction."""
    at = idn.now()
    told = [p for a in accounts if (p := events.applicant_profile(a, at)) is not None]

    async def work(session: mongo.Session) -> None:
        await idn.store.mark_profiles_published([a.id for a in accounts], at, session)
        await idn.outbox.add(session, told, request_id=None)

    await idn.write(work)
    return len(told)
