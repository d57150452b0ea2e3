"""The service index's arithmetic on a scripted October 2026 (no holiday in it; every time Vietnam's)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from motcua.common.errors import InvalidInput
from motcua.submission.index_model import (
    Dossier,
    Figures,
    Month,
    Rating,
    Row,
    as_csv,
    costly,
    figures,
    grouped,
    months_back,
    ranking,
)

VN = timezone(timedelta(hours=7))
OCTOBER = Month(2026, 10)
AFTER = datetime(2026, 11, 20, 12, tzinfo=VN)


def at(day: int, hour: int = 9, month: int = 10) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=VN)


def d(day: int, month: int = 10) -> date:
    return date(2026, month, day)


def dossier(name: str, procedure: str = "P1", **facts: object) -> Dossier:
    return Dossier(application_id=name, agency_code="X", procedure_code=procedure, tracking_code=name, **facts)  # type: ignore[arg-type]


SCRIPT = [
    # on time: due 12th, completed the 9th (4 working days), rated 5/5/4
    dossier(
        "A",
        submitted_at=at(5),
        dues=((at(5), d(12)),),
        finished_at=at(9, 10),
        outcome="completed",
        finish_due=d(12),
        rating=Rating(at(12), 5, 5, 4),
    ),
    # late: due 12th, completed the 14th (7 working days), no apology, rated 2/1/3
    dossier(
        "B",
        submitted_at=at(5),
        dues=((at(5), d(12)),),
        finished_at=at(14),
        outcome="completed",
        finish_due=d(12),
        rating=Rating(at(15), 2, 1, 3),
    ),
    # a supplement: asked the 7th, back the 9th (due restarts: 16th), completed the 15th; rated 4/4/4
    dossier(
        "C",
        submitted_at=at(6),
        dues=((at(6), d(13)), (at(7), d(13)), (at(9), d(16))),
        supplements=(at(7),),
        finished_at=at(15),
        outcome="completed",
        finish_due=d(16),
        rating=Rating(at(16), 4, 4, 4),
    ),
    # an apology the 13th moves the 14th to the 21st; completed the 20th (9 working days)
    dossier(
        "D",
        submitted_at=at(7),
        dues=((at(7), d(14)), (at(13), d(21))),
        apologies=(at(13),),
        finished_at=at(20),
        outcome="completed",
        finish_due=d(21),
    ),
    # open past due at the month's end (due the 15th)
    dossier("E", "P2", submitted_at=at(8), dues=((at(8), d(15)), (at(9), d(15)))),
    # rejected the next day: on time, 1 working day; rated 3/3/3
    dossier(
        "F",
        "P2",
        submitted_at=at(12),
        dues=((at(12), d(19)),),
        finished_at=at(13),
        outcome="rejected",
        finish_due=d(19),
        rating=Rating(at(14), 3, 3, 3),
    ),
    # withdrawn: neither on time nor late
    dossier(
        "G",
        "P2",
        submitted_at=at(12),
        dues=((at(12), d(19)),),
        finished_at=at(13),
        outcome="withdrawn",
        finish_due=d(19),
    ),
    # received in September, completed the 2nd of October: on time, 4 working days
    dossier(
        "H",
        "P2",
        submitted_at=at(28, month=9),
        dues=((at(28, month=9), d(5)),),
        finished_at=at(2),
        outcome="completed",
        finish_due=d(5),
    ),
    # received the 30th, due in November: open, not past due
    dossier("I", "P2", submitted_at=at(30), dues=((at(30), d(6, 11)),)),
]

OCTOBER_FIGURES = Figures(
    received=8,
    online_share=1.0,
    on_time=5,
    late=1,
    open_past_due=1,
    average_working_days=round(32 / 6, 2),
    supplements=1,
    apologies=1,
    ratings=4,
    satisfaction_rate=0.5,
)


def test_a_scripted_month_gives_the_hand_computed_figures() -> None:
    assert figures(SCRIPT, OCTOBER, AFTER) == OCTOBER_FIGURES


def test_the_month_before_counts_only_what_happened_in_it() -> None:
    assert figures(SCRIPT, Month(2026, 9), AFTER) == Figures(received=1, online_share=1.0)


def test_a_month_not_begun_has_no_figures_and_an_empty_month_no_rates() -> None:
    assert figures(SCRIPT, Month(2027, 1), AFTER) == Figures()
    empty = figures([], OCTOBER, AFTER)
    assert (empty.online_share, empty.average_working_days, empty.satisfaction_rate) == (None, None, None)


def test_the_current_month_judges_open_dossiers_now() -> None:
    # on the 14th, B (due the 12th) and E... E is due the 15th: only B is open past due
    assert figures(SCRIPT, OCTOBER, at(14, 8)).open_past_due == 1
    assert figures(SCRIPT, OCTOBER, at(16, 8)).open_past_due == 1  # E now; B was decided on the 14th


def test_a_rating_of_four_on_average_is_satisfied_and_below_is_not() -> None:
    assert Rating(at(1), 4, 4, 4).satisfied
    assert Rating(at(1), 5, 5, 2).satisfied
    assert not Rating(at(1), 5, 4, 2).satisfied


def test_the_costly_dossiers_are_the_late_ones_without_an_apology_latest_first() -> None:
    found = costly(SCRIPT, OCTOBER, AFTER)
    assert [(c.tracking_code, c.state, c.working_days_late) for c in found] == [
        ("E", "open_past_due", 11),
        ("B", "decided_late", 2),
    ]


def test_figures_per_procedure_add_up_to_the_agencys() -> None:
    per = grouped(SCRIPT, lambda x: x.procedure_code, OCTOBER, AFTER)
    assert per["P1"].received + per["P2"].received == OCTOBER_FIGURES.received
    assert (per["P1"].on_time, per["P1"].late, per["P2"].on_time) == (3, 1, 2)
    assert per["P2"].open_past_due == 1


def test_agencies_rank_by_on_time_share_then_satisfaction_and_ties_share_a_rank() -> None:
    ranked = ranking(
        {
            "LATE": Figures(on_time=1, late=3),
            "GOOD": Figures(on_time=4, satisfaction_rate=0.9),
            "ALSO-GOOD": Figures(on_time=2, satisfaction_rate=0.9),
            "IDLE": Figures(),
        }
    )
    assert [(r.rank, r.agency_code) for r in ranked] == [(1, "ALSO-GOOD"), (1, "GOOD"), (3, "LATE"), (4, "IDLE")]


def test_months_run_oldest_first_across_a_new_year() -> None:
    assert [str(m) for m in months_back(Month(2026, 2), 3)] == ["2025-12", "2026-01", "2026-02"]
    assert Month.parse("2026-10") == OCTOBER
    assert OCTOBER.start == datetime(2026, 10, 1, tzinfo=VN)
    assert OCTOBER.end == datetime(2026, 11, 1, tzinfo=VN)


@pytest.mark.parametrize("text", ["2026-13", "2026-1", "10-2026", "1999-01", ""])
def test_a_month_not_written_yyyy_mm_is_refused_naming_the_field(text: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        Month.parse(text)
    assert refused.value.problems[0].pointer == "/month"


def test_the_csv_has_one_line_per_scope_and_defuses_formulas() -> None:
    text = as_csv([Row("agency", "X", "X", OCTOBER_FIGURES), Row("procedure", "P1", "=HYPERLINK(1)", Figures())])
    lines = text.splitlines()
    assert lines[0].startswith("scope,code,name,received,online_share,on_time,late,open_past_due")
    assert lines[1].startswith("agency,X,X,8,1.0,5,1,1,5.33,1,1,4,0.5")
    assert "'=HYPERLINK(1)" in lines[2]
