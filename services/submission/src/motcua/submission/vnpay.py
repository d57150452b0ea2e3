"""The VNPAY payment gateway protocol, version 2.1.0 — pure: signing, verifying, the IPN's answers.

From VNPAY's published merchant specification: the payment URL carries `vnp_*` parameters sorted by name,
form-url-encoded (`quote_plus`), and `vnp_SecureHash`, the HMAC-SHA512 (hex) of that encoded query under the
terminal's hash secret. The return URL and the IPN carry the same kind of signed query. The transaction query
(`querydr`) and refund APIs are JSON POSTs signed over their fields joined by `|` in a fixed order.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Final
from urllib.parse import quote_plus

VERSION: Final = "2.1.0"
VIETNAM = timezone(timedelta(hours=7))  # VNPAY's dates are GMT+7, yyyyMMddHHmmss
HASH_FIELDS: Final = ("vnp_SecureHash", "vnp_SecureHashType")

# vnp_ResponseCode / vnp_TransactionStatus "00" is success; "24" is the customer cancelling; "11" is the
# payment's waiting time (vnp_ExpireDate) passing. A querydr's own vnp_ResponseCode "91": no such transaction.
SUCCESS: Final = "00"
CANCELLED: Final = "24"
EXPIRED: Final = "11"
NOT_FOUND: Final = "91"
UNFINISHED: Final = "01"

# What the merchant answers an IPN with (VNPAY retries until it gets one of these).
IPN_ANSWERS: Final = {
    "00": "Confirm Success",
    "01": "Order not found",
    "02": "Order already confirmed",
    "04": "invalid amount",
    "97": "Invalid Checksum",
    "99": "Unknow error",  # sic: VNPAY's own text
}

QUERY_FIELDS: Final = (
    "vnp_RequestId",
    "vnp_Version",
    "vnp_Command",
    "vnp_TmnCode",
    "vnp_TxnRef",
    "vnp_TransactionDate",
    "vnp_CreateDate",
    "vnp_IpAddr",
    "vnp_OrderInfo",
)
REFUND_FIELDS: Final = (
    "vnp_RequestId",
    "vnp_Version",
    "vnp_Command",
    "vnp_TmnCode",
    "vnp_TransactionType",
    "vnp_TxnRef",
    "vnp_Amount",
    "vnp_TransactionNo",
    "vnp_TransactionDate",
    "vnp_CreateBy",
    "vnp_CreateDate",
    "vnp_IpAddr",
    "vnp_OrderInfo",
)
QUERY_ANSWER_FIELDS: Final = (
    "vnp_ResponseId",
    "vnp_Command",
    "vnp_ResponseCode",
    "vnp_Message",
    "vnp_TmnCode",
    "vnp_TxnRef",
    "vnp_Amount",
    "vnp_BankCode",
    "vnp_PayDate",
    "vnp_TransactionNo",
    "vnp_TransactionType",
    "vnp_TransactionStatus",
    "vnp_OrderInfo",
    "vnp_PromotionCode",
    "vnp_PromotionAmount",
)
REFUND_ANSWER_FIELDS: Final = QUERY_ANSWER_FIELDS[:13]


def vnp_date(at: datetime) -> str:
    """`at` as VNPAY writes dates: Vietnam time, yyyyMMddHHmmss."""
    return at.astimezone(VIETNAM).strftime("%Y%m%d%H%M%S")


def parse_vnp_date(text: str) -> datetime:
    return datetime.strptime(text, "%Y%m%d%H%M%S").replace(tzinfo=VIETNAM)


def hmac_sha512(secret: str, data: str) -> str:
    return hmac.new(secret.encode(), data.encode(), hashlib.sha512).hexdigest()


def canonical_query(params: Mapping[str, str]) -> str:
    """The `vnp_*` parameters but the hash, sorted by name, each `name=quote_plus(value)`, joined by `&`."""
    items = sorted((k, v) for k, v in params.items() if k.startswith("vnp_") and k not in HASH_FIELDS)
    return "&".join(f"{k}={quote_plus(str(v))}" for k, v in items)


def sign_query(params: Mapping[str, str], secret: str) -> str:
    """The signed query string: canonical query then `&vnp_SecureHash=…`."""
    query = canonical_query(params)
    return f"{query}&vnp_SecureHash={hmac_sha512(secret, query)}"


def verify_query(params: Mapping[str, str], secret: str) -> bool:
    """Whether `vnp_SecureHash` signs the other `vnp_*` parameters under `secret` (constant-time comparison)."""
    given = params.get("vnp_SecureHash", "")
    expected = hmac_sha512(secret, canonical_query(params))
    return hmac.compare_digest(given.lower(), expected)


def sign_fields(values: Mapping[str, str], order: tuple[str, ...], secret: str) -> str:
    """The API's checksum: the fields in `order` joined by `|` (a missing one as empty)."""
    return hmac_sha512(secret, "|".join(str(values.get(name, "")) for name in order))


def verify_fields(values: Mapping[str, str], order: tuple[str, ...], secret: str) -> bool:
    given = str(values.get("vnp_SecureHash", ""))
    return hmac.compare_digest(given.lower(), sign_fields(values, order, secret))


PAY_PATH: Final = "/paymentv2/vpcpay.html"  # the sandbox's (and the local provider's) paths under one host
API_PATH: Final = "/merchant_webapi/api/transaction"


@dataclass(frozen=True)
class Terminal:
    """A merchant terminal: its code, its hash secret, and where the gateway's payment page and merchant API are
    (two hosts in production: pay.vnpay.vn and merchant.vnpay.vn)."""

    tmn_code: str
    hash_secret: str = field(repr=False)
    pay_url: str  # e.g. https://pay.vnpay.vn/vpcpay.html
    api_url: str  # e.g. https://merchant.vnpay.vn/merchant_webapi/api/transaction

    @classmethod
    def on_one_host(cls, tmn_code: str, hash_secret: str, base_url: str) -> Terminal:
        """A terminal whose page and API sit on one host under the sandbox's paths."""
        base = base_url.rstrip("/")
        return cls(tmn_code, hash_secret, base + PAY_PATH, base + API_PATH)


def payment_url(
    terminal: Terminal,
    *,
    txn_ref: str,
    amount_vnd: int,
    order_info: str,
    return_url: str,
    ip_addr: str,
    created_at: datetime,
    expires_at: datetime,
    locale: str = "vn",
) -> str:
    """The address the citizen's browser is sent to (`vnp_Amount` is the amount times 100, VNPAY's rule); the
    provider's page takes the payment until `expires_at` (`vnp_ExpireDate`)."""
    params = {
        "vnp_Version": VERSION,
        "vnp_Command": "pay",
        "vnp_TmnCode": terminal.tmn_code,
        "vnp_Amount": str(amount_vnd * 100),
        "vnp_CurrCode": "VND",
        "vnp_TxnRef": txn_ref,
        "vnp_OrderInfo": order_info,
        "vnp_OrderType": "other",
        "vnp_Locale": locale,
        "vnp_ReturnUrl": return_url,
        "vnp_IpAddr": ip_addr,
        "vnp_CreateDate": vnp_date(created_at),
        "vnp_ExpireDate": vnp_date(expires_at),
    }
    return f"{terminal.pay_url}?{sign_query(params, terminal.hash_secret)}"


@dataclass(frozen=True)
class Notice:
    """What a signed return or IPN query says about a payment."""

    txn_ref: str
    amount_vnd: int | None  # None when vnp_Amount is not a whole number of đồng
    currency_ok: bool
    response_code: str
    transaction_status: str
    transaction_no: str
    bank_code: str
    pay_date: str

    @property
    def succeeded(self) -> bool:
        return self.response_code == SUCCESS and self.transaction_status == SUCCESS


def read_notice(params: Mapping[str, str]) -> Notice:
    raw = params.get("vnp_Amount", "")
    amount = int(raw) // 100 if raw.isdigit() and int(raw) % 100 == 0 else None
    return Notice(
        txn_ref=params.get("vnp_TxnRef", ""),
        amount_vnd=amount,
        currency_ok=params.get("vnp_CurrCode", "VND") == "VND",
        response_code=params.get("vnp_ResponseCode", ""),
        transaction_status=params.get("vnp_TransactionStatus", ""),
        transaction_no=params.get("vnp_TransactionNo", ""),
        bank_code=params.get("vnp_BankCode", ""),
        pay_date=params.get("vnp_PayDate", ""),
    )


def ipn_answer(code: str) -> dict[str, str]:
    """The JSON body VNPAY expects back from the IPN URL."""
    return {"RspCode": code, "Message": IPN_ANSWERS[code]}


def query_request(
    terminal: Terminal, *, request_id: str, txn_ref: str, transaction_date: str, at: datetime, ip_addr: str
) -> dict[str, str]:
    """The signed body of a transaction query (`querydr`)."""
    body = {
        "vnp_RequestId": request_id,
        "vnp_Version": VERSION,
        "vnp_Command": "querydr",
        "vnp_TmnCode": terminal.tmn_code,
        "vnp_TxnRef": txn_ref,
        "vnp_OrderInfo": f"Truy van giao dich {txn_ref}",
        "vnp_TransactionDate": transaction_date,
        "vnp_CreateDate": vnp_date(at),
        "vnp_IpAddr": ip_addr,
    }
    return {**body, "vnp_SecureHash": sign_fields(body, QUERY_FIELDS, terminal.hash_secret)}


def refund_request(
    terminal: Terminal,
    *,
    request_id: str,
    txn_ref: str,
    amount_vnd: int,
    transaction_no: str,
    transaction_date: str,
    created_by: str,
    at: datetime,
    ip_addr: str,
) -> dict[str, str]:
    """The signed body of a full refund (`vnp_TransactionType` 02)."""
    body = {
        "vnp_RequestId": request_id,
        "vnp_Version": VERSION,
        "vnp_Command": "refund",
        "vnp_TmnCode": terminal.tmn_code,
        "vnp_TransactionType": "02",
        "vnp_TxnRef": txn_ref,
        "vnp_Amount": str(amount_vnd * 100),
        "vnp_OrderInfo": f"Hoan tien giao dich {txn_ref}",
        "vnp_TransactionNo": transaction_no,
        "vnp_TransactionDate": transaction_date,
        "vnp_CreateBy": created_by,
        "vnp_CreateDate": vnp_date(at),
        "vnp_IpAddr": ip_addr,
    }
    return {**body, "vnp_SecureHash": sign_fields(body, REFUND_FIELDS, terminal.hash_secret)}
