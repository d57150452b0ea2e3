"""When a dossier's time is running out, and when it has run out: the notices of the escalation check. Pure.

A dossier's clock runs from its receipt (or its complete resubmission) to its due date, in working days.
At three quarters of that time the assignee and the agency's approvers are warned (ApplicationDeadlineApproaching);
the day after the due date, if still open, it is overdue (ApplicationOverdue) and flagged until an apology sets
a later date. Each notice is given once per due date: the dossier carries the next notice and its day, set
whenever its due date is, so the check reads only the dossiers whose day has come (an index on that day).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Literal

from motcua.submission import due_dates

Notice = Literal["approaching", "overdue"]

# The share of a dossier's working days after which its people are warned.
WARN_AT = 0.75


def warn_day(start: date, due: date) -> date:
    """The first day on which at most a quarter of the working days from `start` to `due` are left."""
    total = due_dates.working_days_left(due, start)
    keep = int(total * (1 - WARN_AT))  # working days still left on the warning day
    day = due
    while keep > 0:
        day -= timedelta(days=1)
        if due_dates.is_working_day(day):
            keep -= 1
    return max(day, start)


def overdue_day(due: date) -> date:
    """The day a dossier due on `due` is late: the next calendar day."""
    return due + timedelta(days=1)


def first_notice(start: date, due: date) -> tuple[Notice, date]:
    """The notice a dossier whose clock starts on `start` and is due `due` will get first, and its day."""
    return "approaching", warn_day(start, due)


def after(notice: Notice, due: date) -> tuple[Notice | None, date | None]:
    """What comes after `notice` was given for a dossier due `due`: the overdue notice, then nothing."""
    return ("overdue", overdue_day(due)) if notice == "approaching" else (None, None)


def notice_today(next_notice: Notice | None, on: date | None, due: date | None, today: date) -> Notice | None:
    """The notice due today, if any: an overdue dossier is told overdue even if its warning was never given."""
    if next_notice is None or on is None or due is None or on > today:
        return None
    return "overdue" if today >= overdue_day(due) else next_notice
