"""The result documents' domain: codes, what a result is made from, revocation."""

from datetime import UTC, datetime

import pytest
from motcua.common.errors import InvalidInput
from motcua.submission import results
from motcua.submission.model import Application, IssuedResult, Procedure
from motcua.submission.workflow import Role, Status, WrongRole

AT = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)


def _procedure(template: str | None = "generic") -> Procedure:
    return Procedure(
        code="HT-KS-01",
        version=1,
        name="Đăng ký khai sinh",
        agency_code="UBND-XA",
        applicant_types=["individual"],
        processing_days=1,
        required_documents=[],
        form_schema={},
        result_template=template,
    )


def _completed(**result: object) -> Application:
    issued = IssuedResult(
        verification_code=results.new_code(),
        file_id="f",
        filename="ket-qua.pdf",
        sha256="0" * 64,
        size=1,
        issued_at=AT,
        made_from="template",
    ).model_copy(update=result)
    return Application(
        id="a",
        owner_id="c",
        applicant_type="individual",
        procedure_code="HT-KS-01",
        procedure_version=1,
        procedure_name="Đăng ký khai sinh",
        agency_code="UBND-XA",
        status=Status.COMPLETED,
        result=issued,
        created_at=AT,
        updated_at=AT,
    )


def test_codes_are_random_sixteen_characters_and_read_back_however_typed() -> None:
    codes = {results.new_code() for _ in range(200)}
    assert len(codes) == 200
    code = codes.pop()
    assert len(code) == 16
    assert results.normalise(results.display(code).lower()) == code
    assert results.normalise("0O1I-L000-0000-0000") == "0011100000000000"
    assert results.normalise("HS-2611-7KQM") is None
    assert results.normalise("../../etc/passwd") is None


def test_a_result_is_the_upload_or_the_template_and_neither_is_422_naming_the_file() -> None:
    assert results.require_document(_procedure(), uploaded=True) == "upload"
    assert results.require_document(_procedure(), uploaded=False) == "template"
    assert results.require_document(_procedure(None), uploaded=True) == "upload"
    with pytest.raises(InvalidInput) as refused:
        results.require_document(_procedure(None), uploaded=False)
    assert [p.pointer for p in refused.value.problems] == ["/file"]


def test_only_an_approver_revokes_once_with_a_reason_and_the_dossier_stays_completed() -> None:
    app = _completed()
    with pytest.raises(WrongRole):
        results.revoke(app, reason="Cấp nhầm", roles=frozenset({Role.INTAKE}), at=AT)
    with pytest.raises(InvalidInput):
        results.revoke(app, reason="  ", roles=frozenset({Role.APPROVER}), at=AT)
    revoked = results.revoke(app, reason=" Cấp nhầm ", roles=frozenset({Role.APPROVER}), at=AT)
    assert revoked.status == Status.COMPLETED
    assert revoked.result is not None
    assert (revoked.result.status, revoked.result.revocation_reason, revoked.result.revoked_at) == (
        "revoked",
        "Cấp nhầm",
        AT,
    )
    assert revoked.history[-1].comment == "Cấp nhầm"
    with pytest.raises(results.ResultAlreadyRevoked):
        results.revoke(revoked, reason="again", roles=frozenset({Role.APPROVER}), at=AT)
    with pytest.raises(results.ResultNotFound):
        results.revoke(app.model_copy(update={"result": None}), reason="x", roles=frozenset({Role.APPROVER}), at=AT)
