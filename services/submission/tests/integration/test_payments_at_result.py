"""A fee paid at result (issue 21), over real HTTP between submission and the local VNPAY gateway: intake accepts
and the agency processes without payment; issuing the result makes the fee due and withholds the document from
the applicant (download, wallet, its code) until the provider confirms the payment; each effect once."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
from motcua.common.contracts.catalogue import ProcedurePublished
from motcua.devtools.testing import eventually

FEE = 100000
COMPLETED = "motcua.submission.PaymentCompleted.v1"
RESULT_ISSUED = "motcua.submission.ApplicationResultIssued.v1"


def _paid_at_result(samples: Any) -> ProcedurePublished:
    published: ProcedurePublished = samples.birth_registration().model_copy(
        update={"fee_vnd": FEE, "fee_due": "at_result"}
    )
    return published


async def _read(paying: Any, who: dict[str, str], app_id: str) -> dict[str, Any]:
    answer = await paying.service.http.get(f"/v1/applications/{app_id}", headers=who)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def _pay(paying: Any, owner: dict[str, str], app_id: str) -> str:
    started = await paying.service.http.post(f"/v1/applications/{app_id}/payment", headers=owner)
    assert started.status_code == 200, started.text
    assert started.json()["amount_vnd"] == FEE
    url = started.json()["payment_url"]
    txn_ref = dict(parse_qsl(urlsplit(url).query))["vnp_TxnRef"]
    async with httpx.AsyncClient(timeout=30) as browser:
        page = await browser.get(url)
        assert "100,000 VND" in page.text
        chosen = await browser.post(
            f"{paying.provider_url}/paymentv2/decide", data={"txn_ref": txn_ref, "choice": "pay"}
        )
    assert chosen.status_code == 303
    return str(txn_ref)


async def test_a_fee_paid_at_result_is_owed_only_once_the_result_is_issued_and_releases_it_when_paid(
    paying: Any, samples: Any
) -> None:
    service = paying.service
    owner, app_id = await service.submitted(_paid_at_result(samples))
    dossier = await _read(paying, owner, app_id)
    assert (dossier["payment_status"], dossier["fee_due"], dossier["fee_vnd"]) == ("not_required", "at_result", FEE)
    early = await service.http.post(f"/v1/applications/{app_id}/payment", headers=owner)
    assert early.status_code == 409  # nothing to pay before the result

    officer = service.officer("UBND-XA")
    for action in ("accept", "approve", "issue_result"):
        moved = await service.act(officer, app_id, action)
        assert moved.status_code == 200, moved.text  # no payment needed to process it
    seen_by_agency = moved.json()
    assert seen_by_agency["status"] == "completed"
    assert seen_by_agency["payment_status"] == "due"
    assert seen_by_agency["result"]["released"] is False
    assert seen_by_agency["result"]["verification_code"]  # the officer sees the document and its code
    assert (await service.http.get(f"/v1/applications/{app_id}/result", headers=officer)).status_code == 200

    dossier = await _read(paying, owner, app_id)
    assert dossier["payment_status"] == "due"
    assert dossier["result"]["released"] is False
    assert dossier["result"]["verification_code"] is None
    assert dossier["result"]["sha256"] is None
    withheld = await service.http.get(f"/v1/applications/{app_id}/result", headers=owner)
    assert withheld.status_code == 409
    assert withheld.headers["content-type"].startswith("application/problem+json")
    assert withheld.json()["title"] == "Fee not paid"
    assert "100,000 VND" in withheld.json()["detail"]
    wallet = await service.http.get("/v1/wallet", headers=owner)
    assert [i for i in wallet.json()["items"] if i["kind"] == "result"] == []

    txn_ref = await _pay(paying, owner, app_id)

    async def released() -> bool:
        return bool((await _read(paying, owner, app_id))["payment_status"] == "paid")

    await eventually(released)
    assert paying.gateway.transactions[txn_ref].ipns == [{"RspCode": "00", "Message": "Confirm Success"}]
    dossier = await _read(paying, owner, app_id)
    assert dossier["result"]["released"] is True
    assert dossier["result"]["verification_code"] == seen_by_agency["result"]["verification_code"]
    document = await service.http.get(f"/v1/applications/{app_id}/result", headers=owner)
    assert document.status_code == 200
    assert document.content.startswith(b"%PDF")
    wallet = await service.http.get("/v1/wallet", headers=owner)
    assert [i["from_application_id"] for i in wallet.json()["items"] if i["kind"] == "result"] == [app_id]

    envelopes = await service.application_events(app_id, 6, settle=1.5)
    issued = [e for e in envelopes if e.type == RESULT_ISSUED]
    paid = [e for e in envelopes if e.type == COMPLETED]
    assert len(issued) == 1
    assert issued[0].data.fee_due_vnd == FEE
    assert len(paid) == 1
    assert paid[0].data.result_released is True
    assert paid[0].data.amount_vnd == FEE
    assert [e.type for e in envelopes if e.type.startswith("motcua.submission.Payment")] == [COMPLETED]


async def test_a_dossier_paying_at_result_refused_or_withdrawn_before_it_owes_nothing(
    paying: Any, samples: Any
) -> None:
    service = paying.service
    published = _paid_at_result(samples)
    owner, refused_id = await service.submitted(published)
    refused = await service.act(service.officer("UBND-XA"), refused_id, "reject", "không thuộc thẩm quyền")
    assert refused.status_code == 200, refused.text
    assert (await _read(paying, owner, refused_id))["payment_status"] == "not_required"
    other, withdrawn_id = await service.submitted(published)
    withdrawn = await service.http.post(f"/v1/applications/{withdrawn_id}/withdraw", headers=other, json={})
    assert withdrawn.status_code == 200, withdrawn.text
    assert withdrawn.json()["payment_status"] == "not_required"
    for app_id in (refused_id, withdrawn_id):
        envelopes = await service.application_events(app_id, 2, settle=1.0)
        assert [e.type for e in envelopes if e.type.startswith("motcua.submission.Payment")] == []


async def test_a_result_without_a_fee_owed_is_released_at_once(paying: Any, samples: Any) -> None:
    service = paying.service
    owner, app_id = await service.submitted(samples.birth_registration())
    officer = service.officer("UBND-XA")
    for action in ("accept", "approve", "issue_result"):
        assert (await service.act(officer, app_id, action)).status_code == 200
    dossier = await _read(paying, owner, app_id)
    assert (dossier["payment_status"], dossier["result"]["released"]) == ("not_required", True)
    assert (await service.http.get(f"/v1/applications/{app_id}/result", headers=owner)).status_code == 200
