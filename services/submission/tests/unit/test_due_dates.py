from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from motcua.submission.due_dates import (
    VIETNAM,
    WorkingHours,
    due_date,
    is_working_day,
    received_at,
    working_days_left,
)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=VIETNAM)


def at_noon(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12, tzinfo=VIETNAM)


def test_a_friday_submission_with_one_day_is_due_on_monday() -> None:
    assert due_date(at_noon(date(2026, 11, 27)), 1) == date(2026, 11, 30)


def test_a_saturday_submission_is_received_on_monday_and_counts_from_there() -> None:
    saturday = date(2026, 11, 28)
    assert received_at(at_noon(saturday)) == at(date(2026, 11, 30), 7, 30)
    assert due_date(at_noon(saturday), 1) == date(2026, 12, 1)
    assert due_date(at_noon(saturday), 2) == date(2026, 12, 2)


def test_a_friday_submission_at_half_past_five_is_received_on_monday() -> None:
    friday = date(2026, 11, 27)
    assert received_at(at(friday, 17, 30)) == at(date(2026, 11, 30), 7, 30)
    assert due_date(at(friday, 17, 30), 1) == date(2026, 12, 1)
    assert due_date(at(friday, 16, 59), 1) == date(2026, 11, 30)  # still within the day's hours


def test_before_the_desk_opens_a_dossier_is_received_when_it_opens_that_day() -> None:
    thursday = date(2026, 11, 26)
    assert received_at(at(thursday, 6, 45)) == at(thursday, 7, 30)
    assert due_date(at(thursday, 6, 45), 1) == date(2026, 11, 27)


def test_an_evening_submission_before_tet_2027_is_received_after_it() -> None:
    # Wed 3 Feb 2027 17:30: the desk is closed until Thu 11 Feb, the first working day after Tết.
    assert received_at(at(date(2027, 2, 3), 17, 30)) == at(date(2027, 2, 11), 7, 30)
    assert due_date(at(date(2027, 2, 3), 17, 30), 1) == date(2027, 2, 12)


def test_an_agencys_own_hours_decide() -> None:
    early = WorkingHours.parse("07:00-16:30")
    friday = date(2026, 11, 27)
    assert due_date(at(friday, 16, 45), 1, hours=early) == date(2026, 12, 1)  # closed at 16:30
    assert due_date(at(friday, 16, 45), 1) == date(2026, 11, 30)  # the default desk is open until 17:00
    assert received_at(at(friday, 7, 10), early) == at(friday, 7, 10)


@pytest.mark.parametrize("text", ["7:30-17:00", "17:00-07:30", "07:30", "07:30-24:00", ""])
def test_working_hours_are_read_strictly(text: str) -> None:
    with pytest.raises(ValueError, match="working hours"):
        WorkingHours.parse(text)


def test_a_same_day_procedure_is_due_the_day_it_is_received_before_the_cut_off() -> None:
    cutoff = time(15, 0)
    friday, saturday = date(2026, 11, 27), date(2026, 11, 28)
    assert due_date(at(friday, 14, 59), 1, same_day_cutoff=cutoff) == friday
    assert due_date(at(friday, 15, 0), 1, same_day_cutoff=cutoff) == date(2026, 11, 30)
    # sent on Saturday, received when the desk opens on Monday: before the cut-off, answered that Monday
    assert due_date(at_noon(saturday), 1, same_day_cutoff=cutoff) == date(2026, 11, 30)


def test_working_days_left_count_down_to_zero_and_below() -> None:
    due = date(2026, 12, 1)  # a Tuesday
    assert working_days_left(due, date(2026, 11, 27)) == 2  # Friday: Monday and Tuesday to go
    assert working_days_left(due, date(2026, 11, 28)) == 2  # the weekend does not count
    assert working_days_left(due, due) == 0
    assert working_days_left(due, date(2026, 12, 3)) == -2  # two working days late


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


def test_the_day_and_the_hour_are_vietnams() -> None:
    friday_half_past_four_in_hanoi = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)
    assert due_date(friday_half_past_four_in_hanoi, 1) == date(2026, 11, 30)
    assert due_date(friday_half_past_four_in_hanoi + timedelta(hours=1), 1) == date(2026, 12, 1)  # 17:30 there
    thursday_utc_friday_hanoi = datetime(2026, 11, 26, 17, 30, tzinfo=UTC)  # Friday 00:30 in Hanoi
    assert received_at(thursday_utc_friday_hanoi) == at(date(2026, 11, 27), 7, 30)


@pytest.mark.parametrize(
    ("day", "expected"), [(date(2026, 11, 27), date(2026, 11, 27)), (date(2026, 11, 29), date(2026, 11, 30))]
)
def test_zero_processing_days_is_the_same_working_day(day: Any, expected: Any) -> None:
    assert due_date(at_noon(day), 0) == expected


def test_twenty_working_days_span_four_weeks_and_more() -> None:
    assert due_date(at_noon(date(2026, 12, 1)), 20) == date(2026, 12, 29)


def test_an_operator_sets_the_hours_of_every_desk_and_of_one_agency(monkeypatch: pytest.MonkeyPatch) -> None:
    from motcua.submission.settings import Settings
    from pydantic import ValidationError

    monkeypatch.setenv("WORKING_HOURS", "07:00-16:30")
    monkeypatch.setenv("AGENCY_WORKING_HOURS", '{"UBND-XA": "07:30-11:30"}')
    settings = Settings()
    assert settings.hours_for("UBND-XA") == WorkingHours.parse("07:30-11:30")
    assert settings.hours_for("SO-TP") == WorkingHours.parse("07:00-16:30")
    monkeypatch.setenv("AGENCY_WORKING_HOURS", '{"UBND-XA": "7h30-17h"}')
    with pytest.raises(ValidationError, match="agency_working_hours"):
        Settings()
