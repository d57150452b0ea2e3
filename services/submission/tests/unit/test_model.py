from datetime import UTC, datetime

import pytest
from motcua.submission.model import (
    ApplicantTypeNotAllowed,
    Application,
    MissingPrecondition,
    Procedure,
    ProcedureUnavailable,
    StaleRevision,
    changed,
    check_revision,
    etag,
    start_draft,
)
from motcua.submission.workflow import Status

AT = datetime(2026, 11, 27, 3, tzinfo=UTC)


def procedure(**overrides) -> Procedure:
    fields = {"code": "DKKD-HKD-01", "version": 3, "name": "Đăng ký thành lập hộ kinh doanh",
              "name_en": "Business household registration", "agency_code": "UBND-XA",
              "applicant_types": ["individual", "business"], "processing_days": 3, "required_documents": [],
              "form_schema": {"type": "object"}}
    return Procedure.model_validate({**fields, **overrides})


def draft(**overrides) -> Application:
    return start_draft(procedure(**overrides), application_id="a1", owner_id="citizen-1",
                       account_type="business", at=AT)


def test_a_draft_is_pinned_to_the_version_it_started_on():
    app = draft()
    assert (app.procedure_code, app.procedure_version, app.status, app.revision) == ("DKKD-HKD-01", 3, "draft", 1)
    assert app.agency_code == "UBND-XA"
    assert app.procedure_name_en == "Business household registration"


def test_an_organisation_cannot_start_a_procedure_for_individuals_and_businesses():
    with pytest.raises(ApplicantTypeNotAllowed, match="individual, business"):
        start_draft(procedure(), application_id="a1", owner_id="o", account_type="organisation", at=AT)
    with pytest.raises(ApplicantTypeNotAllowed):
        start_draft(procedure(), application_id="a1", owner_id="o", account_type=None, at=AT)


def test_a_retired_procedure_takes_no_new_drafts():
    with pytest.raises(ProcedureUnavailable):
        draft(retired=True)


def test_if_match_must_name_the_current_revision():
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


def test_a_change_of_status_is_written_in_history():
    app = changed(draft(), Status.SUBMITTED, by_role="citizen", comment="", at=AT)
    assert app.status == "submitted"
    assert [(h.from_status, h.to_status, h.by_role) for h in app.history] == [("draft", "submitted", "citizen")]
    assert app.history[0].model_dump(by_alias=True)["from"] == "draft"
