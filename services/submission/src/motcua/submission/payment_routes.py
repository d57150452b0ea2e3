"""Fees: the owner starts a payment; the provider's browser return and server-to-server IPN (VNPAY 2.1.0)."""

from __future__ import annotations

import html
from datetime import date
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Header, Path, Query, Request, Response
from fastapi.responses import HTMLResponse
from motcua.common.auth import CurrentPrincipal, Officer
from motcua.common.clock import now
from motcua.common.errors import Forbidden, TooManyRequests
from motcua.common.request_context import ClientIp, RequestId
from motcua.submission import payment_flow, reconciliation, vnpay
from motcua.submission.deps import SubmissionDep
from motcua.submission.payments import PaymentStatus
from pydantic import BaseModel, Field

router = APIRouter(prefix="/v1", tags=["payments"])

ApplicationId = Annotated[str, Path(max_length=64)]
MAX_PARAMS = 40


class PaymentStarted(BaseModel):
    payment_url: str = Field(description="the provider's payment page: send the citizen's browser there")
    amount_vnd: int
    payment_status: PaymentStatus


class IpnAnswer(BaseModel):
    RspCode: str
    Message: str


def _params(request: Request) -> dict[str, str]:
    # only VNPAY's own fields, bounded: anything else in the query is not signed and not read
    items = [(k, v) for k, v in request.query_params.multi_items() if k.startswith("vnp_") and len(v) <= 512]
    return dict(items[:MAX_PARAMS])


@router.post("/applications/{application_id}/payment", summary="Pay the fee")
async def start_payment(
    application_id: ApplicationId, who: CurrentPrincipal, submission: SubmissionDep, ip: ClientIp, rid: RequestId
) -> PaymentStarted:
    """Start paying the dossier's fee (owner): it becomes `pending`, and `payment_url` is the provider's page.
    409 when nothing is owed (no fee, paid already, or online payment not configured); rate limited."""
    app, url = await payment_flow.start(submission, application_id, who, ip, request_id=rid)
    return PaymentStarted(payment_url=url, amount_vnd=app.fee_vnd, payment_status=app.payment_status)


@router.get("/payments/vnpay/ipn", summary="VNPAY IPN (server to server)")
async def vnpay_ipn(request: Request, submission: SubmissionDep, ip: ClientIp, rid: RequestId) -> IpnAnswer:
    """VNPAY's notice of a payment's outcome, verified by its HMAC-SHA512 signature. Answers `RspCode` 00
    (confirmed), 01 (order not found), 02 (already confirmed), 04 (invalid amount), 97 (invalid signature) or
    99 (other), as VNPAY specifies; always HTTP 200."""
    try:
        verdict = await payment_flow.ipn(submission, _params(request), ip, request_id=rid)
    except TooManyRequests:
        raise
    except Exception:
        payment_flow.log.exception("payment_ipn_failed")
        return IpnAnswer(**vnpay.ipn_answer("99"))
    return IpnAnswer(**vnpay.ipn_answer(verdict.code))


@router.get(
    "/payments/vnpay/return",
    summary="Back from VNPAY (browser)",
    response_class=HTMLResponse,
    status_code=303,
    responses={303: {"description": "to the dossier's page on the portal", "content": {"text/html": {}}}},
)
async def vnpay_return(request: Request, submission: SubmissionDep) -> HTMLResponse:
    """Where the provider sends the citizen's browser: to the dossier's page on the portal, with
    `payment=returned` (signed) or `payment=invalid`. The page reads the status, which only the IPN settles.
    A 303 with a one-line page linking there (for a browser that does not follow it)."""
    application_id, valid = await payment_flow.returned(submission, _params(request))
    base = submission.settings.public_base_url.rstrip("/")
    if application_id is None:
        return _see_other(f"{base}/applications?payment=invalid")
    outcome = "returned" if valid else "invalid"
    return _see_other(f"{base}/applications/{quote(application_id, safe='')}?payment={outcome}")


def _see_other(url: str) -> HTMLResponse:
    link = html.escape(url, quote=True)
    page = f'<!doctype html><meta charset="utf-8"><title>Một cửa</title><a href="{link}">{link}</a>'
    return HTMLResponse(page, status_code=303, headers={"Location": url, "Cache-Control": "no-store"})


class ReconciliationLine(BaseModel):
    txn_ref: str
    application_id: str
    amount_vnd: int
    status: str = Field(description="the attempt here: pending, paid, failed, refunding or refunded")
    dossier_payment_status: str
    provider_status: str = Field(description="the provider's querydr: paid, failed, unfinished or unknown")
    transaction_no: str
    mismatch: str = Field(description="empty when the attempt, the dossier and the provider agree")


class Reconciliation(BaseModel):
    agency_code: str
    day: date
    attempts: int
    paid: int
    paid_vnd: int
    mismatches: list[ReconciliationLine]
    lines: list[ReconciliationLine]


@router.get(
    "/agency/payments/reconciliation",
    tags=["payments"],
    summary="My agency's fees of a day: paid dossiers against the provider's transactions (CSV with Accept: text/csv)",
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
    response_model=Reconciliation,
)
async def payment_reconciliation(
    officer: Officer,
    submission: SubmissionDep,
    day: Annotated[date | None, Query(description="YYYY-MM-DD, Vietnam time; today by default")] = None,
    accept: Annotated[str | None, Header(max_length=1000)] = None,
) -> Response:
    """Officers of an agency, for their own agency: every payment attempt started that day, what the dossier and
    the provider (transaction query) say of it, and the mismatches."""
    if not officer.agency:
        raise Forbidden("This officer account is not attached to an agency.")
    wanted = day or now().astimezone(vnpay.VIETNAM).date()
    lines = await payment_flow.reconciliation(submission, officer.agency, wanted)
    headers = {"Cache-Control": "private, no-store", "Vary": "Accept"}
    if accept and "text/csv" in accept.lower():
        headers["Content-Disposition"] = f'attachment; filename="payments-{officer.agency}-{wanted}.csv"'
        return Response(reconciliation.as_csv(lines), media_type="text/csv; charset=utf-8", headers=headers)
    shaped = [ReconciliationLine(**vars(line)) for line in lines]
    paid = [line for line in lines if line.status in reconciliation.SETTLED_PAID]
    answer = Reconciliation(
        agency_code=officer.agency,
        day=wanted,
        attempts=len(lines),
        paid=len(paid),
        paid_vnd=sum(line.amount_vnd for line in paid),
        mismatches=[s for s in shaped if s.mismatch],
        lines=shaped,
    )
    return Response(answer.model_dump_json(), media_type="application/json", headers=headers)
