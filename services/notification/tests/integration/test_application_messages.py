import asyncio
from datetime import UTC, date, datetime
from typing import Any

from motcua.common.contracts.notification import NotificationSent
from motcua.common.contracts.submission import ApologyIssued
from motcua.devtools.testing import eventually


async def test_an_application_received_sends_one_email_one_sms_and_one_in_app_notification_even_when_redelivered(
    kit: Any, service: Any
) -> None:
    citizen = kit.account(full_name="Nguyễn Thị Hồng Nhung", phone="0912 345 678")
    received = kit.received(citizen, tracking_code="HS-7KQ2-9XPA")
    await kit.send(citizen)
    [envelope] = await kit.send(received)

    async def delivered() -> bool:
        return len(kit.smtp.to(citizen.email)) == 1 and len(kit.sms.to("+84912345678")) == 1

    await eventually(delivered)
    sent = await kit.delivery_events(envelope.id, count=3)
    assert sorted(e.data.channel for e in sent) == ["email", "in_app", "sms"]
    assert all(isinstance(e.data, NotificationSent) and e.data.cause_event_id == envelope.id for e in sent)

    # the same event again (same ce_id), then a later one on the same key to know the first was handled
    await kit.send(envelope)
    later = kit.changed(received, "processing")
    await kit.send(later)

    async def later_delivered() -> bool:
        return len(kit.smtp.to(citizen.email)) >= 2

    await eventually(later_delivered)
    await asyncio.sleep(0.3)
    mails = kit.smtp.to(citizen.email)
    assert len(mails) == 2
    assert len(kit.sms.to("+84912345678")) == 2
    assert len(await kit.delivery_events(envelope.id, count=3)) == 3  # nothing more about the redelivered one

    mail = mails[0]
    assert mail.subject == "[Một cửa] Đã nộp hồ sơ HS-7KQ2-9XPA – Đăng ký khai sinh"
    assert mail.message["To"].addresses[0].display_name == "Nguyễn Thị Hồng Nhung"
    assert mail.message["To"].addresses[0].addr_spec == citizen.email
    text = mail.text
    html = mail.message.get_body(("html",)).get_content()
    for body in (text, html):
        assert "HS-7KQ2-9XPA" in body
        assert "04/12/2026" in body
        assert f"http://127.0.0.1:8000/applications/{received.application_id}" in body
        assert "http://127.0.0.1:8000/lookup/HS-7KQ2-9XPA" in body
    assert "Ngày hẹn trả kết quả: 04/12/2026" in text
    assert mails[1].subject == "[Một cửa] Hồ sơ HS-7KQ2-9XPA: Đang xử lý"
    sms = kit.sms.to("+84912345678")[0]
    assert "HS-7KQ2-9XPA" in sms.text
    assert "04/12/2026" in sms.text


async def test_events_handled_together_each_reach_their_applicant_with_details_that_came_in_the_same_batch(
    kit: Any, service: Any
) -> None:
    # a consumer batch reads its applicants' contacts once: one who registers in the same batch as their
    # first dossier, and one with two dossiers in it, still get every message
    newcomer = kit.account(full_name="Trần Văn Nam")
    regular = kit.account(full_name="Lê Thị Mai")
    await kit.send(regular)
    first = kit.received(regular, tracking_code="HS-AAAA-0001")
    second = kit.received(regular, tracking_code="HS-AAAA-0002")
    hers = kit.received(newcomer, tracking_code="HS-AAAA-0003")
    await kit.send(first, newcomer, hers, second)

    async def delivered() -> bool:
        return len(kit.smtp.to(regular.email)) == 2 and len(kit.smtp.to(newcomer.email)) == 1

    await eventually(delivered)
    codes = sorted(next(w for w in m.subject.split() if w.startswith("HS-")) for m in kit.smtp.to(regular.email))
    assert codes == ["HS-AAAA-0001", "HS-AAAA-0002"]
    [mail] = kit.smtp.to(newcomer.email)
    assert "HS-AAAA-0003" in mail.subject
    assert mail.message["To"].addresses[0].display_name == "Trần Văn Nam"


async def test_a_citizen_reads_and_marks_read_their_notifications_in_their_language_and_no_one_else_sees_them(
    kit: Any, service: Any
) -> None:
    english = kit.account(locale="en", full_name="Trần Văn Bình")
    other = kit.account()
    received = kit.received(english, tracking_code="HS-ENGL-0001")
    supplement = kit.changed(received, "supplement_requested", comment="Please attach the <b>original</b> certificate")
    await kit.send(english, other, received, supplement)

    async def both_in_app() -> Any:
        page = await service.http.get("/v1/notifications", headers=kit.minter.headers(english.account_id))
        return page.json() if page.status_code == 200 and page.json()["total"] == 2 else None

    page = await eventually(both_in_app)
    newest, first = page["items"]
    assert page["unread"] == 2
    assert newest["title"] == "Application HS-ENGL-0001: More documents needed"
    assert "original" in newest["body"]
    assert newest["link"] == f"http://127.0.0.1:8000/applications/{received.application_id}"
    assert newest["status"] == "supplement_requested"
    assert first["title"] == "Application HS-ENGL-0001 submitted"
    assert first["body"] == ('Your application "Birth registration" has been submitted. Result due by 4 December 2026.')
    assert not first["read"]

    owner = kit.minter.headers(english.account_id)
    stranger = kit.minter.headers(other.account_id)
    one = await service.http.get("/v1/notifications?page=2&page_size=1", headers=owner)
    assert [i["id"] for i in one.json()["items"]] == [first["id"]]

    assert (await service.http.post(f"/v1/notifications/{first['id']}/read", headers=stranger)).status_code == 404
    read = await service.http.post(f"/v1/notifications/{first['id']}/read", headers=owner)
    assert read.status_code == 200
    assert read.json()["read"] is True
    again = await service.http.post(f"/v1/notifications/{first['id']}/read", headers=owner)
    assert again.json()["read_at"] == read.json()["read_at"]
    after = (await service.http.get("/v1/notifications", headers=owner)).json()
    assert after["unread"] == 1
    unread_only = (await service.http.get("/v1/notifications?unread=true", headers=owner)).json()
    assert [i["id"] for i in unread_only["items"]] == [newest["id"]]

    theirs = (await service.http.get("/v1/notifications", headers=stranger)).json()
    assert theirs == {"items": [], "total": 0, "unread": 0, "page": 1, "page_size": 20}

    assert (await service.http.get("/v1/notifications")).status_code == 401
    bad_page = await service.http.get("/v1/notifications?page=0&page_size=500", headers=owner)
    assert bad_page.status_code == 422
    assert {e["pointer"] for e in bad_page.json()["errors"]} == {"/page", "/page_size"}
    bad_id = await service.http.post("/v1/notifications/not-an-id/read", headers=owner)
    assert bad_id.status_code == 422
    assert bad_id.json()["errors"][0]["pointer"] == "/notification_id"
    ready = await service.http.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"]["dispatcher"] is True
    missing = await service.http.post(f"/v1/notifications/{'0' * 32}/read", headers=owner)
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"

    async def two_emails() -> list[Any]:
        mails = kit.smtp.to(english.email)
        return mails if len(mails) == 2 else []

    mails = await eventually(two_emails)
    subjects = sorted(m.subject for m in mails)
    assert subjects == [
        "[Mot Cua] Application HS-ENGL-0001 submitted – Birth registration",
        "[Mot Cua] Application HS-ENGL-0001: More documents needed",
    ]
    change = next(m for m in mails if "More documents" in m.subject)
    assert change.message["To"].addresses[0].display_name == "Trần Văn Bình"
    html = change.message.get_body(("html",)).get_content()
    assert "&lt;b&gt;original&lt;/b&gt;" in html
    assert "<b>original</b>" not in html
    text = change.text
    assert "Please sign in, add the documents the note asks for and resubmit." in text


async def test_an_apology_tells_the_applicant_the_reason_and_the_new_date_once(kit: Any, service: Any) -> None:
    citizen = kit.account(full_name="Lê Thị Thu", phone="0913 222 333")
    received = kit.received(citizen, tracking_code="HS-AP01-LOGY")
    await kit.send(citizen)
    await kit.send(received)
    fields = received.model_dump(exclude={"submitted_at", "due_date"})
    apology = ApologyIssued(
        **fields,
        due_date=date(2026, 12, 10),
        previous_due_date=date(2026, 12, 4),
        reason="Cần xác minh với Sở Tư pháp",
        slip_id="apology-2",
        issued_at=datetime.now(UTC),
    )
    [envelope] = await kit.send(apology)
    await kit.send(envelope)  # delivered twice: told once

    async def told() -> bool:
        return any("xin lỗi" in m.subject for m in kit.smtp.to(citizen.email))

    await eventually(told)
    await asyncio.sleep(0.5)
    [mail] = [m for m in kit.smtp.to(citizen.email) if "xin lỗi" in m.subject]
    assert mail.subject == "[Một cửa] Hồ sơ HS-AP01-LOGY: thư xin lỗi và hẹn lại ngày trả kết quả"
    assert "Lý do: Cần xác minh với Sở Tư pháp" in mail.text
    assert "Ngày hẹn trả kết quả mới: 10/12/2026" in mail.text
    assert "đúng hẹn ngày 04/12/2026" in mail.text
    assert f"/applications/{received.application_id}#slips" in mail.text
    assert any("10/12/2026" in s.text for s in kit.sms.to("+84913222333"))
