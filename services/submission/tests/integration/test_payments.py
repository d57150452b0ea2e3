"""Paying a dossier's fee over real HTTP between submission and the local VNPAY gateway: paid, cancelled,
declined, duplicate and forged IPNs, a wrong amount, a lost IPN settled by querydr, refunds; each effect once."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
from motcua.common.contracts.catalogue import ProcedurePublished
from motcua.devtools.testing import eventually
from motcua.submission import vnpay
from structlog.testing import capture_logs

FEE = 15000
COMPLETED = "motcua.submission.PaymentCompleted.v1"
FAILED = "motcua.submission.PaymentFailed.v1"
REFUNDED = "motcua.submission.PaymentRefunded.v1"


def _with_fee(samples: Any, fee: int = FEE) -> ProcedurePublished:
    published: ProcedurePublished = samples.birth_registration().model_copy(update={"fee_vnd": fee})
    return published


async def _dossier(paying: Any, samples: Any, fee: int = FEE) -> tuple[dict[str, str], str]:
    owner, app_id = await paying.service.submitted(_with_fee(samples, fee))
    return owner, app_id


async def _status(paying: Any, owner: dict[str, str], app_id: str) -> str:
    response = await paying.service.http.get(f"/v1/applications/{app_id}", headers=owner)
    assert response.status_code == 200, response.text
    return str(response.json()["payment_status"])


async def _pay(
    paying: Any, owner: dict[str, str], app_id: str, choice: str = "pay", **options: str
) -> tuple[str, httpx.Response]:
    """Start a payment, open the provider's page, choose, and come back: the order reference and the return."""
    started = await paying.service.http.post(f"/v1/applications/{app_id}/payment", headers=owner)
    assert started.status_code == 200, started.text
    body = started.json()
    assert body["amount_vnd"] == FEE
    assert body["payment_status"] == "pending"
    assert body["payment_url"].startswith(paying.provider_url + "/paymentv2/vpcpay.html?")
    txn_ref = dict(parse_qsl(urlsplit(body["payment_url"]).query))["vnp_TxnRef"]
    async with httpx.AsyncClient(timeout=30) as browser:
        page = await browser.get(body["payment_url"])
        assert page.status_code == 200
        assert "Thanh toán" in page.text
        assert "Hủy" in page.text
        assert "15,000 VND" in page.text
        query = f"?{urlencode(options)}" if options else ""
        chosen = await browser.post(
            f"{paying.provider_url}/paymentv2/decide{query}", data={"txn_ref": txn_ref, "choice": choice}
        )
    assert chosen.status_code == 303
    back = urlsplit(chosen.headers["location"])
    assert back.path == "/v1/payments/vnpay/return"
    returned = await paying.service.http.get(f"/v1/payments/vnpay/return?{back.query}")
    return txn_ref, returned


async def _types(paying: Any, app_id: str, count: int) -> list[str]:
    envelopes = await paying.service.application_events(app_id, count, settle=1.5)
    return [e.type for e in envelopes if e.type.startswith("motcua.submission.Payment")]


def _signed_notice(paying: Any, txn_ref: str, amount_vnd: int, secret: str | None = None) -> dict[str, str]:
    params = {
        "vnp_TmnCode": "TESTTMN1",
        "vnp_Amount": str(amount_vnd * 100),
        "vnp_BankCode": "NCB",
        "vnp_OrderInfo": "forged",
        "vnp_PayDate": "20261202143000",
        "vnp_ResponseCode": "00",
        "vnp_TransactionNo": "99999999",
        "vnp_TransactionStatus": "00",
        "vnp_TxnRef": txn_ref,
    }
    return dict(parse_qsl(vnpay.sign_query(params, secret or paying.secret)))


async def test_a_dossier_with_a_fee_is_due_and_intake_cannot_accept_it_unpaid(paying: Any, samples: Any) -> None:
    owner, app_id = await _dossier(paying, samples)
    assert await _status(paying, owner, app_id) == "due"
    refused = await paying.service.act(paying.service.officer("UBND-XA"), app_id, "accept")
    assert refused.status_code == 409
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert "not paid" in refused.json()["detail"]


async def test_a_citizen_pays_through_the_provider_and_intake_then_accepts(paying: Any, samples: Any) -> None:
    owner, app_id = await _dossier(paying, samples)
    txn_ref, returned = await _pay(paying, owner, app_id)
    assert returned.status_code == 303
    assert returned.headers["location"].endswith(f"/applications/{app_id}?payment=returned")
    await eventually(lambda: _is(paying, owner, app_id, "paid"))
    assert paying.gateway.transactions[txn_ref].ipns == [{"RspCode": "00", "Message": "Confirm Success"}]
    assert await _types(paying, app_id, 2) == [COMPLETED]
    accepted = await paying.service.act(paying.service.officer("UBND-XA"), app_id, "accept")
    assert accepted.status_code == 200, accepted.text
    again = await paying.service.http.post(f"/v1/applications/{app_id}/payment", headers=owner)
    assert again.status_code == 409  # paid: nothing more to pay


async def _is(paying: Any, owner: dict[str, str], app_id: str, status: str) -> bool:
    return await _status(paying, owner, app_id) == status


async def test_a_cancelled_payment_fails_once_and_the_fee_may_be_paid_again(paying: Any, samples: Any) -> None:
    owner, app_id = await _dossier(paying, samples)
    first, _ = await _pay(paying, owner, app_id, choice="cancel")
    await eventually(lambda: _is(paying, owner, app_id, "failed"))
    refused = await paying.service.act(paying.service.officer("UBND-XA"), app_id, "accept")
    assert refused.status_code == 409
    second, _ = await _pay(paying, owner, app_id)
    assert second != first
    await eventually(lambda: _is(paying, owner, app_id, "paid"))
    assert await _types(paying, app_id, 3) == [FAILED, COMPLETED]


async def test_a_declined_card_fails_the_payment(paying: Any, samples: Any) -> None:
    owner, app_id = await _dossier(paying, samples)
    await _pay(paying, owner, app_id, fail="true")
    await eventually(lambda: _is(paying, owner, app_id, "failed"))
    assert await _types(paying, app_id, 2) == [FAILED]


async def test_a_duplicate_ipn_is_acknowledged_as_already_confirmed_and_changes_nothing(
    paying: Any, samples: Any
) -> None:
    owner, app_id = await _dossier(paying, samples)
    txn_ref, _ = await _pay(paying, owner, app_id, duplicate_ipn="true")

    async def both_sent() -> bool:
        return len(paying.gateway.transactions[txn_ref].ipns) == 2

    await eventually(both_sent)
    assert [a["RspCode"] for a in paying.gateway.transactions[txn_ref].ipns] == ["00", "02"]
    assert await _status(paying, owner, app_id) == "paid"
    # replayed later, still nothing
    replay = _signed_notice(paying, txn_ref, FEE)
    answer = await paying.service.http.get("/v1/payments/vnpay/ipn", params=replay)
    assert answer.json() == {"RspCode": "02", "Message": "Order already confirmed"}
    assert await _types(paying, app_id, 2) == [COMPLETED]


async def test_a_forged_ipn_is_refused_with_97_and_logged_without_the_secret(paying: Any, samples: Any) -> None:
    owner, app_id = await _dossier(paying, samples)
    started = await paying.service.http.post(f"/v1/applications/{app_id}/payment", headers=owner)
    txn_ref = dict(parse_qsl(urlsplit(started.json()["payment_url"]).query))["vnp_TxnRef"]
    forged = _signed_notice(paying, txn_ref, FEE, secret="not-the-terminals-secret")
    with capture_logs() as logs:
        answer = await paying.service.http.get("/v1/payments/vnpay/ipn", params=forged)
    assert answer.status_code == 200
    assert answer.json() == {"RspCode": "97", "Message": "Invalid Checksum"}
    refused = [e for e in logs if e["event"] == "payment_ipn_refused"]
    assert refused
    assert refused[0]["log_level"] == "warning"
    assert paying.secret not in repr(logs)
    unknown = await paying.service.http.get("/v1/payments/vnpay/ipn", params=_signed_notice(paying, "NOSUCHREF", FEE))
    assert unknown.json()["RspCode"] == "01"
    assert await _status(paying, owner, app_id) == "pending"
    assert await _types(paying, app_id, 1) == []


async def test_an_ipn_with_a_wrong_amount_is_refused_with_04(paying: Any, samples: Any) -> None:
    owner, app_id = await _dossier(paying, samples)
    started = await paying.service.http.post(f"/v1/applications/{app_id}/payment", headers=owner)
    txn_ref = dict(parse_qsl(urlsplit(started.json()["payment_url"]).query))["vnp_TxnRef"]
    with capture_logs() as logs:
        answer = await paying.service.http.get("/v1/payments/vnpay/ipn", params=_signed_notice(paying, txn_ref, 100))
    assert answer.json() == {"RspCode": "04", "Message": "invalid amount"}
    assert any(e["event"] == "payment_ipn_refused" and e["rsp_code"] == "04" for e in logs)
    assert paying.secret not in repr(logs)
    assert await _status(paying, owner, app_id) == "pending"


async def test_a_payment_whose_ipn_never_came_is_settled_by_the_transaction_query(paying: Any, samples: Any) -> None:
    owner, app_id = await _dossier(paying, samples)
    await _pay(paying, owner, app_id, skip_ipn="true")
    await asyncio.sleep(1)
    assert await _status(paying, owner, app_id) == "pending"  # the return alone settles nothing
    await eventually(lambda: _is(paying, owner, app_id, "paid"), timeout=20)
    assert await _types(paying, app_id, 2) == [COMPLETED]


async def test_withdrawing_a_paid_dossier_refunds_it_through_the_provider_once(paying: Any, samples: Any) -> None:
    owner, app_id = await _dossier(paying, samples)
    txn_ref, _ = await _pay(paying, owner, app_id)
    await eventually(lambda: _is(paying, owner, app_id, "paid"))
    withdrawn = await paying.service.http.post(f"/v1/applications/{app_id}/withdraw", headers=owner, json={})
    assert withdrawn.status_code == 200, withdrawn.text
    assert withdrawn.json()["payment_status"] == "refunded"
    assert paying.gateway.transactions[txn_ref].refunded
    envelopes = await paying.service.application_events(app_id, 4, settle=1.5)
    refunds = [e for e in envelopes if e.type == REFUNDED]
    assert len(refunds) == 1
    assert refunds[0].data.provider_refunded is True
    assert refunds[0].data.amount_vnd == FEE
    assert [e.type for e in envelopes if e.type.startswith("motcua.submission.Payment")] == [COMPLETED, REFUNDED]


async def test_refusal_at_intake_of_a_paid_dossier_refunds_it(paying: Any, samples: Any) -> None:
    owner, app_id = await _dossier(paying, samples)
    await _pay(paying, owner, app_id)
    await eventually(lambda: _is(paying, owner, app_id, "paid"))
    refused = await paying.service.act(paying.service.officer("UBND-XA"), app_id, "reject", "không thuộc thẩm quyền")
    assert refused.status_code == 200, refused.text
    assert await _status(paying, owner, app_id) == "refunded"


async def test_a_dossier_without_a_fee_owes_nothing(paying: Any, samples: Any) -> None:
    owner, app_id = await _dossier(paying, samples, fee=0)
    assert await _status(paying, owner, app_id) == "not_required"
    answer = await paying.service.http.post(f"/v1/applications/{app_id}/payment", headers=owner)
    assert answer.status_code == 409
    accepted = await paying.service.act(paying.service.officer("UBND-XA"), app_id, "accept")
    assert accepted.status_code == 200


async def test_another_citizen_cannot_pay_or_see_a_dossiers_payment(paying: Any, samples: Any) -> None:
    _, app_id = await _dossier(paying, samples)
    stranger = paying.service.citizen()
    answer = await paying.service.http.post(f"/v1/applications/{app_id}/payment", headers=stranger)
    assert answer.status_code == 404
    anonymous = await paying.service.http.post(f"/v1/applications/{app_id}/payment")
    assert anonymous.status_code == 401


async def test_a_return_with_a_bad_signature_shows_the_dossiers_list(paying: Any) -> None:
    forged = {"vnp_TxnRef": "X", "vnp_SecureHash": "0"}
    answer = await paying.service.http.get("/v1/payments/vnpay/return", params=forged)
    assert answer.status_code == 303
    assert answer.headers["location"].endswith("/applications?payment=invalid")


async def test_the_agencys_daily_reconciliation_lists_attempts_and_the_mismatches(paying: Any, samples: Any) -> None:
    agency = f"UBND-{uuid.uuid4().hex[:6].upper()}"
    published = samples.birth_registration(agency=agency).model_copy(update={"fee_vnd": FEE})
    owner, paid_id = await paying.service.submitted(published)
    paid_ref, _ = await _pay(paying, owner, paid_id)
    await eventually(lambda: _is(paying, owner, paid_id, "paid"))
    other, cancelled_id = await paying.service.submitted(published)
    cancelled_ref, _ = await _pay(paying, other, cancelled_id, choice="cancel")
    await eventually(lambda: _is(paying, other, cancelled_id, "failed"))
    officer = paying.service.officer(agency)

    report = await paying.service.http.get("/v1/agency/payments/reconciliation", headers=officer)
    assert report.status_code == 200, report.text
    body = report.json()
    assert body["agency_code"] == agency
    assert body["attempts"] == 2
    assert body["paid"] == 1
    assert body["paid_vnd"] == FEE
    assert body["mismatches"] == []
    by_ref = {line["txn_ref"]: line for line in body["lines"]}
    assert by_ref[paid_ref]["provider_status"] == "paid"
    assert by_ref[cancelled_ref]["provider_status"] == "failed"

    # a record that says paid where the provider says otherwise is listed
    await paying.service.db["payments"].update_one({"_id": cancelled_ref}, {"$set": {"status": "paid"}})
    again = (await paying.service.http.get("/v1/agency/payments/reconciliation", headers=officer)).json()
    assert [m["txn_ref"] for m in again["mismatches"]] == [cancelled_ref]
    assert "not paid at the provider" in again["mismatches"][0]["mismatch"]
    as_csv = await paying.service.http.get(
        "/v1/agency/payments/reconciliation", headers={**officer, "Accept": "text/csv"}
    )
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert as_csv.text.splitlines()[0].startswith("txn_ref,application_id,amount_vnd,status")
    assert cancelled_ref in as_csv.text
    other_agency = await paying.service.http.get(
        "/v1/agency/payments/reconciliation", headers=paying.service.officer("UBND-KHAC")
    )
    assert paid_ref not in other_agency.text


async def test_a_payment_confirmed_after_the_dossier_was_withdrawn_is_refunded_at_once(
    paying: Any, samples: Any
) -> None:
    owner, app_id = await _dossier(paying, samples)
    started = await paying.service.http.post(f"/v1/applications/{app_id}/payment", headers=owner)
    url = started.json()["payment_url"]
    txn_ref = dict(parse_qsl(urlsplit(url).query))["vnp_TxnRef"]
    withdrawn = await paying.service.http.post(f"/v1/applications/{app_id}/withdraw", headers=owner, json={})
    assert withdrawn.status_code == 200, withdrawn.text
    assert withdrawn.json()["payment_status"] == "pending"
    async with httpx.AsyncClient(timeout=30) as browser:  # the citizen was already on the provider's page
        assert (await browser.get(url)).status_code == 200
        await browser.post(f"{paying.provider_url}/paymentv2/decide", data={"txn_ref": txn_ref, "choice": "pay"})
    await eventually(lambda: _is(paying, owner, app_id, "refunded"))

    async def refunded_at_the_provider() -> bool:  # the refund call follows the commit that recorded it
        return bool(paying.gateway.transactions[txn_ref].refunded)

    await eventually(refunded_at_the_provider)
    assert await _types(paying, app_id, 4) == [COMPLETED, REFUNDED]
