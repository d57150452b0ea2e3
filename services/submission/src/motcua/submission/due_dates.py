"""Working days and hours in Vietnam, and the due date the law gives a dossier received online.

Weekends and public holidays (Tết included) are skipped and make-up Saturdays counted. A dossier
submitted online outside working hours — before they start or after they end on a working day, on a
weekend or on a holiday — is received at the start of the next working day (Decree 45/2020/NĐ-CP,
art. 11); the processing days count from the day of receipt, which itself does not count. A procedure
that promises its result the same day for dossiers received before a cut-off (HT-KS-01: 15:00) is due
that day when received before it, and otherwise as its processing days say.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache

import holidays

# Vietnam keeps UTC+7 all year (no daylight saving): a fixed offset needs no tz database.
VIETNAM = timezone(timedelta(hours=7), "ICT")

_HOURS = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")


@dataclass(frozen=True)
class WorkingHours:
    """When an agency's desk works on a working day, in Vietnam time (the start included, the end not)."""

    start: time = time(7, 30)
    end: time = time(17, 0)

    def __post_init__(self) -> None:
        if self.start >= self.end:
            raise ValueError(f"working hours must start before they end: {self.start:%H:%M}-{self.end:%H:%M}")

    @classmethod
    def parse(cls, text: str) -> WorkingHours:
        """From "07:30-17:00"; ValueError for anything else."""
        found = _HOURS.match(text.strip())
        if found is None:
            raise ValueError(f"working hours must read HH:MM-HH:MM, not {text!r}")
        h1, m1, h2, m2 = (int(g) for g in found.groups())
        return cls(time(h1, m1), time(h2, m2))

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


OFFICE_HOURS = WorkingHours()


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


def next_working_day(day: date) -> date:
    """The first working day after `day`."""
    day += timedelta(days=1)
    while not is_working_day(day):
        day += timedelta(days=1)
    return day


def in_working_hours(moment: datetime, hours: WorkingHours = OFFICE_HOURS) -> bool:
    """Whether the desk is open at `moment`: a working day, between the start and the end of its hours."""
    local = moment.astimezone(VIETNAM)
    return is_working_day(local.date()) and hours.start <= local.time() < hours.end


def received_at(moment: datetime, hours: WorkingHours = OFFICE_HOURS) -> datetime:
    """When a dossier submitted online at `moment` counts as received: at once during working hours,
    otherwise at the start of the next working day (the same day when submitted before the desk opens)."""
    local = moment.astimezone(VIETNAM)
    if in_working_hours(local, hours):
        return moment
    day = local.date()
    if not (is_working_day(day) and local.time() < hours.start):
        day = next_working_day(day)
    return datetime.combine(day, hours.start, tzinfo=VIETNAM).astimezone(moment.tzinfo)


def add_working_days(day: date, days: int) -> date:
    """The `days`-th working day after `day` (`day` itself when `days` is 0)."""
    for _ in range(days):
        day = next_working_day(day)
    return day


def due_date(
    submitted_at: datetime,
    processing_days: int,
    *,
    hours: WorkingHours = OFFICE_HOURS,
    same_day_cutoff: time | None = None,
) -> date:
    """The day the result is due for a dossier submitted online at `submitted_at`.

    Received (see `received_at`) on day R: due R when the procedure answers the same day and the
    receipt is before `same_day_cutoff` (a dossier sent at night is received when the desk opens, so
    before it); otherwise the `processing_days`-th working day after R (R itself for 0 days).
    """
    receipt = received_at(submitted_at, hours)
    day = local_day(receipt)
    if same_day_cutoff is not None and receipt.astimezone(VIETNAM).time() < same_day_cutoff:
        return day
    return add_working_days(day, processing_days)


def working_days_left(due: date, today: date) -> int:
    """Working days from `today` to `due`: 0 on the due day, negative once it has passed (days late)."""
    if due >= today:
        return sum(1 for n in range((due - today).days) if is_working_day(today + timedelta(days=n + 1)))
    return -sum(1 for n in range((today - due).days) if is_working_day(due + timedelta(days=n + 1)))
