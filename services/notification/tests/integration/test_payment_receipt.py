"""The receipt (biên lai) of a paid fee: by email and in the app, once, with the amount, procedure, date and
transaction references."""

import asyncio
from datetime import UTC, datetime
from typing import Any

from motcua.common.contracts.submission import PaymentCompleted
from motcua.devtools.testing import eventually


async def test_a_paid_fee_sends_the_receipt_by_email_and_in_the_app_once(kit: Any, service: Any) -> None:
    citizen = kit.account(full_name="Phạm Văn Long", phone="0914 555 666")
    received = kit.received(citizen, tracking_code="HS-PAY1-RCPT")
    await kit.send(citizen)
    await kit.send(received)
    paid = PaymentCompleted(
        **received.model_dump(exclude={"submitted_at"}),
        amount_vnd=15000,
        provider="vnpay",
        txn_ref="A1B2C3D4E5F6A7B8C9D0",
        transaction_no="14226112",
        paid_at=datetime(2026, 12, 2, 7, 30, tzinfo=UTC),
        bank_code="NCB",
    )
    [envelope] = await kit.send(paid)
    await kit.send(envelope)  # redelivered: still one receipt

    async def receipted() -> bool:
        return any("Biên lai" in m.subject for m in kit.smtp.to(citizen.email))

    await eventually(receipted)
    await asyncio.sleep(0.5)
    [mail] = [m for m in kit.smtp.to(citizen.email) if "Biên lai" in m.subject]
    assert mail.subject == "[Một cửa] Biên lai thu phí, lệ phí hồ sơ HS-PAY1-RCPT"
    for line in (
        "Số tiền: 15.000 VND",
        "Mã giao dịch Một cửa: A1B2C3D4E5F6A7B8C9D0",
        "Mã giao dịch VNPAY: 14226112",
        "Thủ tục: Đăng ký khai sinh",
        "02/12/2026",
    ):
        assert line in mail.text
    sent = await kit.delivery_events(envelope.id, count=2)
    assert sorted(e.data.channel for e in sent) == ["email", "in_app"]
    page = await service.http.get("/v1/notifications", headers=kit.minter.headers(citizen.account_id))
    receipts = [n for n in page.json()["items"] if n["kind"] == "payment_receipt"]
    assert len(receipts) == 1
    assert "15.000 VND" in receipts[0]["title"]
