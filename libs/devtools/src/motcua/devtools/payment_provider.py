"""A local VNPAY 2.1.0 gateway for `make run` and the tests: the payment page ("Thanh toán" / "Hủy"), the signed
redirect back to the merchant's return URL, the signed IPN call to the merchant's IPN URL, and the transaction
query (querydr) and refund APIs. Development tooling only.

Behaviour for a test or a demo, as query parameters of the payment URL's page form or settings:
`ipn_delay_seconds`, `fail` (the bank declines: response code 51), `duplicate_ipn` (the IPN is sent twice),
`skip_ipn` (no IPN at all: the merchant must settle by querydr), `ignore_expiry` (the bank takes the money
after vnp_ExpireDate, as a real provider's race may: the late IPN a merchant must still handle).

The page honours `vnp_ExpireDate`: after it, the page takes no payment (response code 11, "expired"), and
querydr reports an unfinished transaction past it as failed with 11. The page and the merchant API can be served
by two apps on two ports (`build_provider(parts=…)`), as production VNPAY serves them from two hosts.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import html
import os
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Annotated, Any
from urllib.parse import urlencode

import httpx
import uvicorn
from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from motcua.devtools import devservers

# The provider's side, written apart from submission's `vnpay` module on purpose: the tests then check two
# readings of VNPAY's specification against each other, not one module against itself.
SUCCESS, CANCELLED = "00", "24"
QUERY_FIELDS = (
    "vnp_RequestId", "vnp_Version", "vnp_Command", "vnp_TmnCode", "vnp_TxnRef", "vnp_TransactionDate",
    "vnp_CreateDate", "vnp_IpAddr", "vnp_OrderInfo",
)  # fmt: skip
REFUND_FIELDS = (
    "vnp_RequestId", "vnp_Version", "vnp_Command", "vnp_TmnCode", "vnp_TransactionType", "vnp_TxnRef",
    "vnp_Amount", "vnp_TransactionNo", "vnp_TransactionDate", "vnp_CreateBy", "vnp_CreateDate", "vnp_IpAddr",
    "vnp_OrderInfo",
)  # fmt: skip
QUERY_ANSWER_FIELDS = (
    "vnp_ResponseId", "vnp_Command", "vnp_ResponseCode", "vnp_Message", "vnp_TmnCode", "vnp_TxnRef",
    "vnp_Amount", "vnp_BankCode", "vnp_PayDate", "vnp_TransactionNo", "vnp_TransactionType",
    "vnp_TransactionStatus", "vnp_OrderInfo", "vnp_PromotionCode", "vnp_PromotionAmount",
)  # fmt: skip
REFUND_ANSWER_FIELDS = QUERY_ANSWER_FIELDS[:13]


def _hmac(secret: str, data: str) -> str:
    return hmac.new(secret.encode(), data.encode(), hashlib.sha512).hexdigest()


def _query(params: dict[str, str]) -> str:
    pairs = sorted(
        (k, v) for k, v in params.items() if k.startswith("vnp_") and k not in ("vnp_SecureHash", "vnp_SecureHashType")
    )
    return urlencode(pairs)  # quote_plus, as VNPAY's samples encode


def sign_query(params: dict[str, str], secret: str) -> str:
    query = _query(params)
    return f"{query}&vnp_SecureHash={_hmac(secret, query)}"


def verify_query(params: dict[str, str], secret: str) -> bool:
    return hmac.compare_digest(params.get("vnp_SecureHash", "").lower(), _hmac(secret, _query(params)))


def sign_fields(values: dict[str, str], order: tuple[str, ...], secret: str) -> str:
    return _hmac(secret, "|".join(values.get(name, "") for name in order))


VIETNAM = timezone(timedelta(hours=7))
EXPIRED = "11"  # the customer did not pay before vnp_ExpireDate


def vnp_date(at: datetime) -> str:
    return at.astimezone(VIETNAM).strftime("%Y%m%d%H%M%S")


def _expiry(params: dict[str, str]) -> datetime | None:
    try:
        return datetime.strptime(params.get("vnp_ExpireDate", ""), "%Y%m%d%H%M%S").replace(tzinfo=VIETNAM)
    except ValueError:
        return None


DEV_SECRET = devservers.LOCAL_VNPAY_SECRET
DEV_TMN_CODE = devservers.LOCAL_VNPAY_TMN_CODE


@dataclass
class ProviderConfig:
    hash_secret: str = DEV_SECRET
    tmn_code: str = DEV_TMN_CODE
    ipn_url: str = "http://127.0.0.1:8000/v1/payments/vnpay/ipn"
    ipn_delay_seconds: float = 0.0
    duplicate_ipn: bool = False
    skip_ipn: bool = False


@dataclass
class Transaction:
    params: dict[str, str]
    status: str = "01"  # 01 not finished, 00 paid, 02 failed; refunded: 00 with refunded set
    response_code: str = ""
    transaction_no: str = ""
    pay_date: str = ""
    bank_code: str = "NCB"
    refunded: bool = False
    ipns: list[dict[str, str]] = field(default_factory=list)  # each IPN's answer, for tests

    @property
    def expired(self) -> bool:
        """Unfinished, and past the vnp_ExpireDate the merchant sent: the page takes no payment any more."""
        expires_at = _expiry(self.params)
        return self.status == "01" and expires_at is not None and datetime.now(UTC) > expires_at

    def as_queried(self) -> Transaction:
        """What querydr reports: an unfinished transaction past its expiry is a failed one (11)."""
        if self.expired:
            return Transaction(params=self.params, status="02", response_code=EXPIRED, bank_code=self.bank_code)
        return self


class LocalGateway:
    """The provider's state (its transactions, for tests to look at) and its pages and API."""

    def __init__(self, config: ProviderConfig) -> None:
        self.config = config
        self.transactions: dict[str, Transaction] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def result_params(self, txn: Transaction) -> dict[str, str]:
        p = txn.params
        return {
            "vnp_TmnCode": p["vnp_TmnCode"],
            "vnp_Amount": p["vnp_Amount"],
            "vnp_BankCode": txn.bank_code,
            "vnp_CardType": "ATM",
            "vnp_OrderInfo": p.get("vnp_OrderInfo", ""),
            "vnp_PayDate": txn.pay_date,
            "vnp_ResponseCode": txn.response_code,
            "vnp_TransactionNo": txn.transaction_no,
            "vnp_TransactionStatus": txn.status,
            "vnp_TxnRef": p["vnp_TxnRef"],
        }

    async def send_ipn(self, txn: Transaction, times: int, delay: float) -> None:
        await asyncio.sleep(delay)
        query = sign_query(self.result_params(txn), self.config.hash_secret)
        async with httpx.AsyncClient(timeout=10) as http:
            for _ in range(times):
                try:
                    answer = await http.get(f"{self.config.ipn_url}?{query}")
                    txn.ipns.append(answer.json())
                except (httpx.HTTPError, ValueError) as exc:
                    txn.ipns.append({"error": str(exc)})

    async def page(self, request: Request) -> HTMLResponse:
        """The payment page: the amount, "Thanh toán" (pay) and "Hủy" (cancel)."""
        params = dict(request.query_params)
        if params.get("vnp_TmnCode") != self.config.tmn_code or not verify_query(params, self.config.hash_secret):
            return HTMLResponse("<h1>Sai chữ ký (invalid signature)</h1>", status_code=400)
        ref = params["vnp_TxnRef"]
        signed = {k: v for k, v in params.items() if k.startswith("vnp_")}
        txn = self.transactions.setdefault(ref, Transaction(params=signed))
        if txn.expired and request.query_params.get("ignore_expiry") != "true":
            return HTMLResponse(
                "<h1>Giao dịch đã quá thời gian chờ thanh toán (the payment time has expired)</h1>", status_code=400
            )
        amount = int(params["vnp_Amount"]) // 100
        info = html.escape(params.get("vnp_OrderInfo", ""))
        options = html.escape(_options(request))
        return HTMLResponse(
            f"""<!doctype html><html lang="vi"><head><meta charset="utf-8"><title>VNPAY (local)</title></head>
<body><h1>Cổng thanh toán VNPAY (local)</h1><p>{info}</p><p>Số tiền: <strong>{amount:,} VND</strong></p>
<form method="post" action="/paymentv2/decide{options}"><input type="hidden" name="txn_ref" value="{html.escape(ref)}">
<button name="choice" value="pay">Thanh toán</button> <button name="choice" value="cancel">Hủy</button></form>
</body></html>"""
        )

    async def decide(
        self,
        txn_ref: Annotated[str, Form(max_length=100)],
        choice: Annotated[str, Form(pattern="^(pay|cancel)$")],
        fail: bool = False,
        duplicate_ipn: bool = False,
        skip_ipn: bool = False,
        ipn_delay_seconds: float = 0.0,
        ignore_expiry: bool = False,
    ) -> RedirectResponse:
        """The customer's choice: the transaction is settled, the IPN sent, the browser sent back signed; after
        vnp_ExpireDate it fails as expired (11), unless `ignore_expiry` (the bank was late)."""
        txn = self.transactions.get(txn_ref)
        if txn is None:
            return RedirectResponse("/", status_code=303)
        if txn.status == "01":
            txn.transaction_no = str(uuid.uuid4().int)[:8]
            txn.pay_date = vnp_date(datetime.now(UTC))
            if txn.expired and not ignore_expiry:
                txn.response_code, txn.status = EXPIRED, "02"
            elif choice == "cancel":
                txn.response_code, txn.status = CANCELLED, "02"
            elif fail:
                txn.response_code, txn.status = "51", "02"  # insufficient funds
            else:
                txn.response_code, txn.status = SUCCESS, SUCCESS
            if not (skip_ipn or self.config.skip_ipn):
                times = 2 if (duplicate_ipn or self.config.duplicate_ipn) else 1
                delay = ipn_delay_seconds or self.config.ipn_delay_seconds
                task = asyncio.create_task(self.send_ipn(txn, times, delay))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
        back = sign_query(self.result_params(txn), self.config.hash_secret)
        return RedirectResponse(f"{txn.params['vnp_ReturnUrl']}?{back}", status_code=303)

    def _answer(self, body: dict[str, str], fields: tuple[str, ...], **values: str) -> JSONResponse:
        answer = {"vnp_ResponseId": uuid.uuid4().hex, "vnp_Command": body.get("vnp_Command", ""), **values}
        answer["vnp_TmnCode"] = self.config.tmn_code
        answer["vnp_SecureHash"] = sign_fields(answer, fields, self.config.hash_secret)
        return JSONResponse(answer)

    async def api(self, request: Request) -> JSONResponse:
        """The merchant API: `querydr` (transaction query) and `refund` (full refund of a paid transaction)."""
        body: dict[str, Any] = await request.json()
        values = {str(k): str(v) for k, v in body.items()}
        command = values.get("vnp_Command")
        order = QUERY_FIELDS if command == "querydr" else REFUND_FIELDS
        given = values.get("vnp_SecureHash", "").lower()
        # every answer is signed over its command's answer fields, errors included
        answer_fields = QUERY_ANSWER_FIELDS if command == "querydr" else REFUND_ANSWER_FIELDS
        if command not in ("querydr", "refund") or not hmac.compare_digest(
            given, sign_fields(values, order, self.config.hash_secret)
        ):
            return self._answer(values, answer_fields, vnp_ResponseCode="97", vnp_Message="Invalid checksum")
        txn = self.transactions.get(values.get("vnp_TxnRef", ""))
        if txn is None:
            return self._answer(values, answer_fields, vnp_ResponseCode="91", vnp_Message="Not found")
        queried = txn.as_queried() if command == "querydr" else txn
        result = {**self.result_params(queried), "vnp_TransactionType": "01", "vnp_Message": "OK"}
        if command == "querydr":
            return self._answer(values, QUERY_ANSWER_FIELDS, vnp_ResponseCode="00", **_without_tmn(result))
        if txn.status != SUCCESS or txn.refunded or values.get("vnp_Amount") != txn.params["vnp_Amount"]:
            return self._answer(values, REFUND_ANSWER_FIELDS, vnp_ResponseCode="94", vnp_Message="Refund refused")
        txn.refunded = True
        result["vnp_TransactionType"] = "02"
        return self._answer(values, REFUND_ANSWER_FIELDS, vnp_ResponseCode="00", **_without_tmn(result))


def _options(request: Request) -> str:
    """The page's test behaviour (fail, duplicate_ipn, skip_ipn, ipn_delay_seconds), passed on to the form."""
    kept = {k: v for k, v in request.query_params.items() if k in OPTIONS}
    return f"?{urlencode(kept)}" if kept else ""


OPTIONS = ("fail", "duplicate_ipn", "skip_ipn", "ipn_delay_seconds", "ignore_expiry")
PAGE_PATH = "/paymentv2/vpcpay.html"  # the sandbox's paths; production's page is pay.vnpay.vn/vpcpay.html
API_PATH = "/merchant_webapi/api/transaction"


def build_provider(
    config: ProviderConfig | None = None,
    *,
    gateway: LocalGateway | None = None,
    parts: tuple[str, ...] = ("page", "api"),
    page_path: str = PAGE_PATH,
    api_path: str = API_PATH,
) -> FastAPI:
    """The local gateway's app; `app.state.gateway` is its `LocalGateway`. `parts` ("page", "api") and the paths
    choose what this app serves: two apps sharing one `gateway` are production's two hosts."""
    gateway = gateway or LocalGateway(config or ProviderConfig())
    app = FastAPI(title="Local VNPAY gateway (development)")
    app.state.gateway = gateway
    if "page" in parts:
        app.add_api_route(page_path, gateway.page, methods=["GET"], response_class=HTMLResponse)
        app.add_api_route("/paymentv2/decide", gateway.decide, methods=["POST"])
    if "api" in parts:
        app.add_api_route(api_path, gateway.api, methods=["POST"])
    return app


def _without_tmn(values: dict[str, str]) -> dict[str, str]:
    # the answer's own vnp_ResponseCode is the API's result; the transaction's is its vnp_TransactionStatus
    return {k: v for k, v in values.items() if k not in ("vnp_TmnCode", "vnp_CardType", "vnp_ResponseCode")}


def main() -> None:
    """`python -m motcua.devtools.payment_provider`: PAYMENT_PROVIDER_PORT (8009), VNPAY_HASH_SECRET,
    VNPAY_TMN_CODE, PAYMENT_IPN_URL."""
    config = ProviderConfig(
        hash_secret=os.environ.get("VNPAY_HASH_SECRET", DEV_SECRET),
        tmn_code=os.environ.get("VNPAY_TMN_CODE", DEV_TMN_CODE),
        ipn_url=os.environ.get("PAYMENT_IPN_URL", ProviderConfig.ipn_url),
    )
    port = int(os.environ.get("PAYMENT_PROVIDER_PORT", "8009"))
    uvicorn.run(build_provider(config), host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    main()
