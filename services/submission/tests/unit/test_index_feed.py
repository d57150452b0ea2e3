"""What each event does to its dossier's document in the index's read model (pure: no database)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from motcua.common.contracts.submission import (
    ApologyIssued,
    ApplicationRated,
    ApplicationReceived,
    ApplicationStatusChanged,
)
from motcua.submission.index_feed import changes, dossier

AT = datetime(2026, 10, 5, 2, tzinfo=UTC)
COMMON = {
    "application_id": "a1",
    "tracking_code": "HS-1",
    "procedure_code": "P1",
    "procedure_version": 1,
    "procedure_name": "Đăng ký khai sinh",
    "agency_code": "X",
    "applicant_account_id": "citizen-secret-id",
    "due_date": date(2026, 10, 12),
}


def moved(to: str) -> ApplicationStatusChanged:
    return ApplicationStatusChanged(**COMMON, from_status="processing", to_status=to, by_role="officer", changed_at=AT)


def test_no_event_puts_the_applicant_or_a_comment_in_the_read_model() -> None:
    events: list[ApplicationReceived | ApplicationStatusChanged | ApologyIssued | ApplicationRated] = [
        ApplicationReceived(**COMMON, submitted_at=AT),
        moved("supplement_requested"),
        ApologyIssued(**COMMON, previous_due_date=date(2026, 10, 9), reason="Chờ xác minh", slip_id="s", issued_at=AT),
        ApplicationRated(**COMMON, guidance=5, timeliness=4, courtesy=3, has_comment=True, rated_at=AT),
    ]
    for event in events:
        text = str(changes(event))
        assert "citizen-secret-id" not in text
        assert "Chờ xác minh" not in text


def test_a_supplement_request_is_dated_and_a_decision_records_its_due_date() -> None:
    assert changes(moved("supplement_requested"))["$push"]["supplements"] == AT
    decided = changes(moved("rejected"))["$set"]
    assert (decided["outcome"], decided["finish_due"], decided["finished_at"]) == ("rejected", "2026-10-12", AT)
    assert "finished_at" not in changes(moved("approved"))["$set"]


def test_an_apology_pushes_the_new_due_date_from_its_time() -> None:
    apology = ApologyIssued(
        **{**COMMON, "due_date": date(2026, 10, 20)},
        previous_due_date=date(2026, 10, 12),
        reason="r",
        slip_id="s",
        issued_at=AT,
    )
    assert changes(apology)["$push"] == {"dues": {"at": AT, "due_date": "2026-10-20"}, "apologies": AT}


def test_a_stored_document_reads_back_as_the_arithmetics_dossier() -> None:
    found = dossier(
        {
            "_id": "a1",
            "agency_code": "X",
            "procedure_code": "P1",
            "submitted_at": AT,
            "dues": [{"at": AT, "due_date": "2026-10-12"}],
            "rating": {"at": AT, "guidance": 5, "timeliness": 4, "courtesy": 3},
        }
    )
    assert found.due_at(AT) == date(2026, 10, 12)
    assert found.rating is not None
    assert found.rating.satisfied
    assert found.finished_at is None
