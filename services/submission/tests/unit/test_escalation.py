from datetime import date

from motcua.submission import due_dates, escalation


def test_the_warning_comes_when_a_quarter_of_the_working_days_is_left() -> None:
    start = date(2027, 3, 1)  # a Monday
    due = due_dates.add_working_days(start, 8)  # Thursday 11 March
    assert due == date(2027, 3, 11)
    assert escalation.warn_day(start, due) == date(2027, 3, 9)  # two working days left
    assert due_dates.working_days_left(due, escalation.warn_day(start, due)) == 2


def test_short_and_same_day_procedures_are_warned_on_their_due_day_at_the_latest() -> None:
    monday = date(2027, 3, 1)
    assert escalation.warn_day(monday, monday) == monday
    assert escalation.warn_day(monday, due_dates.add_working_days(monday, 1)) == date(2027, 3, 2)
    assert escalation.warn_day(monday, due_dates.add_working_days(monday, 3)) == date(2027, 3, 4)


def test_the_warning_skips_tet() -> None:
    start = date(2027, 2, 1)
    due = due_dates.add_working_days(start, 12)  # over Tết 2027 (4–10 February are days off)
    warn = escalation.warn_day(start, due)
    assert due_dates.working_days_left(due, warn) == 3
    assert due_dates.is_working_day(warn)


def test_an_overdue_dossier_is_told_overdue_even_when_its_warning_was_missed() -> None:
    due = date(2027, 3, 11)
    assert escalation.notice_today("approaching", date(2027, 3, 9), due, date(2027, 3, 8)) is None
    assert escalation.notice_today("approaching", date(2027, 3, 9), due, date(2027, 3, 9)) == "approaching"
    assert escalation.notice_today("approaching", date(2027, 3, 9), due, date(2027, 3, 12)) == "overdue"
    assert escalation.after("approaching", due) == ("overdue", date(2027, 3, 12))
    assert escalation.after("overdue", due) == (None, None)
    assert escalation.notice_today(None, None, due, date(2027, 3, 20)) is None
