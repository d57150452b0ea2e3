"""Notices identity asks for when an account's security changes or someone registers with its details."""

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from motcua.common.contracts.identity import AccountSecurityChanged, DuplicateRegistrationAttempted
from motcua.devtools.testing import eventually

AT = datetime(2026, 12, 1, 8, 5, tzinfo=UTC)


async def test_a_password_change_is_told_by_email_in_the_owners_language(kit: Any, service: Any) -> None:
    vi, en = kit.account(), kit.account(locale="en", full_name="Trần Văn Bình")
    changes = [
        AccountSecurityChanged(
            account_id=who.account_id,
            full_name=who.full_name,
            email=who.email,
            locale=who.locale,
            change=change,
            changed_at=AT,
        )
        for who, change in ((vi, "password_changed"), (en, "two_factor_enabled"))
    ]
    await kit.send(*changes)

    async def delivered() -> bool:
        return len(kit.smtp.to(vi.email)) == 1 and len(kit.smtp.to(en.email)) == 1

    await eventually(delivered)
    [mail_vi], [mail_en] = kit.smtp.to(vi.email), kit.smtp.to(en.email)
    assert mail_vi.subject == "[Một cửa] Tài khoản của bạn vừa thay đổi: mật khẩu đã được đổi"
    assert "15:05 ngày 01/12/2026" in mail_vi.text
    assert "http://127.0.0.1:8000/forgot-password" in mail_vi.text
    assert mail_en.subject == "[Mot Cua] Your account changed: two-factor sign-in was turned on"
    assert "Hello Trần Văn Bình" in mail_en.text
    html = mail_en.message.get_body(("html",)).get_content()
    assert "<strong>two-factor sign-in was turned on</strong>" in html


async def test_someone_registering_with_a_holders_details_is_told_by_email_or_by_sms(kit: Any, service: Any) -> None:
    by_email, by_phone = kit.account(), kit.account(phone="0903 222 444")
    attempts = [
        DuplicateRegistrationAttempted(
            account_id=who.account_id,
            full_name=who.full_name,
            email=who.email,
            phone=who.phone,
            locale=who.locale,
            channel=channel,
            attempted_at=AT,
        )
        for who, channel in ((by_email, "email"), (by_phone, "sms"))
    ]
    await kit.send(*attempts)

    async def delivered() -> bool:
        return len(kit.smtp.to(by_email.email)) == 1 and len(kit.sms.to("+84903222444")) == 1

    await eventually(delivered)
    [mail] = kit.smtp.to(by_email.email)
    assert mail.subject == "[Một cửa] Có người đăng ký bằng thông tin của bạn"
    assert "Tài khoản mới không được tạo" in mail.text
    local = AT.astimezone(timezone(timedelta(hours=7)))
    [sms] = kit.sms.to("+84903222444")
    assert sms.text.startswith(f"Một cửa: lúc {local:%H:%M} có người thử đăng ký")
    assert kit.smtp.to(by_phone.email) == []  # only the phone matched: only the phone is told
