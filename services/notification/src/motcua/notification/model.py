"""The notification domain, pure: delivery statuses and how a send's outcome settles them,
the retry policy, and how dates, statuses and phone numbers read to a citizen.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from enum import StrEnum
from typing import Literal

from motcua.common.errors import NotFound

Channel = Literal["email", "sms", "in_app"]
Locale = Literal["vi", "en"]

VIETNAM_TIME = timezone(timedelta(hours=7), "ICT")  # no daylight saving in Viet Nam


class Status(StrEnum):
    """A delivery's status. It only moves forward: pending ⇄ sending → one of the final ones."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    EXPIRED = "expired"  # a code or link past its expiry is not worth sending
    UNKNOWN = "unknown"  # the provider may or may not have it; never resent (at most once)
    RATE_LIMITED = "rate_limited"  # too many secret-bearing messages to one recipient


FINAL = frozenset({Status.SENT, Status.FAILED, Status.EXPIRED, Status.UNKNOWN, Status.RATE_LIMITED})


class SendError(Exception):
    """A provider did not take a message; `answer` is what it said (no secrets in it)."""

    def __init__(self, answer: str) -> None:
        super().__init__(answer)
        self.answer = answer


class RetryableSendError(SendError):
    """Not taken, and trying again later may work (connection refused, 4xx, 5xx from a webhook, timeout)."""


class ProviderDown(RetryableSendError):
    """The provider cannot be reached at all: the rest of a batch is not tried just now either."""


class PermanentSendError(SendError):
    """Not taken, and never will be (SMTP 5xx such as 550, a webhook's 4xx, an unusable address)."""


class AmbiguousSendError(SendError):
    """The connection broke after the message was handed over: it may have been delivered. Never resent."""


class ExpiredBeforeSending(SendError):
    """Its code or link expired while it waited: not worth sending."""


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff, bounded in delay and in attempts."""

    max_attempts: int
    base_seconds: float
    max_seconds: float

    def delay(self, attempts: int) -> float:
        """Seconds to wait after the `attempts`-th failed attempt."""
        return float(min(self.base_seconds * 2 ** max(attempts - 1, 0), self.max_seconds))


@dataclass(frozen=True)
class Settlement:
    """Where a delivery goes after an attempt."""

    status: Status
    reason: str = ""
    next_attempt_at: datetime | None = None


def settle(error: SendError | None, *, attempts: int, policy: RetryPolicy, now: datetime) -> Settlement:
    """The outcome of the `attempts`-th attempt: sent, retried later, or failed for good."""
    if error is None:
        return Settlement(Status.SENT)
    if isinstance(error, ExpiredBeforeSending):
        return Settlement(Status.EXPIRED, error.answer)
    if isinstance(error, AmbiguousSendError):
        return Settlement(Status.UNKNOWN, f"outcome unknown, not resent: {error.answer}")
    if isinstance(error, RetryableSendError):
        if attempts < policy.max_attempts:
            return Settlement(Status.PENDING, error.answer, now + timedelta(seconds=policy.delay(attempts)))
        return Settlement(Status.FAILED, f"gave up after {attempts} attempts: {error.answer}")
    return Settlement(Status.FAILED, error.answer)


def is_expired(expires_at: datetime | None, now: datetime) -> bool:
    """A verification code or reset link that can no longer be used."""
    return expires_at is not None and now >= expires_at


def within_limit(count_after: int, limit: int) -> bool:
    """A recipient's secret-bearing messages in the window, this one included, against the limit (0: none)."""
    return limit == 0 or count_after <= limit


_STATUS_WORDS: dict[Locale, dict[str, str]] = {
    "vi": {
        "draft": "Đang soạn",
        "submitted": "Đã nộp, chờ tiếp nhận",
        "processing": "Đang xử lý",
        "supplement_requested": "Cần bổ sung hồ sơ",
        "approved": "Đã được phê duyệt",
        "completed": "Đã có kết quả",
        "rejected": "Bị từ chối",
        "withdrawn": "Đã rút hồ sơ",
    },
    "en": {
        "draft": "Draft",
        "submitted": "Submitted, awaiting acceptance",
        "processing": "Being processed",
        "supplement_requested": "More documents needed",
        "approved": "Approved",
        "completed": "Result issued",
        "rejected": "Rejected",
        "withdrawn": "Withdrawn",
    },
}


def status_words(status: str, locale: Locale) -> str:
    """A dossier's status as a citizen would say it; an unknown status is shown as it is."""
    return _STATUS_WORDS[locale].get(status, status.replace("_", " "))


_SECURITY_CHANGE_WORDS: dict[Locale, dict[str, str]] = {
    "vi": {
        "password_changed": "mật khẩu đã được đổi",
        "password_reset": "mật khẩu đã được đặt lại",
        "email_changed": "địa chỉ email đã được đổi",
        "phone_changed": "số điện thoại đã được đổi",
        "two_factor_enabled": "xác thực hai lớp đã được bật",
        "two_factor_disabled": "xác thực hai lớp đã được tắt",
        "passkey_added": "một khóa truy cập (passkey) đã được thêm",
        "passkey_removed": "một khóa truy cập (passkey) đã được gỡ",
        "recovery_codes_regenerated": "mã khôi phục đã được tạo lại",
    },
    "en": {
        "password_changed": "your password was changed",
        "password_reset": "your password was reset",
        "email_changed": "your email address was changed",
        "phone_changed": "your phone number was changed",
        "two_factor_enabled": "two-factor sign-in was turned on",
        "two_factor_disabled": "two-factor sign-in was turned off",
        "passkey_added": "a passkey was added",
        "passkey_removed": "a passkey was removed",
        "recovery_codes_regenerated": "new recovery codes were made",
    },
}


def security_change_words(change: str, locale: Locale) -> str:
    """What changed on an account, as its owner would read it; an unknown change is shown as it is."""
    return _SECURITY_CHANGE_WORDS[locale].get(change, change.replace("_", " "))


_NEXT_STEP: dict[Locale, dict[str, str]] = {
    "vi": {
        "processing": "Cơ quan đã tiếp nhận và đang giải quyết hồ sơ của bạn.",
        "supplement_requested": "Vui lòng đăng nhập, bổ sung giấy tờ theo ghi chú và nộp lại hồ sơ.",
        "approved": "Cơ quan sẽ trả kết quả theo ngày hẹn.",
        "completed": "Kết quả đã sẵn sàng; xem cách nhận kết quả trên trang theo dõi hồ sơ.",
        "rejected": "Lý do nằm trong ghi chú của cơ quan; bạn có thể nộp hồ sơ mới khi đã đủ điều kiện.",
        "withdrawn": "Hồ sơ đã được rút theo yêu cầu của bạn.",
    },
    "en": {
        "processing": "The agency has accepted your application and is working on it.",
        "supplement_requested": "Please sign in, add the documents the note asks for and resubmit.",
        "approved": "The agency will issue the result by the due date.",
        "completed": "Your result is ready; see how to receive it on your application's page.",
        "rejected": "The reason is in the agency's note; you may apply again once you meet the conditions.",
        "withdrawn": "Your application was withdrawn at your request.",
    },
}


def next_step(status: str, locale: Locale) -> str:
    """What the citizen can do now, or nothing to say."""
    return _NEXT_STEP[locale].get(status, "")


_MONTHS_EN = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def working_days_words(days: int, locale: Locale) -> str:
    """`days` working days, in words: "2 ngày làm việc", "1 working day"."""
    if locale == "vi":
        return f"{days} ngày làm việc"
    return f"{days} working day" if days == 1 else f"{days} working days"


def format_date(day: date, locale: Locale) -> str:
    """dd/mm/yyyy in Vietnamese; '5 December 2026' in English (never the ambiguous 05/12)."""
    if locale == "vi":
        return f"{day.day:02d}/{day.month:02d}/{day.year}"
    return f"{day.day} {_MONTHS_EN[day.month - 1]} {day.year}"


def format_moment(moment: datetime, locale: Locale) -> str:
    """A time as read in Viet Nam: '14:05 ngày 25/11/2026' or '14:05, 25 November 2026 (Vietnam time)'."""
    local = moment.astimezone(VIETNAM_TIME)
    if locale == "vi":
        return f"{local:%H:%M} ngày {format_date(local.date(), 'vi')}"
    return f"{local:%H:%M}, {format_date(local.date(), 'en')} (Vietnam time)"


_PHONE_NOISE = re.compile(r"[\s.\-()]")
_E164 = re.compile(r"^\+[1-9]\d{7,14}$")


def international_phone(phone: str) -> str | None:
    """E.164 (+84…) for a Vietnamese number written 0912 345 678, 84912345678 or +84 912…; None if unusable."""
    digits = _PHONE_NOISE.sub("", phone)
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    elif digits.startswith("84") and len(digits) >= 11:
        digits = "+" + digits
    elif digits.startswith("0"):
        digits = "+84" + digits[1:]
    return digits if _E164.match(digits) else None


_ADDRESS = re.compile(r"^[^@\s<>\"(),;:\\]+@[^@\s<>\"(),;:\\]+\.[^@\s<>\"(),;:\\]+$")


def usable_email(address: str) -> bool:
    """An address an SMTP envelope can carry (no spaces, brackets or line breaks, one @, a dotted domain)."""
    return len(address) <= 254 and _ADDRESS.match(address) is not None


def without_diacritics(text: str) -> str:
    """Vietnamese without tone marks ('Đã nộp hồ sơ' → 'Da nop ho so'), for SMS gateways that take GSM-7 only."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def one_line(text: str, limit: int = 200) -> str:
    """Text that is safe in a header or an SMS: whitespace (line breaks included) collapsed, bounded."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


class NotificationNotFound(NotFound):
    """No such in-app notification for this account (someone else's counts as none)."""
