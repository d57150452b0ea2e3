"""The receipt (biên lai) of a paid fee: by email and in the app, once, with the amount, procedure, date and
transaction references."""

import asyncio
from datetime import UTC, datetime
from typing import Any

from motcua.common.contracts.submission import ApplicationResultIssued, PaymentCompleted
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


async def test_a_result_awaiting_its_fee_asks_for_the_fee_without_the_documents_code(kit: Any, service: Any) -> None:
    """A fee paid at result: the result's message asks for the fee (email, SMS, in-app), and tells neither the
    verification code nor the download link; the receipt of the payment then releases it, with the link."""
    citizen = kit.account(full_name="Đỗ Thị Hạnh", phone="0914 777 888")
    received = kit.received(citizen, tracking_code="HS-PAY2-ATRS")
    await kit.send(citizen)
    fields = received.model_dump(exclude={"submitted_at"})
    issued = ApplicationResultIssued(
        **fields,
        verification_code="K7M2Q9TX4B8N1C6D",
        sha256="ab" * 32,
        size=2048,
        made_from="template",
        issued_at=datetime(2026, 12, 2, 8, 0, tzinfo=UTC),
        fee_due_vnd=100000,
    )
    [envelope] = await kit.send(issued)
    await kit.send(envelope)  # redelivered: still one message each

    async def asked() -> bool:
        return any("mời nộp lệ phí" in m.subject for m in kit.smtp.to(citizen.email))

    await eventually(asked)
    await asyncio.sleep(0.5)
    [mail] = [m for m in kit.smtp.to(citizen.email) if "mời nộp lệ phí" in m.subject]
    assert mail.subject == "[Một cửa] Hồ sơ HS-PAY2-ATRS đã có kết quả: mời nộp lệ phí 100.000 VND"
    assert "nộp lệ phí trực tuyến" in mail.text.lower()
    html = mail.message.get_body(("html",))
    assert html is not None
    assert "Nộp lệ phí trực tuyến" in html.get_content()
    assert "K7M2Q9TX4B8N1C6D" not in mail.text + html.get_content()
    assert "#result" not in mail.text
    sent = await kit.delivery_events(envelope.id, count=3)
    assert sorted(e.data.channel for e in sent) == ["email", "in_app", "sms"]
    page = await service.http.get("/v1/notifications", headers=kit.minter.headers(citizen.account_id))
    due = [n for n in page.json()["items"] if n["kind"] == "payment_due"]
    assert len(due) == 1
    assert "nộp lệ phí" in due[0]["title"]
    assert "K7M2Q9TX4B8N1C6D" not in due[0]["body"]

    paid = PaymentCompleted(
        **fields,
        amount_vnd=100000,
        provider="vnpay",
        txn_ref="F1E2D3C4B5A6F7E8D9C0",
        transaction_no="14226113",
        paid_at=datetime(2026, 12, 2, 9, 0, tzinfo=UTC),
        result_released=True,
    )
    await kit.send(paid)

    async def receipted() -> bool:
        return any("Biên lai" in m.subject for m in kit.smtp.to(citizen.email))

    await eventually(receipted)
    [receipt] = [m for m in kit.smtp.to(citizen.email) if "Biên lai" in m.subject]
    assert "Kết quả của hồ sơ đã được mở cho bạn" in receipt.text
    assert f"/applications/{received.application_id}#result" in receipt.text
