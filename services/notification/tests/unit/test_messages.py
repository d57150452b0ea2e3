import email
from datetime import UTC, date, datetime
from email import policy
from email.message import EmailMessage

import pytest
from motcua.common.contracts.identity import EmailVerificationRequested, PhoneVerificationRequested
from motcua.common.contracts.submission import ApplicationReceived, ApplicationStatusChanged
from motcua.common.sealing import EventSealer
from motcua.notification.deliveries import Delivery
from motcua.notification.mail import build_email
from motcua.notification.messages import Composer, Contact
from motcua.notification.model import PermanentSendError
from motcua.notification.settings import Settings

composer = Composer(public_base_url="https://dichvucong.example.vn/", secrets=EventSealer.configured(""))
NHUNG = Contact("acc-1", "Nguyễn Thị Hồng Nhung", "nhung@example.vn", "0912 345 678", "vi")
RECEIVED = ApplicationReceived(
    application_id="app 1/2",
    tracking_code="HS-7KQ2-9XPA",
    procedure_code="HT-KS-01",
    procedure_version=2,
    procedure_name="Đăng ký khai sinh",
    procedure_name_en="Birth registration",
    agency_code="UBND-XA",
    applicant_account_id="acc-1",
    due_date=date(2026, 12, 4),
    submitted_at=datetime(2026, 11, 25, 2, 5, tzinfo=UTC),
)


def _changed(to: str, comment: str = "") -> ApplicationStatusChanged:
    fields = RECEIVED.model_dump(exclude={"submitted_at"})
    return ApplicationStatusChanged(
        **fields,
        from_status="processing",
        to_status=to,
        comment=comment,
        by_role="officer",
        changed_at=datetime(2026, 11, 26, tzinfo=UTC),
    )


def test_an_application_received_makes_an_email_an_sms_and_an_in_app_notification_in_vietnamese() -> None:
    mail, sms, in_app = composer.application(RECEIVED, NHUNG)
    assert (mail.channel, mail.recipient) == ("email", "nhung@example.vn")
    assert mail.content["subject"] == "[Một cửa] Đã nộp hồ sơ HS-7KQ2-9XPA – Đăng ký khai sinh"
    assert "Thời điểm nộp: 09:05 ngày 25/11/2026" in mail.content["text"]
    assert "Theo dõi hồ sơ: https://dichvucong.example.vn/applications/app%201%2F2" in mail.content["text"]
    assert 'href="https://dichvucong.example.vn/lookup/HS-7KQ2-9XPA"' in mail.content["html"]
    assert (sms.channel, sms.recipient) == ("sms", "+84912345678")
    assert sms.content["text"] == (
        "Một cửa: Đã nộp hồ sơ HS-7KQ2-9XPA. Hẹn trả kết quả 04/12/2026. "
        "Tra cứu: https://dichvucong.example.vn/lookup/HS-7KQ2-9XPA"
    )
    assert in_app.content == {
        "title": "Đã nộp hồ sơ HS-7KQ2-9XPA",
        "body": "Hồ sơ “Đăng ký khai sinh” đã được nộp. Ngày hẹn trả kết quả: 04/12/2026.",
        "link": "https://dichvucong.example.vn/applications/app%201%2F2",
    }
    assert not any(m.secret or m.problem for m in (mail, sms, in_app))


def test_an_officers_comment_is_text_in_the_html_never_markup() -> None:
    mail, _, in_app = composer.application(_changed("rejected", '<script>alert("x")</script> & thiếu giấy'), NHUNG)
    assert "<script>" not in mail.content["html"]
    assert "&lt;script&gt;" in mail.content["html"]
    assert "Bị từ chối" in mail.content["subject"]
    assert '<script>alert("x")</script> & thiếu giấy' in mail.content["text"]
    assert in_app.content["title"] == "Hồ sơ HS-7KQ2-9XPA: Bị từ chối"


def test_english_readers_get_the_english_procedure_name_and_dates() -> None:
    jane = Contact("a", "Jane", "j@example.org", "0912345678", "en")
    mail, sms, _ = composer.application(_changed("completed"), jane)
    assert mail.content["subject"] == "[Mot Cua] Application HS-7KQ2-9XPA: Result issued"
    assert "Result due by: 4 December 2026" in mail.content["text"]
    assert "Birth registration" in mail.content["text"]
    assert sms.content["text"].startswith("Mot Cua: application HS-7KQ2-9XPA - Result issued.")


def test_unusable_contacts_are_flagged_not_sent() -> None:
    mail, sms, _ = composer.application(RECEIVED, Contact("a", "X", "not-an-address", "12", "vi"))
    assert mail.problem == "the email address cannot be used"
    assert sms.problem == "the phone number cannot be used"


def test_verification_messages_carry_their_secret_and_expiry() -> None:
    expires = datetime(2026, 11, 25, 3, 10, tzinfo=UTC)
    sms = composer.phone_verification(
        PhoneVerificationRequested(account_id="a", full_name="A", phone="0912345678", code="123456", expires_at=expires)
    )
    assert sms.content["text"] == "Mã xác thực Một cửa: 123456. Hiệu lực đến 10:10. Không chia sẻ mã này với bất kỳ ai."
    assert (sms.secret, sms.expires_at) == (True, expires)
    plain = Composer(
        public_base_url="http://x", secrets=EventSealer.configured(""), sms_without_diacritics=True
    ).phone_verification(
        PhoneVerificationRequested(account_id="a", full_name="A", phone="0912345678", code="123456", expires_at=expires)
    )
    assert plain.content["text"] == (
        "Ma xac thuc Mot cua: 123456. Hieu luc den 10:10. Khong chia se ma nay voi bat ky ai."
    )
    mail = composer.email_verification(
        EmailVerificationRequested(
            account_id="a",
            full_name="A",
            email="a@example.vn",
            locale="en",
            verification_url="https://x.vn/verify-email?token=abc&x=1",
            expires_at=expires,
        )
    )
    assert mail.secret
    assert "https://x.vn/verify-email?token=abc&x=1" in mail.content["text"]
    assert 'href="https://x.vn/verify-email?token=abc&amp;x=1"' in mail.content["html"]


def _delivery(**content: str) -> Delivery:
    mail, _, _ = composer.application(RECEIVED, NHUNG)
    return Delivery(
        id="d" * 32,
        cause_event_id="e1",
        cause_event_type=ApplicationReceived.ce_type,
        channel="email",
        recipient=mail.recipient,
        message={**mail.content, **content},
    )


def test_the_email_keeps_vietnamese_intact_in_headers_and_both_bodies() -> None:
    settings = Settings(deployment_environment="development", mail_from="Một cửa <no-reply@motcua.gov.vn>")
    subject = "[Một cửa] Hồ sơ HS-7KQ2-9XPA: Đang xử lý – Cần bổ sung hồ sơ đăng ký khai sinh cho con"
    raw = build_email(_delivery(subject=subject), settings, now=datetime(2026, 11, 25, tzinfo=UTC))
    assert raw.isascii()  # 7-bit clean: encoded-words and quoted-printable, any server relays it
    parsed = email.message_from_bytes(raw, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    assert parsed["Subject"] == subject
    assert parsed["From"].addresses[0].display_name == "Một cửa"
    assert parsed["To"].addresses[0].display_name == "Nguyễn Thị Hồng Nhung"
    assert parsed["Message-ID"] == f"<{'d' * 32}@motcua.gov.vn>"
    plain, html = parsed.get_body(("plain",)), parsed.get_body(("html",))
    assert plain is not None
    assert html is not None
    assert "Ngày hẹn trả kết quả: 04/12/2026" in plain.get_content()
    assert "Ngày hẹn trả kết quả" in html.get_content()


def test_an_address_that_cannot_be_used_is_a_permanent_failure() -> None:
    unusable = _delivery().model_copy(update={"recipient": "x@y.vn\r\nBcc: z@w.vn"})
    with pytest.raises(PermanentSendError):
        build_email(unusable, Settings(deployment_environment="development"), now=datetime.now(UTC))


def test_settings_refuse_a_webhook_without_url_and_a_lease_shorter_than_a_send() -> None:
    with pytest.raises(ValueError, match="SMS_WEBHOOK_URL"):
        Settings(deployment_environment="development", sms_provider="webhook")
    with pytest.raises(ValueError, match="DELIVERY_LEASE_SECONDS"):
        Settings(deployment_environment="development", smtp_timeout_seconds=30, delivery_lease_seconds=60)
    with pytest.raises(ValueError, match="MAIL_FROM"):
        Settings(deployment_environment="development", mail_from="nobody")
    with pytest.raises(ValueError, match="go together"):
        Settings(deployment_environment="development", smtp_username="u")
    assert Settings(deployment_environment="development", notification_port=9004).port == 9004
