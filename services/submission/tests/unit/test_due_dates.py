from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from motcua.submission.due_dates import VIETNAM, due_date, is_working_day


def at_noon(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12, tzinfo=VIETNAM)


def test_a_friday_submission_with_one_day_is_due_on_monday() -> None:
    assert due_date(at_noon(date(2026, 11, 27)), 1) == date(2026, 11, 30)


def test_a_saturday_submission_counts_from_monday() -> None:
    assert due_date(at_noon(date(2026, 11, 28)), 1) == date(2026, 11, 30)
    assert due_date(at_noon(date(2026, 11, 28)), 2) == date(2026, 12, 1)


def test_tet_2027_is_skipped() -> None:
    # Tết Đinh Mùi: 4-10 Feb 2027 are days off (the package adds the 29th and the 5th day of Tết).
    for day in range(4, 11):
        assert not is_working_day(date(2027, 2, day))
    assert due_date(at_noon(date(2027, 2, 3)), 1) == date(2027, 2, 11)
    # Fri 29 Jan + 5 working days: 1, 2, 3 Feb, then 11, 12 Feb.
    assert due_date(at_noon(date(2027, 1, 29)), 5) == date(2027, 2, 12)


def test_tet_2026_is_skipped() -> None:
    # 16-20 Feb 2026 are Tết days off: a Friday-before submission with 1 day is due the Monday after.
    assert due_date(at_noon(date(2026, 2, 13)), 1) == date(2026, 2, 23)


def test_the_cultural_day_and_national_day_are_holidays() -> None:
    assert due_date(at_noon(date(2026, 11, 23)), 1) == date(2026, 11, 25)  # 24 Nov: Vietnam Cultural Day
    assert due_date(at_noon(date(2027, 9, 1)), 1) == date(2027, 9, 6)  # 2-3 Sep, then the weekend


def test_a_saturday_worked_in_exchange_counts() -> None:
    # 2025: Fri 2 May was given off in exchange for working Sat 26 Apr.
    assert is_working_day(date(2025, 4, 26))
    assert due_date(at_noon(date(2025, 4, 25)), 1) == date(2025, 4, 26)
    assert due_date(at_noon(date(2025, 4, 29)), 1) == date(2025, 5, 5)


def test_the_day_is_the_day_in_vietnam() -> None:
    thursday_utc_friday_hanoi = datetime(2026, 11, 26, 17, 30, tzinfo=UTC)
    assert due_date(thursday_utc_friday_hanoi, 1) == date(2026, 11, 30)
    assert due_date(thursday_utc_friday_hanoi - timedelta(hours=1), 1) == date(2026, 11, 27)


@pytest.mark.parametrize(
    ("day", "expected"), [(date(2026, 11, 27), date(2026, 11, 27)), (date(2026, 11, 29), date(2026, 11, 30))]
)
def test_zero_processing_days_is_the_same_working_day(day: Any, expected: Any) -> None:
    assert due_date(at_noon(day), 0) == expected


def test_twenty_working_days_span_four_weeks_and_more() -> None:
    assert due_date(at_noon(date(2026, 12, 1)), 20) == date(2026, 12, 29)
