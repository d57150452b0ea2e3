"""Working days in Vietnam: weekends and public holidays (Tết included) skipped, make-up Saturdays counted."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from functools import lru_cache

import holidays

# Vietnam keeps UTC+7 all year (no daylight saving): a fixed offset needs no tz database.
VIETNAM = timezone(timedelta(hours=7), "ICT")


@lru_cache(maxsize=1)
def _calendar() -> holidays.HolidayBase:
    # The `holidays` package knows the lunar Tết days, the days the government adds around them,
    # and the Saturdays worked in exchange (its `weekend_workdays`).
    return holidays.country_holidays("VN")


def warm_up(today: date) -> None:
    """Load the calendar (the package imports every country on first use) before the first citizen needs it."""
    for year in (today.year, today.year + 1):
        is_working_day(date(year, 1, 1))


def is_working_day(day: date) -> bool:
    return bool(_calendar().is_working_day(day))


def local_day(moment: datetime) -> date:
    """The calendar day in Vietnam at `moment`."""
    return moment.astimezone(VIETNAM).date()


def due_date(submitted_at: datetime, processing_days: int) -> date:
    """The `processing_days`-th working day after the day of submission (Vietnam time).

    The day of submission itself does not count; with 0 processing days the answer is due the
    day it is submitted, or the next working day when that is a weekend or holiday.
    """
    day = local_day(submitted_at)
    if processing_days <= 0:
        while not is_working_day(day):
            day += timedelta(days=1)
        return day
    remaining = processing_days
    while remaining:
        day += timedelta(days=1)
        if is_working_day(day):
            remaining -= 1
    return day
