"""Paying a dossier's fee: start a payment, take the provider's IPN once, refund after a withdrawal or refusal,
settle by transaction query what no IPN settled. Each write is one transaction (state + outbox); no network
call to the provider happens inside one."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from typing import Any

import structlog
from motcua.common import counters, mongo
from motcua.common.auth import Principal
from motcua.common.clock import now
from motcua.common.contracts.submission import PaymentCompleted, PaymentFailed, PaymentRefunded
from motcua.common.errors import TooManyRequests
from motcua.submission import applications, events, vnpay
from motcua.submission.deps import Submission
from motcua.submission.model import Application
from motcua.submission.payment_store import PaymentStore
from motcua.submission.payments import (
    Checkout,
    NothingToPay,
    PaymentProvider,
    PaymentStatus,
    Settlement,
    Verdict,
    check_payable,
    judge_notice,
)
from motcua.submission.reconciliation import Line, reconcile
from motcua.submission.vnpay_provider import VnpayProvider

log = structlog.get_logger(__name__)

BAD_SIGNATURES_PER_MINUTE = 30
RECONCILIATION_LIMIT = 2000  # attempts in one day's report


def provider_of(submission: Submission) -> VnpayProvider | None:
    settings = submission.settings
    if not settings.vnpay_hash_secret:
        return None
    terminal = vnpay.Terminal(settings.vnpay_tmn_code, settings.vnpay_hash_secret, settings.payment_provider_url)
    return VnpayProvider(terminal)


async def _spend(submission: Submission, scope: str, who: str, limit: int, seconds: int) -> None:
    digest = hashlib.sha256(f"{scope}:{who}".encode()).hexdigest()[:32]
    at = now()
    count, window = await counters.count(
        submission.store.rate_limits, f"{scope}:{digest}", now=at, seconds=seconds, keep=timedelta(seconds=60)
    )
    if count > limit:
        wait = int((window.ends - at).total_seconds()) + 1
        raise TooManyRequests(f"Too many requests; try again in {wait} seconds.", retry_after=wait)


async def start(
    submission: Submission, application_id: str, who: Principal, ip: str, *, request_id: str | None
) -> tuple[Application, str]:
    """The owner starts paying: the dossier becomes `pending` and the provider's checkout address is returned;
    while pending, the same attempt's address is handed back."""
    settings = submission.settings
    app = await applications.owned(submission.store, application_id, who)
    check_payable(app.payment_status, app.status.value)
    provider = provider_of(submission)
    if provider is None:
        raise NothingToPay("Online payment is not configured here; pay the fee at the agency's desk.")
    payments = PaymentStore(submission.store.db)
    if app.payment_status == PaymentStatus.PENDING:
        found = await payments.pending_of(app.id)
        if found is not None:
            return app, str(found["checkout_url"])
    await _spend(submission, "payment", who.sub, settings.payment_start_limit, settings.payment_start_window_seconds)
    at = now()
    txn_ref = uuid.uuid4().hex[:20].upper()
    checkout = Checkout(
        txn_ref=txn_ref,
        amount_vnd=app.fee_vnd,
        order_info=f"Le phi ho so {app.tracking_code}",
        return_url=settings.vnpay_return_url,
        ip_addr=ip,
        created_at=at,
    )
    url = provider.checkout_url(checkout)

    async def work(session: mongo.Session) -> None:
        moved = await payments.move_application(
            session, app.id, [PaymentStatus.DUE, PaymentStatus.FAILED], PaymentStatus.PENDING, at
        )
        if not moved:
            raise applications.ChangedMeanwhile("The dossier's payment changed meanwhile; read it again.")
        await payments.insert(
            session,
            {
                "_id": txn_ref,
                "application_id": app.id,
                "agency_code": app.agency_code,
                "amount_vnd": app.fee_vnd,
                "provider": provider.name,
                "status": PaymentStatus.PENDING.value,
                "checkout_url": url,
                "created_at": at,
            },
        )

    await mongo.in_transaction(submission.store.client, work)
    log.info("payment_started", application_id=app.id, txn_ref=txn_ref, amount_vnd=app.fee_vnd)
    return app.model_copy(update={"payment_status": PaymentStatus.PENDING}), url


def _event_fields(app: Application, record: Mapping[str, Any]) -> dict[str, Any]:
    return {
        **events.common_fields(app),
        "amount_vnd": record["amount_vnd"],
        "provider": record["provider"],
        "txn_ref": record["_id"],
        "transaction_no": record.get("transaction_no", ""),
    }


async def _settle(
    submission: Submission,
    txn_ref: str,
    settles_to: PaymentStatus,
    fields: dict[str, Any],
    *,
    request_id: str | None,
) -> bool:
    """Move a pending attempt and its dossier to paid or failed, with its event, once."""
    payments = PaymentStore(submission.store.db)
    at = now()

    async def work(session: mongo.Session) -> bool:
        record = await payments.settle(session, txn_ref, "pending", settles_to.value, {**fields, "settled_at": at})
        if record is None:
            return False  # settled meanwhile by another notice or the query
        await payments.move_application(session, record["application_id"], [PaymentStatus.PENDING], settles_to, at)
        app = await submission.store.get(record["application_id"], session=session)
        assert app is not None
        event: PaymentCompleted | PaymentFailed
        if settles_to == PaymentStatus.PAID:
            event = PaymentCompleted(**_event_fields(app, record), paid_at=at, bank_code=fields.get("bank_code", ""))
        else:
            event = PaymentFailed(
                **_event_fields(app, record), failed_at=at, response_code=fields.get("response_code", "")
            )
        await submission.outbox.add(session, [event], request_id=request_id)
        if settles_to == PaymentStatus.PAID and app.status.value in ("withdrawn", "rejected"):
            # paid after the dossier was withdrawn or refused (while pending): the fee goes back at once
            await payments.settle(session, txn_ref, "paid", "refunding", {"refund_requested_at": at})
            await payments.move_application(session, app.id, [PaymentStatus.PAID], PaymentStatus.REFUNDED, at)
            late.append(record)
        return True

    late: list[dict[str, Any]] = []
    done = await mongo.in_transaction(submission.store.client, work)
    submission.outbox.notify()
    for record in late[-1:]:
        await _refund(submission, {**record, "status": "refunding"}, request_id=request_id)
    return bool(done)


async def ipn(submission: Submission, params: Mapping[str, str], ip: str, *, request_id: str | None) -> Verdict:
    """The provider's server-to-server notice, verified (signature, order, amount and currency) and taken once:
    a duplicate or replay answers 02 and changes nothing."""
    secret = submission.settings.vnpay_hash_secret
    signature_ok = bool(secret) and vnpay.verify_query(params, secret)
    notice = vnpay.read_notice(params)
    if not signature_ok:
        await _spend(submission, "payment-signature", ip, BAD_SIGNATURES_PER_MINUTE, 60)
        log.warning("payment_ipn_refused", txn_ref=notice.txn_ref[:40], rsp_code="97", reason="invalid signature")
        return Verdict("97", reason="invalid signature")
    record = await PaymentStore(submission.store.db).get(notice.txn_ref)
    verdict = judge_notice(
        signature_ok=True,
        order_status=None
        if record is None
        else PaymentStatus.PENDING
        if record["status"] == "pending"
        else PaymentStatus.PAID,  # any settled attempt is "already confirmed"
        order_amount_vnd=record["amount_vnd"] if record else None,
        notice_amount_vnd=notice.amount_vnd,
        currency_ok=notice.currency_ok,
        succeeded=notice.succeeded,
    )
    if verdict.settles_to is not None:
        fields = {
            "transaction_no": notice.transaction_no,
            "bank_code": notice.bank_code,
            "pay_date": notice.pay_date,
            "response_code": notice.response_code,
        }
        if not await _settle(submission, notice.txn_ref, verdict.settles_to, fields, request_id=request_id):
            verdict = Verdict("02", reason="already confirmed")
    if verdict.code in ("04", "01"):
        log.warning("payment_ipn_refused", txn_ref=notice.txn_ref[:40], rsp_code=verdict.code, reason=verdict.reason)
    else:
        log.info("payment_ipn", txn_ref=notice.txn_ref, rsp_code=verdict.code, settles_to=verdict.settles_to)
    return verdict


async def returned(submission: Submission, params: Mapping[str, str]) -> tuple[str | None, bool]:
    """The browser back from the provider: which dossier, and whether the query is genuinely signed. Only the
    IPN (or the query) settles a payment; this only shows the citizen where they are."""
    secret = submission.settings.vnpay_hash_secret
    valid = bool(secret) and vnpay.verify_query(params, secret)
    if not valid:
        return None, False
    record = await PaymentStore(submission.store.db).get(params.get("vnp_TxnRef", ""))
    return (str(record["application_id"]) if record else None), True


async def mark_refund(session: mongo.Session, submission: Submission, before: Application, after: Application) -> None:
    """Inside a withdrawal or refusal's transaction: the paid attempt is to be refunded."""
    if before.payment_status == after.payment_status or after.payment_status != PaymentStatus.REFUNDED:
        return
    payments = PaymentStore(submission.store.db)
    record = await payments.paid_of(after.id, session=session)
    if record is not None:
        await payments.settle(session, record["_id"], "paid", "refunding", {"refund_requested_at": now()})


async def refund_if_due(submission: Submission, app: Application, *, request_id: str | None) -> None:
    """After the transaction: ask the provider for the refund, then record it and tell (PaymentRefunded)."""
    if app.payment_status != PaymentStatus.REFUNDED:
        return
    payments = PaymentStore(submission.store.db)
    found = await payments.payments.find_one({"application_id": app.id, "status": "refunding"})
    if found is not None:
        await _refund(submission, found, request_id=request_id)


async def _refund(submission: Submission, record: dict[str, Any], *, request_id: str | None) -> None:
    provider: PaymentProvider | None = provider_of(submission)
    refunded = False
    if provider is not None:
        refunded = await provider.refund(
            record["_id"], record["amount_vnd"], record.get("transaction_no", ""), record["created_at"], "motcua"
        )
    payments = PaymentStore(submission.store.db)
    at = now()

    async def work(session: mongo.Session) -> None:
        done = await payments.settle(
            session, record["_id"], "refunding", "refunded", {"refunded_at": at, "provider_refunded": refunded}
        )
        if done is None:
            return
        app = await submission.store.get(record["application_id"], session=session)
        assert app is not None
        event = PaymentRefunded(**_event_fields(app, done), refunded_at=at, provider_refunded=refunded)
        await submission.outbox.add(session, [event], request_id=request_id)

    await mongo.in_transaction(submission.store.client, work)
    submission.outbox.notify()
    log.info("payment_refunded", application_id=record["application_id"], txn_ref=record["_id"], by_provider=refunded)


async def settle_by_query(submission: Submission, older_than: datetime) -> int:
    """Pending attempts no IPN settled: asked of the provider (querydr), settled as it answers. Also finishes
    refunds a crash interrupted."""
    provider = provider_of(submission)
    if provider is None:
        return 0
    payments = PaymentStore(submission.store.db)
    settled = 0
    for record in await payments.stale_pending(older_than):
        answer = await provider.query(record["_id"], record["created_at"])
        if not answer.found or not answer.final:
            continue
        to = PaymentStatus.PAID if answer.succeeded else PaymentStatus.FAILED
        fields = {"transaction_no": answer.transaction_no, "settled_by": "querydr"}
        if await _settle(submission, record["_id"], to, fields, request_id=None):
            settled += 1
            log.info("payment_settled_by_query", txn_ref=record["_id"], status=to.value)
    for record in await payments.stuck_refunds():
        await _refund(submission, record, request_id=None)
    return settled


async def keep_settling(submission: Submission, *, every: float, after: float) -> None:
    while True:
        await asyncio.sleep(every)
        try:
            await settle_by_query(submission, now() - timedelta(seconds=after))
        except Exception:  # the next round tries again; a payment is never lost by skipping one
            log.exception("payment_query_round_failed")


async def reconciliation(submission: Submission, agency_code: str, day: date) -> list[Line]:
    """The agency's payment attempts started on `day` (Vietnam time), each asked of the provider (querydr)."""
    start = datetime.combine(day, time(0), tzinfo=vnpay.VIETNAM)
    payments = PaymentStore(submission.store.db)
    cursor = payments.payments.find(
        {"agency_code": agency_code, "created_at": {"$gte": start, "$lt": start + timedelta(days=1)}}
    ).sort("created_at", 1)
    attempts = [doc async for doc in cursor.limit(RECONCILIATION_LIMIT)]
    ids = sorted({str(a["application_id"]) for a in attempts})
    dossiers = {
        str(d["_id"]): str(d.get("payment_status", "not_required"))
        async for d in payments.applications.find({"_id": {"$in": ids}}, {"payment_status": 1})
    }
    provider = provider_of(submission)
    answers: dict[str, Settlement | None] = {}
    for a in attempts:
        answers[a["_id"]] = await provider.query(a["_id"], a["created_at"]) if provider else None
    return reconcile(attempts, dossiers, answers)
