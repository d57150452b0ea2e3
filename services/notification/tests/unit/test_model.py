from datetime import UTC, date, datetime, timedelta

import pytest
from motcua.notification import model
from motcua.notification.model import (
    AmbiguousSendError,
    ExpiredBeforeSending,
    PermanentSendError,
    RetryableSendError,
    RetryPolicy,
    Status,
)

NOW = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
POLICY = RetryPolicy(max_attempts=4, base_seconds=5, max_seconds=30)


def test_a_sent_message_is_sent() -> None:
    assert model.settle(None, attempts=1, policy=POLICY, now=NOW).status == Status.SENT


def test_a_transient_failure_is_retried_later_with_growing_bounded_delays() -> None:
    delays = [
        model.settle(RetryableSendError("421 busy"), attempts=n, policy=POLICY, now=NOW).next_attempt_at
        for n in (1, 2, 3)
    ]
    assert delays == [NOW + timedelta(seconds=s) for s in (5, 10, 20)]
    assert POLICY.delay(10) == 30


def test_a_transient_failure_on_the_last_attempt_fails_for_good() -> None:
    outcome = model.settle(RetryableSendError("421 busy"), attempts=4, policy=POLICY, now=NOW)
    assert outcome.status == Status.FAILED
    assert outcome.reason == "gave up after 4 attempts: 421 busy"


def test_a_permanent_refusal_is_never_retried() -> None:
    outcome = model.settle(PermanentSendError("550 no such user"), attempts=1, policy=POLICY, now=NOW)
    assert (outcome.status, outcome.reason) == (Status.FAILED, "550 no such user")


def test_a_send_that_may_have_gone_out_is_unknown_and_never_resent() -> None:
    outcome = model.settle(AmbiguousSendError("connection lost during DATA"), attempts=1, policy=POLICY, now=NOW)
    assert outcome.status == Status.UNKNOWN
    assert outcome.next_attempt_at is None
    assert model.settle(ExpiredBeforeSending("late"), attempts=1, policy=POLICY, now=NOW).status == Status.EXPIRED


def test_codes_are_expired_from_their_expiry_on() -> None:
    assert not model.is_expired(None, NOW)
    assert not model.is_expired(NOW + timedelta(seconds=1), NOW)
    assert model.is_expired(NOW, NOW)


def test_a_limit_of_zero_means_no_limit() -> None:
    assert model.within_limit(1000, 0)
    assert model.within_limit(2, 2)
    assert not model.within_limit(3, 2)


@pytest.mark.parametrize(
    ("status", "vi", "en"),
    [
        ("processing", "Đang xử lý", "Being processed"),
        ("supplement_requested", "Cần bổ sung hồ sơ", "More documents needed"),
        ("completed", "Đã có kết quả", "Result issued"),
        ("rejected", "Bị từ chối", "Rejected"),
        ("something_new", "something new", "something new"),
    ],
)
def test_statuses_read_in_a_citizens_words(status: str, vi: str, en: str) -> None:
    assert model.status_words(status, "vi") == vi
    assert model.status_words(status, "en") == en


def test_dates_read_day_first_in_vietnamese_and_unambiguously_in_english() -> None:
    assert model.format_date(date(2026, 3, 5), "vi") == "05/03/2026"
    assert model.format_date(date(2026, 3, 5), "en") == "5 March 2026"
    new_year = datetime(2026, 12, 31, 17, 30, tzinfo=UTC)  # already 1 January in Viet Nam
    assert model.format_moment(new_year, "vi") == "00:30 ngày 01/01/2027"
    assert model.format_moment(new_year, "en") == "00:30, 1 January 2027 (Vietnam time)"


@pytest.mark.parametrize(
    ("written", "e164"),
    [
        ("0912 345 678", "+84912345678"),
        ("0912.345.678", "+84912345678"),
        ("84912345678", "+84912345678"),
        ("+84 91-234-5678", "+84912345678"),
        ("0084912345678", "+84912345678"),
        ("12", None),
        ("phone", None),
    ],
)
def test_phone_numbers_become_international(written: str, e164: str | None) -> None:
    assert model.international_phone(written) == e164


@pytest.mark.parametrize(
    ("address", "usable"),
    [
        ("an@example.vn", True),
        ("nguyễn@ví-dụ.vn", True),
        ("an@example", False),
        ("an example@example.vn", False),
        ("an@example.vn\r\nBcc: x@y.z", False),
        ("<an@example.vn>", False),
    ],
)
def test_only_plain_addresses_are_used(address: str, usable: bool) -> None:
    assert model.usable_email(address) is usable


def test_text_for_headers_and_sms_is_one_bounded_line() -> None:
    assert model.one_line("Đăng ký\r\nkhai   sinh") == "Đăng ký khai sinh"
    assert model.one_line("x" * 300, 10) == "x" * 9 + "…"
    assert model.without_diacritics("Đã nộp hồ sơ, hẹn trả kết quả") == "Da nop ho so, hen tra ket qua"


def test_a_resubmitted_dossier_is_not_told_it_was_accepted() -> None:
    for locale in ("vi", "en"):
        accepted = model.next_step("processing", locale, from_status="submitted")
        resubmitted = model.next_step("processing", locale, from_status="supplement_requested")
        assert resubmitted != accepted
        assert "tiếp nhận" not in resubmitted
        assert "accepted" not in resubmitted
        assert model.next_step("processing", locale) == accepted
    assert "nộp lại" in model.next_step("processing", "vi", from_status="supplement_requested")
