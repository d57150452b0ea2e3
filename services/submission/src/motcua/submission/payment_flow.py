"""Paying a dossier's fee: start a payment, take the provider's IPN once, refund after a withdrawal or refusal,
settle by transaction query what no IPN settled, give up an attempt left unfinished past its expiry. Each write
is one transaction (state + outbox); no network call to the provider happens inside one."""

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
from motcua.common.errors import Conflict, TooManyRequests
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
    attempt_expired,
    check_payable,
    judge_notice,
)
from motcua.submission.reconciliation import Line, reconcile
from motcua.submission.vnpay_provider import VnpayProvider

log = structlog.get_logger(__name__)

BAD_SIGNATURES_PER_MINUTE = 30
RECONCILIATION_LIMIT = 2000  # attempts in one day's report


EXPIRED = "expired"  # an attempt given up unpaid past its vnp_ExpireDate (the dossier's fee is due again)
LEGACY_ATTEMPT = timedelta(minutes=15)  # attempts recorded without expires_at had vnp_ExpireDate 15 minutes on


def _secret(submission: Submission) -> str:
    return submission.settings.vnpay_hash_secret.get_secret_value()


def provider_of(submission: Submission) -> VnpayProvider | None:
    settings = submission.settings
    secret = _secret(submission)
    if not secret:
        return None
    terminal = vnpay.Terminal(settings.vnpay_tmn_code, secret, settings.vnpay_pay_page, settings.vnpay_api)
    return VnpayProvider(terminal)


def _expires_at(record: Mapping[str, Any]) -> datetime:
    found = record.get("expires_at")
    return found if isinstance(found, datetime) else record["created_at"] + LEGACY_ATTEMPT


class PaymentUnconfirmed(Conflict):
    title = "Payment not confirmed yet"


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
        if found is not None and now() < _expires_at(found):
            return app, str(found["checkout_url"])
        if found is not None:  # its page takes no payment any more: settle it, then start afresh
            outcome = await _settle_one(submission, provider, found, give_up=True)
            if outcome is None:
                raise PaymentUnconfirmed(
                    "The payment gateway has not confirmed your last payment yet; try again in a few minutes."
                )
            app = await applications.owned(submission.store, application_id, who)
            check_payable(app.payment_status, app.status.value)
    await _spend(submission, "payment", who.sub, settings.payment_start_limit, settings.payment_start_window_seconds)
    at = now()
    txn_ref = uuid.uuid4().hex[:20].upper()
    # whole seconds, as vnp_ExpireDate says it: the provider and this record agree on the same instant
    expires_at = (at + timedelta(minutes=settings.payment_attempt_minutes)).replace(microsecond=0)
    checkout = Checkout(
        txn_ref=txn_ref,
        amount_vnd=app.fee_vnd,
        order_info=f"Le phi ho so {app.tracking_code}",
        return_url=settings.vnpay_return_url,
        ip_addr=ip,
        created_at=at,
        expires_at=expires_at,
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
                "expires_at": expires_at,
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
    """Move an attempt and its dossier to paid or failed, with its event, once. Paid also settles an attempt
    given up as expired (the money came late). Money the dossier no longer owes (withdrawn or refused meanwhile,
    or paid by another attempt) is refunded at once."""
    payments = PaymentStore(submission.store.db)
    at = now()
    frm = ["pending", EXPIRED] if settles_to == PaymentStatus.PAID else ["pending"]

    async def work(session: mongo.Session) -> bool:
        late.clear()  # a retried transaction decides afresh
        record = await payments.settle(session, txn_ref, frm, settles_to.value, {**fields, "settled_at": at})
        if record is None:
            return False  # settled meanwhile by another notice or the query
        owed = [PaymentStatus.PENDING, PaymentStatus.DUE, PaymentStatus.FAILED]
        sources = owed if settles_to == PaymentStatus.PAID else [PaymentStatus.PENDING]
        moved = await payments.move_application(session, record["application_id"], sources, settles_to, at)
        app = await submission.store.get(record["application_id"], session=session)
        assert app is not None
        event: PaymentCompleted | PaymentFailed
        if settles_to == PaymentStatus.PAID:
            released = moved and app.result is not None  # a fee paid at result: the document is theirs now
            event = PaymentCompleted(
                **_event_fields(app, record),
                paid_at=at,
                bank_code=fields.get("bank_code", ""),
                result_released=released,
            )
        else:
            event = PaymentFailed(
                **_event_fields(app, record), failed_at=at, response_code=fields.get("response_code", "")
            )
        await submission.outbox.add(session, [event], request_id=request_id)
        if settles_to == PaymentStatus.PAID and (not moved or app.status.value in ("withdrawn", "rejected")):
            # paid after the dossier was withdrawn or refused (while pending), or twice: the fee goes back at once
            reason = "withdrawn_or_refused" if moved else "not_owed"  # not_owed: the dossier's own payment stands
            await payments.settle(
                session, txn_ref, "paid", "refunding", {"refund_requested_at": at, "refund_reason": reason}
            )
            log.warning("payment_refunded_at_once", application_id=app.id, txn_ref=txn_ref, reason=reason)
            if moved:
                await payments.move_application(session, app.id, [PaymentStatus.PAID], PaymentStatus.REFUNDED, at)
            late.append(record)
        return True

    late: list[dict[str, Any]] = []
    done = await mongo.in_transaction(submission.store.client, work)
    submission.outbox.notify()
    for record in late:
        await _refund(submission, {**record, "status": "refunding"}, request_id=request_id)
    return bool(done)


async def _expire(submission: Submission, record: Mapping[str, Any], response_code: str) -> bool:
    """Give up an attempt the provider says was never paid, past its expiry: the fee is due again (once)."""
    payments = PaymentStore(submission.store.db)
    at = now()

    async def work(session: mongo.Session) -> bool:
        done = await payments.settle(
            session, record["_id"], "pending", EXPIRED, {"expired_at": at, "response_code": response_code}
        )
        if done is None:
            return False
        await payments.move_application(session, done["application_id"], [PaymentStatus.PENDING], PaymentStatus.DUE, at)
        app = await submission.store.get(done["application_id"], session=session)
        assert app is not None
        event = PaymentFailed(**_event_fields(app, done), failed_at=at, response_code=response_code)
        await submission.outbox.add(session, [event], request_id=None)
        return True

    expired = bool(await mongo.in_transaction(submission.store.client, work))
    submission.outbox.notify()
    if expired:
        log.info("payment_attempt_expired", application_id=record["application_id"], txn_ref=record["_id"])
    return expired


async def _settle_one(
    submission: Submission, provider: PaymentProvider, record: Mapping[str, Any], *, give_up: bool
) -> PaymentStatus | None:
    """Ask the provider about one pending attempt and settle it as it answers: paid or failed; given up (due
    again) when unfinished or unknown there and `give_up`. None: nothing known or decided yet."""
    answer = await provider.query(record["_id"], record["created_at"])
    if answer.found and answer.final and not answer.succeeded and now() >= _expires_at(record):
        # querydr tells "failed" (02), not why: not paid by the end of its page's time is an expiry, owed again
        await _expire(submission, record, vnpay.EXPIRED)
        return PaymentStatus.DUE
    if answer.found and answer.final:
        to = PaymentStatus.PAID if answer.succeeded else PaymentStatus.FAILED
        fields = {"transaction_no": answer.transaction_no, "settled_by": "querydr"}
        if answer.response_code:
            fields["response_code"] = answer.response_code
        if await _settle(submission, record["_id"], to, fields, request_id=None):
            log.info("payment_settled_by_query", txn_ref=record["_id"], status=to.value)
        return to
    if answer.answered and give_up:
        await _expire(submission, record, vnpay.EXPIRED)
        return PaymentStatus.DUE
    return None


async def ipn(submission: Submission, params: Mapping[str, str], ip: str, *, request_id: str | None) -> Verdict:
    """The provider's server-to-server notice, verified (signature, order, amount and currency) and taken once:
    a duplicate or replay answers 02 and changes nothing."""
    secret = _secret(submission)
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
        order_expired=record is not None and record["status"] == EXPIRED,
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
    secret = _secret(submission)
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
    """Pending attempts no IPN settled: asked of the provider (querydr), settled as it answers; those still
    unfinished (or unknown to it) past their expiry and its grace are given up, the fee due again. Also finishes
    refunds a crash interrupted."""
    provider = provider_of(submission)
    if provider is None:
        return 0
    payments = PaymentStore(submission.store.db)
    grace = timedelta(seconds=submission.settings.payment_expiry_grace_seconds)
    settled = 0
    for record in await payments.stale_pending(older_than):
        give_up = attempt_expired(_expires_at(record), now(), grace)
        if await _settle_one(submission, provider, record, give_up=give_up) is not None:
            settled += 1
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
