"""The escalation check: in one replica at a time (a lease), every few minutes, the dossiers whose notice day has
come get their notice — ApplicationDeadlineApproaching at three quarters of their time, ApplicationOverdue the day
after their due date — each once per due date, written with the event in one transaction."""

from __future__ import annotations

import asyncio
from datetime import date, datetime

import structlog
from motcua.common import mongo
from motcua.common.clock import now
from motcua.common.lease import Lease
from motcua.submission import due_dates, escalation, events
from motcua.submission.deps import Submission
from motcua.submission.model import Application
from motcua.submission.workflow import OPEN
from pymongo.errors import PyMongoError

log = structlog.get_logger(__name__)

LEASES = "leases"
BATCH = 200


async def check(submission: Submission, at: datetime) -> int:
    """Give every notice due at `at`; returns how many were given. A dossier no longer open, or awaiting its
    supplement, only loses its pending notice. Batch after batch, while full ones are being written (a batch
    that all moved meanwhile is left to the next round, rather than read again at once)."""
    today = due_dates.local_day(at)
    given = 0
    while True:
        due = await submission.store.notices_due(today, BATCH)
        outcomes = [await _notify(submission, app, today, at) for app in due]
        given += sum(announced for _, announced in outcomes)
        if len(due) < BATCH or not any(written for written, _ in outcomes):
            break
    if given:
        submission.outbox.notify()
    return given


async def _notify(submission: Submission, app: Application, today: date, at: datetime) -> tuple[bool, bool]:
    """The dossier's notice given (or dropped): whether it was written, and whether an event announced it."""
    store, outbox = submission.store, submission.outbox
    notice = escalation.notice_today(app.next_notice, app.next_notice_on, app.due_date, today)
    if notice is not None and app.status in OPEN and not app.paused:
        after, announcement = app.noticed(notice), events.deadline(app, notice, at)
    else:  # closed, or awaiting its supplement: nothing to tell
        after, announcement = app.model_copy(update={"next_notice": None, "next_notice_on": None}), None

    async def work(session: mongo.Session) -> bool:
        if not await store.save_notice(session, app, after):
            return False  # moved meanwhile: its next round decides again
        if announcement is not None:
            await outbox.add(session, [announcement], request_id=None)
        return True

    written = await mongo.in_transaction(store.client, work)
    if written and announcement is not None:
        log.info("deadline_notice", application_id=app.id, notice=notice, due_date=str(app.due_date))
    return written, written and announcement is not None


async def keep_checking(submission: Submission, *, every: float) -> None:
    """For the life of the service: hold the lease, check, wait; database trouble waits for the next round."""
    lease = Lease(submission.store.db[LEASES], "escalation", seconds=max(every * 3, 30.0))
    try:
        while True:
            try:
                if await lease.hold():
                    await check(submission, now())
            except PyMongoError as exc:
                log.warning("escalation_check_failed", error=str(exc))
            await asyncio.sleep(every)
    finally:
        await lease.release()
