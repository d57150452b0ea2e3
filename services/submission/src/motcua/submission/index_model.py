"""The service index's arithmetic (Decision 766/QĐ-TTg's monthly figures) — pure, no I/O.

A dossier is known to the index by what its events said (`Dossier`); the figures of a month are
computed from those facts, the same way whether the read model was fed live or by a replay of the
topic from the beginning. Months are Vietnam's calendar months (UTC+7).

Which month a fact counts in:
- `received`: the month of submission; `online_share`: every dossier on this platform arrives online,
  so it is 1.0 whenever anything was received (null when nothing was);
- `on_time` / `late`: dossiers decided (completed or rejected; a withdrawal is neither) in the month,
  on time when decided on or before the due date then in force (a supplement restarts it, an apology
  moves it); `average_working_days`: their working days from receipt to the decision;
- `open_past_due`: dossiers still open at the month's end (now, for the current month) whose due date
  had passed by then;
- `supplements`, `apologies`, `ratings`: requests, apologies and ratings made in the month;
- `satisfaction_rate`: the share of the month's ratings whose average of the three scores is 4 or more.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from motcua.common.errors import InvalidInput
from motcua.submission import due_dates
from motcua.submission.due_dates import VIETNAM

DECIDED = frozenset({"completed", "rejected"})
FINISHED = DECIDED | {"withdrawn"}
SATISFIED = 4.0  # an average score at or above this is a satisfied applicant
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str, field_name: str = "month") -> Month:
        """From "YYYY-MM"; InvalidInput naming the query parameter otherwise."""
        found = _MONTH.match(text)
        if found is None or not 2000 <= int(found.group(1)) <= 2999:
            raise InvalidInput.one(f"/{field_name}", "must be a month written YYYY-MM, such as 2026-10")
        return cls(int(found.group(1)), int(found.group(2)))

    @classmethod
    def of(cls, moment: datetime) -> Month:
        local = moment.astimezone(VIETNAM)
        return cls(local.year, local.month)

    @property
    def start(self) -> datetime:
        return datetime(self.year, self.month, 1, tzinfo=VIETNAM)

    @property
    def end(self) -> datetime:
        """The next month's start (not included)."""
        return self.shifted(1).start

    def shifted(self, months: int) -> Month:
        index = self.year * 12 + self.month - 1 + months
        return Month(index // 12, index % 12 + 1)

    def contains(self, moment: datetime | None) -> bool:
        return moment is not None and self.start <= moment < self.end

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


@dataclass(frozen=True)
class Rating:
    at: datetime
    guidance: int
    timeliness: int
    courtesy: int

    @property
    def average(self) -> float:
        return (self.guidance + self.timeliness + self.courtesy) / 3

    @property
    def satisfied(self) -> bool:
        return self.guidance + self.timeliness + self.courtesy >= SATISFIED * 3


@dataclass(frozen=True)
class Dossier:
    """What the index knows of one dossier, from its events."""

    application_id: str
    agency_code: str
    procedure_code: str
    procedure_name: str = ""
    tracking_code: str = ""
    submitted_at: datetime | None = None
    dues: tuple[tuple[datetime, date], ...] = ()  # (from when, the due date in force), in order
    supplements: tuple[datetime, ...] = ()
    apologies: tuple[datetime, ...] = ()
    finished_at: datetime | None = None
    outcome: str | None = None  # completed, rejected or withdrawn
    finish_due: date | None = None  # the due date in force when it was finished
    rating: Rating | None = None
    officer_id: str | None = None  # the specialist it was assigned to (ApplicationAssigned); None: never assigned
    officer_name: str = ""

    def due_at(self, moment: datetime) -> date | None:
        """The due date in force at `moment`."""
        found = None
        for since, due in self.dues:
            if since <= moment:
                found = due
        return found

    def open_at(self, moment: datetime) -> bool:
        return (
            self.submitted_at is not None
            and self.submitted_at < moment
            and (self.finished_at is None or self.finished_at >= moment)
        )

    def past_due_at(self, moment: datetime) -> bool:
        due = self.due_at(moment)
        return self.open_at(moment) and due is not None and due < due_dates.local_day(moment)

    @property
    def decided(self) -> bool:
        return self.outcome in DECIDED and self.finished_at is not None and self.finish_due is not None

    @property
    def late(self) -> bool:
        assert self.finished_at is not None
        assert self.finish_due is not None
        return due_dates.local_day(self.finished_at) > self.finish_due

    @property
    def working_days(self) -> int:
        """Working days from receipt (the desk's default hours) to the decision."""
        assert self.submitted_at is not None
        assert self.finished_at is not None
        received = due_dates.local_day(due_dates.received_at(self.submitted_at))
        return max(0, due_dates.working_days_left(due_dates.local_day(self.finished_at), received))


@dataclass(frozen=True)
class Figures:
    received: int = 0
    online_share: float | None = None
    on_time: int = 0
    late: int = 0
    open_past_due: int = 0
    average_working_days: float | None = None
    supplements: int = 0
    apologies: int = 0
    ratings: int = 0
    satisfaction_rate: float | None = None

    @property
    def on_time_rate(self) -> float | None:
        decided = self.on_time + self.late
        return round(self.on_time / decided, 4) if decided else None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


COLUMNS = tuple(Figures.__dataclass_fields__)


def cut_off(month: Month, now: datetime) -> datetime:
    """The moment the month's open dossiers are judged at: its end, or now while it lasts."""
    return min(month.end, now)


def figures(dossiers: Iterable[Dossier], month: Month, now: datetime) -> Figures:
    """The month's figures of `dossiers` (any may be outside the month: only what falls in it counts)."""
    if month.start > now:
        return Figures()
    judged_at = cut_off(month, now)
    received = on_time = late = past_due = supplements = apologies = 0
    days: list[int] = []
    ratings: list[Rating] = []
    for d in dossiers:
        received += month.contains(d.submitted_at)
        if d.decided and month.contains(d.finished_at) and d.submitted_at is not None:
            if d.late:
                late += 1
            else:
                on_time += 1
            days.append(d.working_days)
        past_due += d.past_due_at(judged_at)
        supplements += sum(1 for at in d.supplements if month.contains(at))
        apologies += sum(1 for at in d.apologies if month.contains(at))
        if d.rating is not None and month.contains(d.rating.at):
            ratings.append(d.rating)
    return Figures(
        received=received,
        online_share=1.0 if received else None,
        on_time=on_time,
        late=late,
        open_past_due=past_due,
        average_working_days=round(sum(days) / len(days), 2) if days else None,
        supplements=supplements,
        apologies=apologies,
        ratings=len(ratings),
        satisfaction_rate=round(sum(r.satisfied for r in ratings) / len(ratings), 4) if ratings else None,
    )


def months_back(last: Month, count: int) -> list[Month]:
    """`count` months ending with `last`, oldest first."""
    return [last.shifted(-n) for n in reversed(range(count))]


@dataclass(frozen=True)
class Ranked:
    rank: int
    agency_code: str
    figures: Figures


def _ranking_key(item: tuple[str, Figures]) -> tuple[float, float, int, str]:
    code, f = item
    on_time = f.on_time_rate if f.on_time_rate is not None else -1.0
    satisfied = f.satisfaction_rate if f.satisfaction_rate is not None else -1.0
    return (-on_time, -satisfied, -f.received, code)


def ranking(by_agency: dict[str, Figures]) -> list[Ranked]:
    """Agencies best first: the share decided on time, then the satisfaction rate, then how many dossiers
    were received (an agency with nothing decided ranks after those with something); ties share a rank."""
    ordered = sorted(by_agency.items(), key=_ranking_key)
    ranked: list[Ranked] = []
    for n, (code, f) in enumerate(ordered, start=1):
        if ranked and _ranking_key((code, f))[:3] == _ranking_key((ranked[-1].agency_code, ranked[-1].figures))[:3]:
            rank = ranked[-1].rank
        else:
            rank = n
        ranked.append(Ranked(rank, code, f))
    return ranked


def grouped(
    dossiers: Iterable[Dossier], key: Callable[[Dossier], str | None], month: Month, now: datetime
) -> dict[str | None, Figures]:
    groups: dict[str | None, list[Dossier]] = {}
    for d in dossiers:
        groups.setdefault(key(d), []).append(d)
    return {k: figures(v, month, now) for k, v in groups.items()}


@dataclass(frozen=True)
class Costly:
    """A dossier that costs the agency points: late (decided late, or open past its due date) with no apology."""

    tracking_code: str
    procedure_code: str
    due_date: date
    decided_on: date | None
    working_days_late: int
    state: str  # "decided_late" or "open_past_due"

    def as_dict(self) -> dict[str, Any]:
        found = asdict(self)
        found["due_date"] = self.due_date.isoformat()
        found["decided_on"] = self.decided_on.isoformat() if self.decided_on else None
        return found


def costly(dossiers: Iterable[Dossier], month: Month, now: datetime, limit: int = 50) -> list[Costly]:
    """The month's late dossiers without an apology, the latest first."""
    if month.start > now:
        return []
    judged_at = cut_off(month, now)
    found: list[Costly] = []
    for d in dossiers:
        if d.apologies:
            continue
        if d.decided and month.contains(d.finished_at) and d.submitted_at is not None and d.late:
            assert d.finished_at is not None
            assert d.finish_due is not None
            day = due_dates.local_day(d.finished_at)
            late_by = -due_dates.working_days_left(d.finish_due, day)
            found.append(Costly(d.tracking_code, d.procedure_code, d.finish_due, day, late_by, "decided_late"))
        elif d.past_due_at(judged_at):
            due = d.due_at(judged_at)
            assert due is not None
            late_by = -due_dates.working_days_left(due, due_dates.local_day(judged_at) - timedelta(days=1))
            found.append(Costly(d.tracking_code, d.procedure_code, due, None, max(late_by, 1), "open_past_due"))
    found.sort(key=lambda c: (-c.working_days_late, c.due_date, c.tracking_code))
    return found[:limit]


@dataclass(frozen=True)
class Row:
    scope: str  # agency, procedure or officer
    code: str | None
    name: str
    figures: Figures = field(default_factory=Figures)


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    # a spreadsheet would run a cell starting with these as a formula (CSV injection)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def as_csv(rows: Sequence[Row]) -> str:
    """The dashboard's table as CSV (RFC 4180), one line per scope and code."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["scope", "code", "name", *COLUMNS])
    for row in rows:
        values = row.figures.as_dict()
        writer.writerow([_cell(row.scope), _cell(row.code), _cell(row.name), *(_cell(values[c]) for c in COLUMNS)])
    return out.getvalue()
