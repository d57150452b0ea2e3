"""Payment attempts that expire (issue 21), and VNPAY's page and merchant API on separate hosts: over real HTTP
between submission and two local provider apps (the page on one port, the API on another), with attempts that
last a few seconds. An attempt left unfinished past its vnp_ExpireDate is settled by querydr and the fee is due
again; money taken late is kept when the fee is still owed and refunded when it was paid meanwhile."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from motcua.common.contracts.catalogue import ProcedurePublished
from motcua.devtools.testing import eventually
from motcua.submission import vnpay

FEE = 15000
COMPLETED = "motcua.submission.PaymentCompleted.v1"
FAILED = "motcua.submission.PaymentFailed.v1"
REFUNDED = "motcua.submission.PaymentRefunded.v1"


@pytest.fixture
def split(split_paying: Any) -> Any:
    return split_paying


async def _dossier(split: Any, samples: Any) -> tuple[dict[str, str], str]:
    published: ProcedurePublished = samples.birth_registration().model_copy(update={"fee_vnd": FEE})
    owner, app_id = await split.service.submitted(published)
    return owner, app_id


async def _status(split: Any, owner: dict[str, str], app_id: str) -> str:
    answer = await split.service.http.get(f"/v1/applications/{app_id}", headers=owner)
    return str(answer.json()["payment_status"])


async def _start(split: Any, owner: dict[str, str], app_id: str) -> tuple[str, str]:
    started = await split.service.http.post(f"/v1/applications/{app_id}/payment", headers=owner)
    assert started.status_code == 200, started.text
    url = str(started.json()["payment_url"])
    return url, dict(parse_qsl(urlsplit(url).query))["vnp_TxnRef"]


async def _decide(split: Any, txn_ref: str, choice: str = "pay", **options: str) -> httpx.Response:
    page = urlsplit(split.page_url)
    async with httpx.AsyncClient(timeout=30) as browser:
        return await browser.post(
            f"{page.scheme}://{page.netloc}/paymentv2/decide",
            params=options,
            data={"txn_ref": txn_ref, "choice": choice},
        )


async def _types(split: Any, app_id: str, count: int) -> list[Any]:
    envelopes = await split.service.application_events(app_id, count, settle=1.5)
    return [e for e in envelopes if e.type.startswith("motcua.submission.Payment")]


async def _until(split: Any, owner: dict[str, str], app_id: str, wanted: str) -> None:
    async def there() -> bool:
        return await _status(split, owner, app_id) == wanted

    await eventually(there, timeout=30)


async def test_the_payment_page_and_the_merchant_api_are_reached_on_their_own_hosts(split: Any, samples: Any) -> None:
    owner, app_id = await _dossier(split, samples)
    url, txn_ref = await _start(split, owner, app_id)
    assert url.startswith(split.page_url + "?")
    async with httpx.AsyncClient(timeout=30) as browser:
        page = await browser.get(url)
        assert page.status_code == 200
        assert "Thanh toán" in page.text
        # each host serves only its own part
        assert (
            await browser.post(split.page_url.replace("/vpcpay.html", "/merchant_webapi/api/transaction"))
        ).status_code == 404
        api = urlsplit(split.api_url)
        assert (await browser.get(f"{api.scheme}://{api.netloc}/vpcpay.html")).status_code == 404
    await _decide(split, txn_ref, skip_ipn="true")  # no IPN: only a querydr to the API host can settle it
    await _until(split, owner, app_id, "paid")
    assert [e.type for e in await _types(split, app_id, 2)] == [COMPLETED]


async def test_the_payment_url_carries_its_expiry_and_the_page_refuses_to_pay_after_it(
    split: Any, samples: Any
) -> None:
    owner, app_id = await _dossier(split, samples)
    before = datetime.now(UTC)
    url, txn_ref = await _start(split, owner, app_id)
    params = dict(parse_qsl(urlsplit(url).query))
    created = vnpay.parse_vnp_date(params["vnp_CreateDate"])
    expires = vnpay.parse_vnp_date(params["vnp_ExpireDate"])
    assert before - timedelta(seconds=1) <= created <= datetime.now(UTC)
    assert expires - created == timedelta(seconds=split.attempt_seconds)
    async with httpx.AsyncClient(timeout=30) as browser:
        assert (await browser.get(url)).status_code == 200  # the citizen opens the page, then leaves it

        await _until(split, owner, app_id, "due")  # given up after querydr: the fee is owed again
        late_page = await browser.get(url)
    assert late_page.status_code == 400
    assert "quá thời gian chờ thanh toán" in late_page.text
    back = await _decide(split, txn_ref)  # a form still open in another tab
    assert back.status_code == 303
    assert dict(parse_qsl(urlsplit(back.headers["location"]).query))["vnp_ResponseCode"] == "11"
    assert split.gateway.transactions[txn_ref].status == "02"

    async def answered() -> bool:
        return bool(split.gateway.transactions[txn_ref].ipns)

    await eventually(answered)
    assert split.gateway.transactions[txn_ref].ipns == [{"RspCode": "02", "Message": "Order already confirmed"}]
    failed = await _types(split, app_id, 2)
    assert [e.type for e in failed] == [FAILED]
    assert failed[0].data.response_code == "11"
    assert failed[0].data.txn_ref == txn_ref

    # the citizen pays again, with a new attempt
    again, second = await _start(split, owner, app_id)
    assert second != txn_ref
    async with httpx.AsyncClient(timeout=30) as browser:
        assert (await browser.get(again)).status_code == 200
    await _decide(split, second)
    await _until(split, owner, app_id, "paid")
    assert [e.type for e in await _types(split, app_id, 3)] == [FAILED, COMPLETED]


async def test_an_attempt_never_opened_expires_too_and_the_same_url_is_not_handed_back(
    split: Any, samples: Any
) -> None:
    owner, app_id = await _dossier(split, samples)
    url, txn_ref = await _start(split, owner, app_id)
    same, _ = await _start(split, owner, app_id)  # still pending: the same attempt
    assert same == url
    await _until(split, owner, app_id, "due")  # unknown to the provider (querydr 91) past its expiry
    _, fresh = await _start(split, owner, app_id)
    assert fresh != txn_ref
    assert await _status(split, owner, app_id) == "pending"


async def test_money_taken_after_the_attempt_expired_is_kept_while_the_fee_is_still_owed(
    split: Any, samples: Any
) -> None:
    owner, app_id = await _dossier(split, samples)
    url, txn_ref = await _start(split, owner, app_id)
    async with httpx.AsyncClient(timeout=30) as browser:
        assert (await browser.get(url)).status_code == 200
    await _until(split, owner, app_id, "due")
    await _decide(split, txn_ref, ignore_expiry="true")  # the bank completes it late: a late IPN, money taken
    await _until(split, owner, app_id, "paid")
    assert split.gateway.transactions[txn_ref].ipns == [{"RspCode": "00", "Message": "Confirm Success"}]
    assert not split.gateway.transactions[txn_ref].refunded
    assert [e.type for e in await _types(split, app_id, 3)] == [FAILED, COMPLETED]
    officer = split.service.officer("UBND-XA")
    assert (await split.service.act(officer, app_id, "accept")).status_code == 200


async def test_money_taken_after_the_attempt_expired_is_refunded_when_the_fee_was_paid_again(
    split: Any, samples: Any
) -> None:
    owner, app_id = await _dossier(split, samples)
    url, first = await _start(split, owner, app_id)
    async with httpx.AsyncClient(timeout=30) as browser:
        assert (await browser.get(url)).status_code == 200
    await _until(split, owner, app_id, "due")
    again, second = await _start(split, owner, app_id)
    async with httpx.AsyncClient(timeout=30) as browser:
        assert (await browser.get(again)).status_code == 200
    await _decide(split, second)
    await _until(split, owner, app_id, "paid")
    await _decide(split, first, ignore_expiry="true")  # and the first attempt's money arrives too

    async def refunded() -> bool:  # the IPN is answered once the refund is asked for
        return split.gateway.transactions[first].refunded and bool(split.gateway.transactions[first].ipns)

    await eventually(refunded, timeout=20)
    assert split.gateway.transactions[first].ipns == [{"RspCode": "00", "Message": "Confirm Success"}]
    assert not split.gateway.transactions[second].refunded
    assert await _status(split, owner, app_id) == "paid"  # the dossier's own payment stands
    events = await _types(split, app_id, 5)
    assert [(e.type, e.data.txn_ref) for e in events] == [
        (FAILED, first),
        (COMPLETED, second),
        (COMPLETED, first),
        (REFUNDED, first),
    ]
    assert events[-1].data.provider_refunded is True
    # a replay of the late notice changes nothing
    replay = dict(split.gateway.transactions[first].params)
    notice = split.gateway.result_params(split.gateway.transactions[first])
    signed = dict(parse_qsl(vnpay.sign_query(notice, split.secret)))
    answer = await split.service.http.get("/v1/payments/vnpay/ipn", params=signed)
    assert answer.json()["RspCode"] == "02"
    assert replay["vnp_TxnRef"] == first
    assert len(await _types(split, app_id, 5)) == 4
    # the agency's reconciliation agrees: the refunded second payment is no mismatch, the provider says the same
    report = await split.service.http.get(
        "/v1/agency/payments/reconciliation", headers=split.service.officer("UBND-XA")
    )
    lines = {line["txn_ref"]: line for line in report.json()["lines"] if line["application_id"] == app_id}
    assert (lines[first]["status"], lines[first]["mismatch"]) == ("refunded", "")
    assert (lines[second]["status"], lines[second]["provider_status"], lines[second]["mismatch"]) == (
        "paid",
        "paid",
        "",
    )
