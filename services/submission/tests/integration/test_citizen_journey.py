"""A citizen's whole path, from a procedure the catalogue publishes to a completed dossier."""

import hashlib
import re
from datetime import date
from typing import Any

from motcua.common.contracts.submission import ApplicationReceived, ApplicationResultIssued, ApplicationStatusChanged

TRACKING = re.compile(r"^HS-\d{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$")


async def test_a_birth_registration_goes_from_draft_to_completed(service: Any, samples: Any) -> None:
    procedure = samples.birth_registration(agency="UBND-XA-PHUCXA")
    await service.catalogue_publishes(procedure)
    parent = service.citizen()
    officer = service.officer("UBND-XA-PHUCXA")
    http = service.http

    # A draft, pinned to the published version.
    draft, tag = await service.draft(parent, procedure.code)
    assert draft["status"] == "draft"
    assert (draft["procedure_code"], draft["procedure_version"]) == (procedure.code, 1)
    assert (draft["data"], draft["documents"]) == ({}, [])
    app_id = draft["id"]

    # Two autosaves from two tabs: the second still holds the first ETag and is refused.
    first = await service.autosave(parent, app_id, {"child_full_name": "Nguyễn Minh Anh", "child_sex": "female"}, tag)
    assert first.status_code == 200, first.text
    assert first.headers["etag"] != tag
    stale = await service.autosave(parent, app_id, {"child_full_name": "Someone else"}, tag)
    assert stale.status_code == 412
    assert stale.headers["content-type"] == "application/problem+json"
    unconditional = await http.patch(f"/v1/applications/{app_id}", json={"data": {"child_sex": "male"}}, headers=parent)
    assert unconditional.status_code == 428
    tag = first.headers["etag"]
    assert (await http.get(f"/v1/applications/{app_id}", headers=parent)).json()["data"] == {
        "child_full_name": "Nguyễn Minh Anh",
        "child_sex": "female",
    }

    # A real PDF and a JPEG, judged by content; the browser's name and type do not matter.
    pdf = await service.upload(parent, app_id, "birth_certificate_medical", samples.PDF, filename="giấy chứng sinh.pdf")
    assert pdf.status_code == 201, pdf.text
    assert pdf.json() | {"id": "x"} == {
        "id": "x",
        "document_key": "birth_certificate_medical",
        "filename": "giấy chứng sinh.pdf",
        "content_type": "application/pdf",
        "size": len(samples.PDF),
        "sha256": hashlib.sha256(samples.PDF).hexdigest(),
        "uploaded_at": pdf.json()["uploaded_at"],
        "source": None,  # uploaded here, not attached from the wallet
    }
    jpeg = await service.upload(
        parent,
        app_id,
        "marriage_certificate",
        samples.JPEG,
        filename="ket-hon.bin",
        declared="application/octet-stream",
    )
    assert jpeg.status_code == 201, jpeg.text
    assert jpeg.json()["content_type"] == "image/jpeg"
    downloaded = await http.get(f"/v1/applications/{app_id}/documents/{pdf.json()['id']}", headers=parent)
    assert downloaded.status_code == 200
    assert downloaded.content == samples.PDF
    assert downloaded.headers["content-type"] == "application/pdf"

    # Submitting with fields missing names each of them.
    incomplete = await service.submit(parent, app_id)
    assert incomplete.status_code == 422
    assert {e["pointer"] for e in incomplete.json()["errors"]} == {"/data/child_date_of_birth", "/data/place_of_birth"}

    fixed = await service.autosave(
        parent, app_id, {"child_date_of_birth": "2026-11-20", "place_of_birth": "Bệnh viện Phụ sản Hà Nội"}, tag
    )
    assert fixed.status_code == 200, fixed.text
    await service.profile_known(parent)
    submitted = await service.http.post(
        f"/v1/applications/{app_id}/submit",
        headers={**parent, "Idempotency-Key": "tab-1-submit", "X-Request-ID": "req-42"},
    )
    assert submitted.status_code == 200, submitted.text
    receipt = submitted.json()
    assert receipt["status"] == "submitted"
    assert TRACKING.match(receipt["tracking_code"])
    assert date.fromisoformat(receipt["due_date"]) > date.fromisoformat(receipt["submitted_at"][:10])

    # A retried submit gets the same answer; another key is a second submission, refused.
    again = await service.submit(parent, app_id, key="tab-1-submit")
    assert (again.status_code, again.json()) == (200, receipt)
    other = await service.submit(parent, app_id, key="tab-2-submit")
    assert other.status_code == 409

    received = await service.application_events(app_id, 1, settle=1.0)
    assert [e.type for e in received] == [ApplicationReceived.ce_type]
    assert received[0].request_id == "req-42"
    event = received[0].data
    assert isinstance(event, ApplicationReceived)
    assert (event.tracking_code, event.due_date.isoformat()) == (receipt["tracking_code"], receipt["due_date"])
    assert (event.agency_code, event.applicant_account_id) == ("UBND-XA-PHUCXA", parent_sub(service, parent))

    # The agency works it: accept, ask for a supplement, the citizen supplements, approve, issue.
    assert (await service.act(officer, app_id, "accept")).status_code == 200
    supplement = await service.act(officer, app_id, "request_supplement", "Bổ sung bản sao giấy chứng nhận kết hôn")
    assert supplement.json()["status"] == "supplement_requested"
    now_editable = await http.get(f"/v1/applications/{app_id}", headers=parent)
    # the clock stands still while the agency waits for the family; it shows how many working days remain
    assert now_editable.json()["paused"] is True
    assert isinstance(now_editable.json()["working_days_left"], int)
    rescan = await service.upload(parent, app_id, "marriage_certificate", samples.PNG, filename="ket-hon.png")
    assert rescan.status_code == 201
    assert (
        await service.autosave(parent, app_id, {"father_full_name": "Nguyễn Văn Bình"}, now_editable.headers["etag"])
    ).status_code == 200
    resubmitted = await http.post(f"/v1/applications/{app_id}/resubmit", headers=parent, json={"comment": "Đã bổ sung"})
    assert resubmitted.status_code == 200, resubmitted.text
    assert resubmitted.json()["status"] == "processing"
    assert resubmitted.json()["paused"] is False
    assert resubmitted.json()["working_days_left"] >= 0
    assert (await service.act(officer, app_id, "approve")).status_code == 200
    completed = await service.act(officer, app_id, "issue_result", "Mời nhận kết quả tại bộ phận một cửa")
    assert completed.json()["status"] == "completed"
    assert completed.json()["working_days_left"] is None  # final: nothing left to count

    mine = (await http.get(f"/v1/applications/{app_id}", headers=parent)).json()
    assert [(h["from"], h["to"], h["by_role"]) for h in mine["history"]] == [
        ("draft", "submitted", "citizen"),
        ("submitted", "processing", "officer"),
        ("processing", "supplement_requested", "officer"),
        ("supplement_requested", "processing", "citizen"),
        ("processing", "approved", "officer"),
        ("approved", "completed", "officer"),
    ]
    assert mine["history"][2]["comment"] == "Bổ sung bản sao giấy chứng nhận kết hôn"
    assert [d["content_type"] for d in mine["documents"]] == ["application/pdf", "image/png"]

    moves = await service.application_events(app_id, 7)
    assert isinstance(moves[-1].data, ApplicationResultIssued)  # the signed result follows its completion
    changes = [e.data for e in moves[1:-1]]
    assert all(isinstance(c, ApplicationStatusChanged) for c in changes)
    assert [(c.from_status, c.to_status) for c in changes] == [(h["from"], h["to"]) for h in mine["history"][1:]]
    assert changes[1].comment == "Bổ sung bản sao giấy chứng nhận kết hôn"
    assert all(c.tracking_code == receipt["tracking_code"] and c.agency_code == "UBND-XA-PHUCXA" for c in changes)
    assert b'"from":"processing"' in moves[2].data.model_dump_json().encode()

    # Anyone with the tracking code sees where it stands, and nothing about the family.
    typed = receipt["tracking_code"].lower().replace("-", " ")
    lookup = await http.get(f"/v1/lookup/{typed}")
    assert lookup.status_code == 200
    assert lookup.json() | {"updated_at": None} == {
        "tracking_code": receipt["tracking_code"],
        "procedure_code": procedure.code,
        "status": "completed",
        "submitted_at": receipt["submitted_at"],
        "due_date": mine["due_date"],
        "updated_at": None,
    }
    assert "Nguyễn" not in lookup.text

    listed = (await http.get("/v1/applications", headers=parent)).json()
    assert [(i["id"], i["status"]) for i in listed["items"]] == [(app_id, "completed")]
    assert listed["total"] == 1


def parent_sub(service: Any, headers: Any) -> str:
    import jwt

    sub: str = jwt.decode(headers["Authorization"].split()[1], options={"verify_signature": False})["sub"]
    return sub


async def test_simultaneous_submits_make_one_dossier(service: Any, samples: Any) -> None:
    import asyncio

    procedure = samples.birth_registration()
    await service.catalogue_publishes(procedure)
    who = service.citizen()
    same_key = await service.ready_to_submit(who, procedure.code)
    answers = await asyncio.gather(*(service.submit(who, same_key, key="double-click") for _ in range(4)))
    assert {a.status_code for a in answers} == {200}
    assert len({a.json()["tracking_code"] for a in answers}) == 1

    other_keys = await service.ready_to_submit(who, procedure.code)
    answers = await asyncio.gather(*(service.submit(who, other_keys, key=f"tab-{i}") for i in range(4)))
    assert sorted(a.status_code for a in answers) == [200, 409, 409, 409]

    for app_id in (same_key, other_keys):
        events = await service.application_events(app_id, 1, settle=1.0)
        assert len({e.id for e in events}) == 1
        history = (await service.http.get(f"/v1/applications/{app_id}", headers=who)).json()["history"]
        assert len(history) == 1
