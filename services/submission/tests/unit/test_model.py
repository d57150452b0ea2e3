from datetime import UTC, date, datetime
from typing import Any

import pytest
from motcua.common.errors import InvalidInput
from motcua.submission import tracking
from motcua.submission.applicants import Applicant, ApplicantNotYetKnown
from motcua.submission.due_dates import WorkingHours
from motcua.submission.model import (
    AlreadySubmitted,
    ApplicantTypeNotAllowed,
    Application,
    DocumentRef,
    Incomplete,
    MissingPrecondition,
    Procedure,
    ProcedureUnavailable,
    StaleRevision,
    changed,
    check_revision,
    etag,
    explained,
    start_draft,
)
from motcua.submission.workflow import Action, Status, TransitionNotAllowed

AT = datetime(2026, 11, 27, 3, tzinfo=UTC)
APPLICANT = Applicant(
    account_id="citizen-1",
    account_type="business",
    full_name="Lê Văn Đức",
    tax_code="0101234567",
    organisation_name="Hộ kinh doanh Đức Lê",
    email="duc.le@example.vn",
    phone="+84912345678",
    profile_changed_at=AT,
    name_key="le van duc",
)


def procedure(**overrides: Any) -> Procedure:
    fields = {
        "code": "DKKD-HKD-01",
        "version": 3,
        "name": "Đăng ký thành lập hộ kinh doanh",
        "name_en": "Business household registration",
        "agency_code": "UBND-XA",
        "applicant_types": ["individual", "business"],
        "processing_days": 3,
        "required_documents": [],
        "form_schema": {"type": "object"},
    }
    return Procedure.model_validate({**fields, **overrides})


def draft(**overrides: Any) -> Application:
    return start_draft(
        procedure(**overrides), application_id="a1", owner_id="citizen-1", account_type="business", at=AT
    )


def test_a_draft_is_pinned_to_the_version_it_started_on() -> None:
    app = draft()
    assert (app.procedure_code, app.procedure_version, app.status, app.revision) == ("DKKD-HKD-01", 3, "draft", 1)
    assert app.agency_code == "UBND-XA"
    assert app.procedure_name_en == "Business household registration"


def test_an_organisation_cannot_start_a_procedure_for_individuals_and_businesses() -> None:
    with pytest.raises(ApplicantTypeNotAllowed, match="individual, business"):
        start_draft(procedure(), application_id="a1", owner_id="o", account_type="organisation", at=AT)
    with pytest.raises(ApplicantTypeNotAllowed):
        start_draft(procedure(), application_id="a1", owner_id="o", account_type=None, at=AT)


def test_a_retired_procedure_takes_no_new_drafts() -> None:
    with pytest.raises(ProcedureUnavailable):
        draft(retired=True)


def test_if_match_must_name_the_current_revision() -> None:
    app = draft().model_copy(update={"revision": 4})
    assert etag(app) == '"4"'
    check_revision(app, '"4"')
    check_revision(app, '"3", "4"')
    check_revision(app, "*")
    with pytest.raises(StaleRevision):
        check_revision(app, '"3"')
    with pytest.raises(StaleRevision):
        check_revision(app, 'W/"4"')
    with pytest.raises(MissingPrecondition):
        check_revision(app, None)


def test_a_change_of_status_is_written_in_history() -> None:
    app = changed(draft(), Status.SUBMITTED, by_role="citizen", comment="", at=AT)
    assert app.status == "submitted"
    assert [(h.from_status, h.to_status, h.by_role) for h in app.history] == [("draft", "submitted", "citizen")]
    assert app.history[0].model_dump(by_alias=True)["from"] == "draft"


CERTIFICATE = {
    "key": "birth_certificate_medical",
    "name": "Giấy chứng sinh",
    "name_en": "Medical birth certificate",
    "required": True,
    "accepted_types": ["application/pdf"],
    "max_size_mb": 5,
}
FORM = {"type": "object", "properties": {"child_full_name": {"type": "string"}}, "required": ["child_full_name"]}
FRIDAY_NOON = datetime(2026, 11, 27, 5, tzinfo=UTC)  # 12:00 in Vietnam


def birth_registration() -> Procedure:
    return procedure(required_documents=[CERTIFICATE], form_schema=FORM, processing_days=3)


def complete_draft() -> Application:
    scan = DocumentRef(
        id="f1",
        document_key="birth_certificate_medical",
        filename="scan.pdf",
        content_type="application/pdf",
        size=10,
        sha256="0" * 64,
        uploaded_at=AT,
    )
    return draft().model_copy(
        update={"data": {"child_full_name": "Nguyễn Minh Anh"}, "documents": {"birth_certificate_medical": scan}}
    )


def test_a_submitted_draft_gets_a_receipt_a_tracking_code_of_its_month_and_a_due_date_in_working_days() -> None:
    app = complete_draft().submit(birth_registration(), idempotency_key="k1", applicant=APPLICANT, at=FRIDAY_NOON)
    assert app.status == Status.SUBMITTED
    assert app.receipt is not None
    assert app.tracking_code == app.receipt.tracking_code
    assert app.tracking_code is not None
    assert tracking.normalise(app.tracking_code) == app.tracking_code
    assert app.tracking_code.startswith("HS-2611-")
    assert app.due_date == app.receipt.due_date == date(2026, 12, 2)  # Mon, Tue, Wed after Friday
    assert app.submitted_at == app.receipt.submitted_at == FRIDAY_NOON
    assert [(h.from_status, h.to_status, h.by_role) for h in app.history] == [("draft", "submitted", "citizen")]


def test_a_same_day_procedure_is_due_the_day_of_a_morning_receipt_and_the_desks_hours_decide() -> None:
    same_day = procedure(required_documents=[CERTIFICATE], form_schema=FORM, processing_days=1, same_day_cutoff="15:00")
    assert complete_draft().submit(
        same_day, idempotency_key="k1", applicant=APPLICANT, at=FRIDAY_NOON
    ).due_date == date(2026, 11, 27)
    friday_evening = datetime(2026, 11, 27, 10, 30, tzinfo=UTC)  # 17:30 in Vietnam: received Monday 07:30
    assert complete_draft().submit(
        same_day, idempotency_key="k1", applicant=APPLICANT, at=friday_evening
    ).due_date == date(2026, 11, 30)
    late_desk = WorkingHours.parse("08:00-18:00")  # still open at 17:30 Friday, closed for the cut-off
    at_half_past_five = complete_draft().submit(
        birth_registration(), idempotency_key="k1", applicant=APPLICANT, at=friday_evening, hours=late_desk
    )
    assert at_half_past_five.due_date == date(2026, 12, 2)  # Mon, Tue, Wed after the Friday of receipt
    closed = complete_draft().submit(birth_registration(), idempotency_key="k1", applicant=APPLICANT, at=friday_evening)
    assert closed.due_date == date(2026, 12, 3)  # received Monday: Tue, Wed, Thu


def test_submitting_again_with_the_same_key_changes_nothing_and_another_key_is_refused() -> None:
    once = complete_draft().submit(birth_registration(), idempotency_key="k1", applicant=APPLICANT, at=FRIDAY_NOON)
    assert once.submit(birth_registration(), idempotency_key="k1", applicant=APPLICANT, at=AT) is once
    with pytest.raises(AlreadySubmitted, match=str(once.tracking_code)):
        once.submit(birth_registration(), idempotency_key="k2", applicant=APPLICANT, at=AT)


def test_an_incomplete_draft_is_refused_with_every_missing_field_and_document_at_once() -> None:
    with pytest.raises(Incomplete) as refused:
        draft().submit(birth_registration(), idempotency_key="k1", applicant=APPLICANT, at=AT)
    pointers = [p.pointer for p in refused.value.problems]
    assert pointers == ["/data/child_full_name", "/documents/birth_certificate_medical"]
    assert refused.value.detail.startswith("The application is not complete: ")


def test_a_resubmitted_dossier_is_processed_again_and_its_due_date_restarts() -> None:
    submitted = complete_draft().submit(birth_registration(), idempotency_key="k1", applicant=APPLICANT, at=AT)
    asked = submitted.move(Action.REQUEST_SUPPLEMENT, by_role="officer", comment="Bổ sung bản sao", at=AT)
    back = asked.resubmit(birth_registration(), comment="Đã bổ sung", at=FRIDAY_NOON)
    assert back.status == Status.PROCESSING
    assert back.due_date == date(2026, 12, 2)
    assert back.history[-1].comment == "Đã bổ sung"


def test_only_a_dossier_awaiting_a_supplement_can_be_resubmitted_and_only_when_complete() -> None:
    with pytest.raises(TransitionNotAllowed):
        complete_draft().resubmit(birth_registration(), comment="", at=AT)
    submitted = complete_draft().submit(birth_registration(), idempotency_key="k1", applicant=APPLICANT, at=AT)
    asked = submitted.move(Action.REQUEST_SUPPLEMENT, by_role="officer", comment="why", at=AT)
    with pytest.raises(Incomplete):
        asked.model_copy(update={"documents": {}}).resubmit(birth_registration(), comment="", at=AT)


def test_an_officer_move_follows_the_state_machine_and_is_recorded_with_its_role() -> None:
    submitted = complete_draft().submit(birth_registration(), idempotency_key="k1", applicant=APPLICANT, at=AT)
    accepted = submitted.move(Action.ACCEPT, by_role="officer", comment="", at=FRIDAY_NOON)
    assert (accepted.status, accepted.history[-1].by_role) == ("processing", "officer")
    assert accepted.updated_at == FRIDAY_NOON
    with pytest.raises(TransitionNotAllowed):
        accepted.move(Action.ISSUE_RESULT, by_role="officer", comment="", at=AT)


def test_a_refusal_or_a_supplement_request_must_say_why() -> None:
    assert explained(Action.ACCEPT, "") == ""
    assert explained(Action.REJECT, "  Thiếu giấy tờ  ") == "Thiếu giấy tờ"
    with pytest.raises(InvalidInput) as refused:
        explained(Action.REQUEST_SUPPLEMENT, "   ")
    assert [p.pointer for p in refused.value.problems] == ["/comment"]


def test_a_submitted_dossier_files_the_applicant_as_they_were_and_a_resubmission_keeps_them() -> None:
    app = complete_draft().submit(birth_registration(), idempotency_key="k1", applicant=APPLICANT, at=FRIDAY_NOON)
    assert app.applicant == APPLICANT
    supplement = app.request_supplement(comment="Thiếu giấy", items=["Giấy chứng sinh"], at=AT, supply_days=15)
    again = supplement.resubmit(birth_registration(), comment="Đã bổ sung", at=AT)
    assert again.applicant == APPLICANT


def test_a_submit_before_the_applicants_profile_arrived_is_refused_for_now_but_an_incomplete_one_says_so_first() -> (
    None
):
    with pytest.raises(ApplicantNotYetKnown):
        complete_draft().submit(birth_registration(), idempotency_key="k1", applicant=None, at=FRIDAY_NOON)
    with pytest.raises(Incomplete):
        draft().submit(birth_registration(), idempotency_key="k1", applicant=None, at=AT)
