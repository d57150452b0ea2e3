"""VNPAY 2.1.0 signing and verification against vectors computed apart (openssl dgst -sha512 -hmac), and the
IPN's order of checks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlsplit

import pytest
from motcua.submission import payments, vnpay
from motcua.submission.payments import PaymentStatus

SECRET = "test-hash-secret-0123456789"
TERMINAL = vnpay.Terminal.on_one_host("MOTCUA01", SECRET, "http://127.0.0.1:8009")
AT = datetime(2026, 12, 2, 7, 30, tzinfo=UTC)  # 14:30 in Vietnam
QUERY = (
    "vnp_Amount=1500000&vnp_Command=pay&vnp_CreateDate=20261202143000&vnp_CurrCode=VND&vnp_ExpireDate=20261202144500"
    "&vnp_IpAddr=127.0.0.1&vnp_Locale=vn&vnp_OrderInfo=Le+phi+ho+so+HS-2026&vnp_OrderType=other"
    "&vnp_ReturnUrl=http%3A%2F%2F127.0.0.1%3A8000%2Fv1%2Fpayments%2Fvnpay%2Freturn&vnp_TmnCode=MOTCUA01"
    "&vnp_TxnRef=ABC123&vnp_Version=2.1.0"
)
# printf '%s' "$QUERY" | openssl dgst -sha512 -hmac test-hash-secret-0123456789
HASH = (
    "8d11a28a89ae75dae87d2804768919be432891dc251256aab8db56221d5d43be"
    "0420eb4d3f858693981401a5476188b26656c6ddfab6a8c46c000f3ee18ab40d"
)


def _url() -> str:
    return vnpay.payment_url(
        TERMINAL,
        txn_ref="ABC123",
        amount_vnd=15000,
        order_info="Le phi ho so HS-2026",
        return_url="http://127.0.0.1:8000/v1/payments/vnpay/return",
        ip_addr="127.0.0.1",
        created_at=AT,
        expires_at=AT + timedelta(minutes=15),
    )


def test_the_payment_url_is_the_sorted_encoded_query_signed_with_hmac_sha512() -> None:
    url = _url()
    assert url == f"http://127.0.0.1:8009/paymentv2/vpcpay.html?{QUERY}&vnp_SecureHash={HASH}"


def test_the_payment_page_and_the_merchant_api_may_sit_on_separate_hosts() -> None:
    production = vnpay.Terminal(
        "MOTCUA01",
        SECRET,
        "https://pay.vnpay.vn/vpcpay.html",
        "https://merchant.vnpay.vn/merchant_webapi/api/transaction",
    )
    url = vnpay.payment_url(
        production,
        txn_ref="ABC123",
        amount_vnd=15000,
        order_info="Le phi ho so HS-2026",
        return_url="http://127.0.0.1:8000/v1/payments/vnpay/return",
        ip_addr="127.0.0.1",
        created_at=AT,
        expires_at=AT + timedelta(minutes=15),
    )
    assert url == f"https://pay.vnpay.vn/vpcpay.html?{QUERY}&vnp_SecureHash={HASH}"
    assert SECRET not in repr(production)


def test_the_amount_is_sent_in_hundredths_and_dates_in_vietnam_time() -> None:
    params = dict(parse_qsl(urlsplit(_url()).query))
    assert params["vnp_Amount"] == "1500000"
    assert params["vnp_CreateDate"] == "20261202143000"
    assert vnpay.parse_vnp_date("20261202143000") == AT


def test_a_signed_query_verifies_and_any_change_breaks_it() -> None:
    params = dict(parse_qsl(urlsplit(_url()).query))
    assert vnpay.verify_query(params, SECRET)
    assert vnpay.verify_query({**params, "vnp_SecureHash": HASH.upper()}, SECRET)  # hex case does not matter
    assert not vnpay.verify_query({**params, "vnp_Amount": "100"}, SECRET)
    assert not vnpay.verify_query(params, SECRET + "x")
    assert not vnpay.verify_query({k: v for k, v in params.items() if k != "vnp_SecureHash"}, SECRET)


def test_parameters_outside_vnp_and_the_hash_type_are_not_signed() -> None:
    params = dict(parse_qsl(urlsplit(_url()).query))
    assert vnpay.verify_query({**params, "payment": "x", "vnp_SecureHashType": "HmacSHA512"}, SECRET)


def test_the_transaction_query_is_signed_over_its_fields_joined_by_bars() -> None:
    body = vnpay.query_request(
        TERMINAL,
        request_id="r1",
        txn_ref="ABC123",
        transaction_date="20261202143000",
        at=datetime(2026, 12, 2, 8, 0, tzinfo=UTC),
        ip_addr="127.0.0.1",
    )
    # printf '%s' "r1|2.1.0|querydr|MOTCUA01|ABC123|20261202143000|20261202150000|127.0.0.1|Truy van giao dich ABC123"
    assert body["vnp_SecureHash"] == (
        "7d2e2905f8e8b469e4990822132a3b736a0fa6a44f92c738a1bbb2e9486e836d"
        "01813db216b7ccec5b8224af101e9abb7f4c8240214e835abcec77bc980722dd"
    )
    assert vnpay.verify_fields(body, vnpay.QUERY_FIELDS, SECRET)


def test_a_notice_reads_the_amount_back_in_dong() -> None:
    notice = vnpay.read_notice({"vnp_TxnRef": "A", "vnp_Amount": "1500000", "vnp_ResponseCode": "00",
                                "vnp_TransactionStatus": "00"})  # fmt: skip
    assert notice.amount_vnd == 15000
    assert notice.succeeded
    assert vnpay.read_notice({"vnp_Amount": "150000x"}).amount_vnd is None
    assert vnpay.read_notice({"vnp_Amount": "1500001"}).amount_vnd is None


def _judge(**overrides: object) -> payments.Verdict:
    given: dict[str, object] = {
        "signature_ok": True,
        "order_status": PaymentStatus.PENDING,
        "order_amount_vnd": 15000,
        "notice_amount_vnd": 15000,
        "currency_ok": True,
        "succeeded": True,
    }
    return payments.judge_notice(**{**given, **overrides})  # type: ignore[arg-type]


def test_the_ipn_is_judged_in_vnpays_order_signature_order_amount_confirmation() -> None:
    assert _judge() == payments.Verdict("00", settles_to=PaymentStatus.PAID)
    assert _judge(succeeded=False).settles_to == PaymentStatus.FAILED
    assert _judge(signature_ok=False, order_status=None).code == "97"
    assert _judge(order_status=None).code == "01"
    assert _judge(notice_amount_vnd=1000).code == "04"
    assert _judge(currency_ok=False).code == "04"
    assert _judge(order_status=PaymentStatus.PAID).code == "02"
    assert _judge(order_status=PaymentStatus.PAID, notice_amount_vnd=1).code == "04"
    assert vnpay.ipn_answer("02") == {"RspCode": "02", "Message": "Order already confirmed"}


def test_a_fee_above_zero_is_due_at_submission_and_blocks_acceptance_until_paid() -> None:
    assert payments.at_submission(0) == PaymentStatus.NOT_REQUIRED
    assert payments.at_submission(15000) == PaymentStatus.DUE
    for unpaid in (PaymentStatus.DUE, PaymentStatus.PENDING, PaymentStatus.FAILED):
        with pytest.raises(payments.Unpaid, match="not paid"):
            payments.check_acceptable(unpaid, 15000)
    payments.check_acceptable(PaymentStatus.PAID, 15000)
    payments.check_acceptable(PaymentStatus.NOT_REQUIRED, 0)


def test_only_a_paid_fee_of_a_dossier_never_accepted_is_refunded_on_withdrawal_or_refusal() -> None:
    assert payments.refund_due(PaymentStatus.PAID, to_status="withdrawn", ever_accepted=False)
    assert payments.refund_due(PaymentStatus.PAID, to_status="rejected", ever_accepted=False)
    assert not payments.refund_due(PaymentStatus.PAID, to_status="rejected", ever_accepted=True)
    assert not payments.refund_due(PaymentStatus.DUE, to_status="withdrawn", ever_accepted=False)


def test_a_fee_paid_at_result_is_owed_once_the_result_is_issued_and_withholds_it_until_paid() -> None:
    at_result = payments.FeeDue.AT_RESULT
    assert payments.at_submission(15000, at_result) == PaymentStatus.NOT_REQUIRED
    payments.check_acceptable(payments.at_submission(15000, at_result), 15000)  # intake accepts it unpaid
    assert payments.at_result(PaymentStatus.NOT_REQUIRED, 15000, at_result) == PaymentStatus.DUE
    assert payments.at_result(PaymentStatus.NOT_REQUIRED, 0, at_result) == PaymentStatus.NOT_REQUIRED
    assert payments.at_result(PaymentStatus.PAID, 15000, payments.FeeDue.AT_SUBMISSION) == PaymentStatus.PAID
    for unpaid in (PaymentStatus.DUE, PaymentStatus.PENDING, PaymentStatus.FAILED):
        with pytest.raises(payments.Unpaid, match="released once the fee of 15,000 VND is paid"):
            payments.check_released(unpaid, 15000)
    payments.check_released(PaymentStatus.PAID, 15000)
    payments.check_released(PaymentStatus.NOT_REQUIRED, 0)


def test_an_attempt_is_given_up_only_past_its_expiry_and_grace() -> None:
    grace = timedelta(minutes=2)
    expires = AT + timedelta(minutes=15)
    assert not payments.attempt_expired(expires, expires + timedelta(minutes=1), grace)
    assert payments.attempt_expired(expires, expires + grace, grace)
    assert not payments.attempt_expired(None, AT + timedelta(days=1), grace)


def test_a_late_notice_for_an_expired_attempt_counts_only_when_the_money_was_taken() -> None:
    late = _judge(order_status=PaymentStatus.PAID, order_expired=True)
    assert (late.code, late.settles_to) == ("00", PaymentStatus.PAID)
    assert _judge(order_status=PaymentStatus.PAID, order_expired=True, succeeded=False).code == "02"
    assert _judge(order_expired=True, notice_amount_vnd=1).code == "04"  # still checked in VNPAY's order
