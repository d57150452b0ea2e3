"""Result documents (issue 20): issued with issue_result from the template or the officer's PDF, signed by the
agency (PAdES, validated by pyHanko against the development CA), carrying a QR code of the verification
address, downloadable by the owner and the agency only, verifiable by anyone, revocable by an approver."""

import hashlib
import io
from typing import Any

import cv2
import numpy as np
from fpdf import FPDF
from motcua.common.contracts.submission import ApplicationResultIssued, ApplicationStatusChanged, ResultRevoked
from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import async_validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from pypdf import PdfReader

AGENCY = "UBND-XA-RESULTS"


def _agency_pdf() -> bytes:
    """A one-page PDF as an agency's own system would produce its decision."""
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=14)
    pdf.cell(text="Quyet dinh so 12/QD-UBND")
    return bytes(pdf.output())


async def _approved(service: Any, samples: Any, **procedure: Any) -> tuple[dict[str, str], str, dict[str, str]]:
    owner, app_id = await service.submitted(samples.birth_registration(agency=AGENCY, **procedure))
    officer = service.officer(AGENCY)
    assert (await service.act(officer, app_id, "accept")).status_code == 200
    assert (await service.act(officer, app_id, "approve")).status_code == 200
    return owner, app_id, officer


def _trust(samples: Any) -> ValidationContext:
    root = load_cert_from_pemder(str(samples.SIGNING_DIR / "ca.cert.pem"))  # type: ignore[no-untyped-call]
    return ValidationContext(trust_roots=[root])


async def _signature_valid(pdf: bytes, samples: Any) -> bool:
    try:
        signatures = PdfFileReader(io.BytesIO(pdf), strict=False).embedded_signatures
        if len(signatures) != 1:
            return False
        status = await async_validate_pdf_signature(signatures[0], _trust(samples))
    except Exception:  # a file too damaged to read is no valid signature either
        return False
    return bool(
        status.bottom_line
        and status.intact
        and status.trusted
        and status.coverage is not None
        and status.coverage.name == "ENTIRE_FILE"
    )


def _qr_codes(pdf: bytes) -> list[str]:
    decoded = []
    for page in PdfReader(io.BytesIO(pdf)).pages:
        for image in page.images:
            assert image.image is not None
            value, _, _ = cv2.QRCodeDetector().detectAndDecode(np.array(image.image.convert("L")))
            if value:
                decoded.append(value)
    return decoded


async def test_a_templated_result_is_signed_carries_its_qr_and_reaches_only_owner_and_agency(
    service: Any, samples: Any
) -> None:
    owner, app_id, officer = await _approved(service, samples)
    http = service.http
    completed = await service.act(officer, app_id, "issue_result")
    assert completed.status_code == 200, completed.text
    result = completed.json()["result"]
    assert completed.json()["status"] == "completed"
    assert result["status"] == "valid"
    code = result["verification_code"]
    tracking = completed.json()["tracking_code"]
    assert len(code) == 16
    assert tracking.replace("-", "") not in code

    mine = await http.get(f"/v1/applications/{app_id}", headers=owner)
    assert mine.json()["result"] == result

    download = await http.get(f"/v1/applications/{app_id}/result", headers=owner)
    assert download.status_code == 200
    assert download.headers["content-type"] == "application/pdf"
    pdf = download.content
    assert hashlib.sha256(pdf).hexdigest() == result["sha256"]
    assert (await http.get(f"/v1/applications/{app_id}/result", headers=officer)).content == pdf
    for stranger in (service.citizen(), service.officer("UBND-XA-ELSEWHERE")):
        assert (await http.get(f"/v1/applications/{app_id}/result", headers=stranger)).status_code == 404

    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert "KẾT QUẢ GIẢI QUYẾT THỦ TỤC HÀNH CHÍNH" in text
    assert "Đăng ký khai sinh" in text
    assert "Nguyễn Minh Anh" in text
    assert tracking in text
    assert await _signature_valid(pdf, samples)
    tampered = bytearray(pdf)
    at = pdf.index(b"Nguy") if b"Nguy" in pdf else len(pdf) // 3
    tampered[at] ^= 0x01  # one byte of the signed content
    assert not await _signature_valid(bytes(tampered), samples)

    assert _qr_codes(pdf) == [f"{service.settings.public_base_url}/verify/{code}"]

    announced = await service.application_events(app_id, 5)
    types = [e.type for e in announced]
    assert ApplicationStatusChanged.ce_type in types
    issued = [e.data for e in announced if e.type == ApplicationResultIssued.ce_type]
    assert len(issued) == 1
    assert isinstance(issued[0], ApplicationResultIssued)
    assert issued[0].sha256 == result["sha256"]
    assert issued[0].verification_code == code


async def test_an_uploaded_result_must_be_a_pdf_and_gets_a_signed_verification_page(service: Any, samples: Any) -> None:
    _, app_id, officer = await _approved(service, samples)
    url = f"/v1/agency/applications/{app_id}/actions"
    http = service.http
    not_pdf = await http.post(
        url,
        headers=officer,
        data={"action": "issue_result"},
        files={"file": ("ket-qua.pdf", samples.PNG, "application/pdf")},
    )
    assert not_pdf.status_code == 415, not_pdf.text
    unreadable = await http.post(
        url, headers=officer, data={"action": "issue_result"}, files={"file": ("k.pdf", samples.PDF, "application/pdf")}
    )
    assert unreadable.status_code == 422
    assert unreadable.json()["errors"][0]["pointer"] == "/file"
    with_file_elsewhere = await http.post(
        url, headers=officer, data={"action": "approve"}, files={"file": ("x.pdf", samples.PDF, "application/pdf")}
    )
    assert with_file_elsewhere.status_code == 422
    uploaded = await http.post(
        url,
        headers=officer,
        data={"action": "issue_result"},
        files={"file": ("ket-qua.pdf", _agency_pdf(), "application/pdf")},
    )
    assert uploaded.status_code == 200, uploaded.text
    pdf = (await http.get(f"/v1/applications/{app_id}/result", headers=officer)).content
    assert len(PdfReader(io.BytesIO(pdf)).pages) == 2  # the agency's page, then the verification page
    assert await _signature_valid(pdf, samples)
    code = uploaded.json()["result"]["verification_code"]
    assert _qr_codes(pdf) == [f"{service.settings.public_base_url}/verify/{code}"]


async def test_issue_result_without_a_template_or_a_file_is_422_naming_the_file(service: Any, samples: Any) -> None:
    procedure = samples.birth_registration(agency=AGENCY).model_copy(update={"result_template": None})
    owner, app_id = await service.submitted(procedure)
    officer = service.officer(AGENCY)
    for action in ("accept", "approve"):
        assert (await service.act(officer, app_id, action)).status_code == 200
    refused = await service.act(officer, app_id, "issue_result")
    assert refused.status_code == 422
    assert [e["pointer"] for e in refused.json()["errors"]] == ["/file"]
    intake_only = service.officer(AGENCY, ("specialist",))
    assert (await service.act(intake_only, app_id, "issue_result")).status_code == 403
    still = await service.http.get(f"/v1/applications/{app_id}", headers=owner)
    assert still.json()["status"] == "approved"
    assert still.json()["result"] is None
    assert (await service.http.get(f"/v1/applications/{app_id}/result", headers=owner)).status_code == 404


async def test_anyone_verifies_a_result_and_a_revocation_shows_everywhere(service: Any, samples: Any) -> None:
    owner, app_id, officer = await _approved(service, samples)
    http = service.http
    code = (await service.act(officer, app_id, "issue_result")).json()["result"]["verification_code"]
    pdf = (await http.get(f"/v1/applications/{app_id}/result", headers=owner)).content

    public = await http.get(f"/v1/verify/{code}")
    assert public.status_code == 200
    assert public.json() == {
        "status": "valid",
        "agency_code": AGENCY,
        "procedure_code": public.json()["procedure_code"],
        "issued_at": public.json()["issued_at"],
        "sha256": hashlib.sha256(pdf).hexdigest(),
        "revoked_at": None,
        "revocation_reason": None,
    }
    grouped = "-".join(code[i : i + 4] for i in range(0, 16, 4)).lower()
    assert (await http.get(f"/v1/verify/{grouped}")).status_code == 200
    assert (await http.get("/v1/verify/0000000000000000")).status_code == 404
    assert (await http.get("/v1/verify/not-a-code")).status_code == 404

    same = await http.post(f"/v1/verify/{code}", files={"file": ("k.pdf", pdf, "application/pdf")})
    assert same.status_code == 200
    assert same.json()["matches"] is True
    changed = bytearray(pdf)
    changed[len(pdf) // 2] ^= 0x01
    other = await http.post(f"/v1/verify/{code}", files={"file": ("k.pdf", bytes(changed), "application/pdf")})
    assert other.json()["matches"] is False
    assert (await http.post(f"/v1/verify/{code}", files={"nope": ("k.pdf", pdf)})).status_code == 422

    revoke = f"/v1/agency/applications/{app_id}/result/revoke"
    assert (
        await http.post(revoke, json={"reason": "Cấp nhầm"}, headers=service.officer(AGENCY, ("intake",)))
    ).status_code == 403
    assert (
        await http.post(revoke, json={"reason": "Cấp nhầm"}, headers=service.officer("UBND-XA-ELSEWHERE"))
    ).status_code == 404
    assert (await http.post(revoke, json={"reason": "Cấp nhầm"}, headers=owner)).status_code == 403
    assert (await http.post(revoke, json={"reason": ""}, headers=officer)).status_code == 422
    revoked = await http.post(revoke, json={"reason": "Cấp nhầm: sai ngày sinh"}, headers=officer)
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["result"]["status"] == "revoked"
    assert revoked.json()["history"][-1]["action"] == "revoke_result"
    assert (await http.post(revoke, json={"reason": "again"}, headers=officer)).status_code == 409

    after = (await http.get(f"/v1/verify/{code}")).json()
    assert after["status"] == "revoked"
    assert after["revocation_reason"] == "Cấp nhầm: sai ngày sinh"
    assert after["revoked_at"] is not None
    mine = (await http.get(f"/v1/applications/{app_id}", headers=owner)).json()
    assert mine["result"]["status"] == "revoked"
    assert mine["status"] == "completed"
    announced = await service.application_events(app_id, 6)
    assert [e.data.reason for e in announced if isinstance(e.data, ResultRevoked)] == ["Cấp nhầm: sai ngày sinh"]


async def test_the_verification_is_rate_limited_per_address(launch: Any, samples: Any) -> None:
    async with launch(verify_limit=3) as limited:
        answers = [(await limited.http.get("/v1/verify/0000000000000000")).status_code for _ in range(4)]
        assert answers == [404, 404, 404, 429]
        refused = await limited.http.post("/v1/verify/0000000000000000", files={"file": ("k.pdf", samples.PDF)})
        assert refused.status_code == 429
        assert "retry-after" in refused.headers
