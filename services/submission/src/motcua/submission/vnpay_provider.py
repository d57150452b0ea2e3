"""The VNPAY adapter of `PaymentProvider`: the checkout URL, and the transaction query and refund APIs over HTTP."""

from __future__ import annotations

import uuid
from datetime import datetime

import httpx
import structlog
from motcua.common.clock import now
from motcua.submission import vnpay
from motcua.submission.payments import Checkout, Settlement

log = structlog.get_logger(__name__)

SERVER_IP = "127.0.0.1"  # the merchant server's address, as the API requests declare it


class VnpayProvider:
    name = "vnpay"

    def __init__(self, terminal: vnpay.Terminal, *, timeout: float = 10.0) -> None:
        self.terminal = terminal
        self.timeout = timeout

    def checkout_url(self, checkout: Checkout) -> str:
        return vnpay.payment_url(
            self.terminal,
            txn_ref=checkout.txn_ref,
            amount_vnd=checkout.amount_vnd,
            order_info=checkout.order_info,
            return_url=checkout.return_url,
            ip_addr=checkout.ip_addr,
            created_at=checkout.created_at,
            expires_at=checkout.expires_at,
        )

    async def _post(self, body: dict[str, str]) -> dict[str, str] | None:
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as http:
                response = await http.post(self.terminal.api_url, json=body)
            response.raise_for_status()
            answer = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            log.warning(
                "vnpay_api_unreachable", command=body["vnp_Command"], txn_ref=body["vnp_TxnRef"], error=str(exc)
            )
            return None
        return {str(k): str(v) for k, v in answer.items()} if isinstance(answer, dict) else None

    async def query(self, txn_ref: str, created_at: datetime) -> Settlement:
        body = vnpay.query_request(
            self.terminal,
            request_id=uuid.uuid4().hex,
            txn_ref=txn_ref,
            transaction_date=vnpay.vnp_date(created_at),
            at=now(),
            ip_addr=SERVER_IP,
        )
        answer = await self._post(body)
        unknown = Settlement(found=False, succeeded=False, final=False, answered=False)
        if answer is None:
            return unknown
        if not vnpay.verify_fields(answer, vnpay.QUERY_ANSWER_FIELDS, self.terminal.hash_secret):
            log.warning("vnpay_query_answer_forged", txn_ref=txn_ref)
            return unknown
        code = answer.get("vnp_ResponseCode")
        if code == vnpay.NOT_FOUND:  # the customer never reached the provider's page
            return Settlement(found=False, succeeded=False, final=False)
        if code != vnpay.SUCCESS:
            return unknown
        status = answer.get("vnp_TransactionStatus", "")
        # 00 paid; 01 not finished yet (the customer is still on the page); anything else failed or reversed
        return Settlement(
            found=True,
            succeeded=status == vnpay.SUCCESS,
            final=status != vnpay.UNFINISHED,
            transaction_no=answer.get("vnp_TransactionNo", ""),
            response_code=status,
        )

    async def refund(self, txn_ref: str, amount_vnd: int, transaction_no: str, created_at: datetime, by: str) -> bool:
        body = vnpay.refund_request(
            self.terminal,
            request_id=uuid.uuid4().hex,
            txn_ref=txn_ref,
            amount_vnd=amount_vnd,
            transaction_no=transaction_no,
            transaction_date=vnpay.vnp_date(created_at),
            created_by=by,
            at=now(),
            ip_addr=SERVER_IP,
        )
        answer = await self._post(body)
        if answer is None:
            return False
        if not vnpay.verify_fields(answer, vnpay.REFUND_ANSWER_FIELDS, self.terminal.hash_secret):
            log.warning("vnpay_refund_answer_forged", txn_ref=txn_ref)
            return False
        return answer.get("vnp_ResponseCode") == vnpay.SUCCESS
