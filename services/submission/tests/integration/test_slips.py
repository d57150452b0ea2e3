"""The slips of Decree 61/2018: issued with the move they record, opened by the applicant and the agency as
PDFs that read in Vietnamese, the same bytes each time; an apology needs a reason and a later working day."""

import io
from datetime import date, timedelta
from typing import Any

from motcua.common.contracts.submission import ApologyIssued
from motcua.submission.due_dates import add_working_days
from pypdf import PdfReader

AGENCY = "UBND-XA-SLIPS"


def _text(pdf: bytes) -> str:
    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


async def test_each_move_of_the_desk_issues_its_slip_and_both_sides_open_it(service: Any, samples: Any) -> None:
    owner, app_id = await service.submitted(samples.birth_registration(agency=AGENCY))
    officer, http = service.officer(AGENCY), service.http
    base = f"/v1/applications/{app_id}/slips"
    assert (await http.get(base, headers=owner)).json()["items"] == []  # nothing until intake acts

    assert (await service.act(officer, app_id, "accept")).status_code == 200
    asked = await service.act(officer, app_id, "request_supplement", "Bổ sung bản sao giấy chứng nhận kết hôn")
    assert asked.status_code == 200
    listed = (await http.get(base, headers=owner)).json()["items"]
    assert [s["kind"] for s in listed] == ["receipt", "supplement_request"]
    receipt = listed[0]
    assert receipt["title"] == "Giấy tiếp nhận hồ sơ và hẹn trả kết quả"
    tracking = (await http.get(f"/v1/applications/{app_id}", headers=owner)).json()["tracking_code"]

    opened = await http.get(f"{base}/{receipt['id']}", headers=owner)
    assert opened.status_code == 200
    assert opened.headers["content-type"] == "application/pdf"
    assert opened.headers["content-disposition"] == f'attachment; filename="receipt-{tracking}.pdf"'
    text = _text(opened.content)
    assert "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ" in text
    assert tracking in text
    assert f"Ngày hẹn trả kết quả: {date.fromisoformat(receipt['due_date']):%d/%m/%Y}" in text
    again = await http.get(f"{base}/{receipt['id']}", headers=officer)  # the agency opens the same slip
    assert again.content == opened.content

    supplement = await http.get(f"{base}/{listed[1]['id']}", headers=owner)
    assert "Bổ sung bản sao giấy chứng nhận kết hôn" in _text(supplement.content)

    stranger, elsewhere = service.citizen(), service.officer("UBND-XA-ELSEWHERE")
    for who in (stranger, elsewhere):
        assert (await http.get(base, headers=who)).status_code == 404
        assert (await http.get(f"{base}/{receipt['id']}", headers=who)).status_code == 404
    assert (await http.get(f"{base}/receipt-99", headers=owner)).status_code == 404
    assert (await http.get(f"{base}/..%2Fetc", headers=owner)).status_code in (404, 422)


async def test_an_apology_sets_a_later_working_day_issues_its_slip_and_tells_the_applicant(
    service: Any, samples: Any
) -> None:
    owner, app_id = await service.submitted(samples.birth_registration(agency=AGENCY))
    officer, http = service.officer(AGENCY, ("specialist",)), service.http  # any officer of the agency
    apology = f"/v1/agency/applications/{app_id}/apology"
    current = date.fromisoformat((await http.get(f"/v1/applications/{app_id}", headers=owner)).json()["due_date"])
    saturday = current + timedelta(days=(5 - current.weekday()) % 7 or 7)
    later = add_working_days(current, 3)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"reason": "Cần xác minh", "new_due_date": current.isoformat()}, "/new_due_date"),
        ({"reason": "Cần xác minh", "new_due_date": (current - timedelta(days=1)).isoformat()}, "/new_due_date"),
        ({"reason": "Cần xác minh", "new_due_date": saturday.isoformat()}, "/new_due_date"),
        ({"reason": "Cần xác minh", "new_due_date": "mai"}, "/new_due_date"),
        ({"reason": "", "new_due_date": later.isoformat()}, "/reason"),
        ({"reason": "x" * 2001, "new_due_date": later.isoformat()}, "/reason"),
        ({"new_due_date": later.isoformat()}, "/reason"),
    ]
    for body, pointer in cases:
        answer = await http.post(apology, json=body, headers=officer)
        assert answer.status_code == 422, (body, answer.text)
        assert pointer in [e["pointer"] for e in answer.json()["errors"]], (body, answer.text)
    assert (
        await http.post(apology, json={"reason": "x", "new_due_date": later.isoformat()}, headers=owner)
    ).status_code == 403
    elsewhere = service.officer("UBND-XA-ELSEWHERE")
    refused = await http.post(apology, json={"reason": "x", "new_due_date": later.isoformat()}, headers=elsewhere)
    assert refused.status_code == 404

    given = await http.post(
        apology, json={"reason": "Cần xác minh với Sở Tư pháp", "new_due_date": later.isoformat()}, headers=officer
    )
    assert given.status_code == 200, given.text
    assert (given.json()["due_date"], given.json()["status"]) == (later.isoformat(), "submitted")
    slips = (await http.get(f"/v1/applications/{app_id}/slips", headers=owner)).json()["items"]
    assert [s["kind"] for s in slips] == ["apology"]
    text = _text((await http.get(f"/v1/applications/{app_id}/slips/{slips[0]['id']}", headers=owner)).content)
    assert "Cần xác minh với Sở Tư pháp" in text
    assert f"Ngày hẹn trước: {current:%d/%m/%Y}" in text
    assert f"Ngày hẹn trả kết quả: {later:%d/%m/%Y}" in text

    found = await service.application_events(app_id, 2)
    told = [e.data for e in found if isinstance(e.data, ApologyIssued)]
    assert len(told) == 1
    assert (told[0].previous_due_date, told[0].due_date, told[0].reason, told[0].slip_id) == (
        current,
        later,
        "Cần xác minh với Sở Tư pháp",
        slips[0]["id"],
    )

    assert (await service.act(service.officer(AGENCY), app_id, "reject", "Không đủ điều kiện")).status_code == 200
    closed = await http.post(
        apology, json={"reason": "x", "new_due_date": add_working_days(later, 1).isoformat()}, headers=officer
    )
    assert closed.status_code == 409  # a finished dossier owes no answer
