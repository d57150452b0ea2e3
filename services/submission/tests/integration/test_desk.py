"""The agency's desk: assignment to a specialist from the officers' directory, each officer's inbox, the queue's
assignee filter, and the supplement rules (every item at once, one request per dossier, a supply-by date)."""

from datetime import UTC, date, datetime, timedelta
from typing import Any

from motcua.common.contracts.submission import ApplicationAssigned
from motcua.submission import due_dates

AGENCY = "UBND-XA-DESK"


async def _assign(service: Any, who: dict[str, str], app_id: str, assignee_id: str) -> Any:
    return await service.http.post(
        f"/v1/agency/applications/{app_id}/assign", headers=who, json={"assignee_id": assignee_id}
    )


async def _inbox(service: Any, who: dict[str, str]) -> dict[str, Any]:
    answer = await service.http.get("/v1/agency/inbox", headers=who)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


async def test_intake_accepts_assigns_a_specialist_who_proposes_the_approver_approves_intake_returns(
    service: Any, samples: Any
) -> None:
    agency = f"{AGENCY}-WALK"
    owner, app_id = await service.submitted(samples.birth_registration(agency=agency, code="HT-DESK-WALK"))
    intake, intake_id = await service.officer_in_directory(agency, ("intake",), name="Lê Văn Tiếp")
    specialist, specialist_id = await service.officer_in_directory(agency, ("specialist",), name="Phạm Thu Hà")
    other, other_id = await service.officer_in_directory(agency, ("specialist",), name="Vũ Minh Khoa")
    approver, approver_id = await service.officer_in_directory(agency, ("approver",), name="Ngô Đức Lãnh")
    _, stranger_id = await service.officer_in_directory("UBND-XA-KHAC", ("specialist",))
    elsewhere = service.officer("UBND-XA-KHAC")

    assert (await service.act(intake, app_id, "accept")).status_code == 200
    listed = await service.http.get("/v1/agency/officers?role=specialist", headers=intake)
    assert [o["full_name"] for o in listed.json()["items"]] == ["Phạm Thu Hà", "Vũ Minh Khoa"]
    everyone = await service.http.get("/v1/agency/officers", headers=intake)
    assert len(everyone.json()["items"]) == 4
    assert stranger_id not in [o["id"] for o in everyone.json()["items"]]
    assert (await service.http.get("/v1/agency/officers?role=chief", headers=intake)).status_code == 422

    # wrong role, wrong agency, wrong person: refused before anything is written
    refused = await _assign(service, approver, app_id, specialist_id)
    assert refused.status_code == 403
    assert "intake" in refused.json()["detail"]
    refused = await _assign(service, other, app_id, specialist_id)  # a specialist takes only for themself
    assert refused.status_code == 403
    assert (await _assign(service, elsewhere, app_id, specialist_id)).status_code == 404
    for bad in (approver_id, stranger_id, "officer-nobody"):
        answer = await _assign(service, intake, app_id, bad)
        assert answer.status_code == 422, (bad, answer.text)
        assert answer.json()["errors"][0]["pointer"] == "/assignee_id"
    answer = await service.http.post(
        f"/v1/agency/applications/{app_id}/assign", headers=intake, json={"assignee_id": "../x"}
    )
    assert answer.status_code == 422
    assert "assignee_id" in answer.text

    assigned = await _assign(service, intake, app_id, specialist_id)
    assert assigned.status_code == 200, assigned.text
    body = assigned.json()
    assert body["assignee"]["id"] == specialist_id
    assert body["assignee"]["full_name"] == "Phạm Thu Hà"
    assert body["status"] == "processing"
    assert body["history"][-1]["action"] == "assign"
    assert body["history"][-1]["assignee_name"] == "Phạm Thu Hà"
    # the same again changes nothing
    again = await _assign(service, intake, app_id, specialist_id)
    assert len(again.json()["history"]) == len(body["history"])

    inbox = await _inbox(service, specialist)
    assert [i["id"] for i in inbox["items"]] == [app_id]
    assert inbox["total"] == 1
    assert inbox["items"][0]["assignee"]["id"] == specialist_id
    assert (await _inbox(service, other))["total"] == 0

    # the colleague takes it over: a reassignment, recorded, naming who had it
    taken = await _assign(service, other, app_id, other_id)
    assert taken.status_code == 200, taken.text
    assert (await _inbox(service, specialist))["total"] == 0
    assert [i["id"] for i in (await _inbox(service, other))["items"]] == [app_id]

    queue = await service.http.get(f"/v1/agency/applications?assignee={other_id}", headers=intake)
    assert [i["id"] for i in queue.json()["items"]] == [app_id]
    nobody = await service.http.get("/v1/agency/applications?assignee=none", headers=intake)
    assert app_id not in [i["id"] for i in nobody.json()["items"]]

    proposed = await service.http.post(
        f"/v1/agency/applications/{app_id}/actions",
        headers=other,
        json={"action": "propose", "outcome": "approve", "comment": "Đủ điều kiện"},
    )
    assert proposed.status_code == 200, proposed.text
    assert (await service.act(other, app_id, "approve")).status_code == 403
    assert (await service.act(approver, app_id, "approve")).status_code == 200
    assert (await service.act(approver, app_id, "issue_result")).status_code == 403
    done = await service.act(intake, app_id, "issue_result", "Mời nhận kết quả")
    assert done.json()["status"] == "completed"
    assert (await _inbox(service, other))["total"] == 0  # finished: off the inbox
    assert (await _assign(service, intake, app_id, specialist_id)).status_code == 409

    # the applicant never sees the desk's inner workings
    mine = (await service.http.get(f"/v1/applications/{app_id}", headers=owner)).json()
    assert "assign" not in [h["action"] for h in mine["history"]]
    assert "assignee" not in mine

    events = await service.application_events(app_id, 7, settle=1.0)
    assignments = [e.data for e in events if isinstance(e.data, ApplicationAssigned)]
    assert [(a.assignee_id, a.previous_assignee_id, a.assigned_by) for a in assignments] == [
        (specialist_id, None, intake_id),
        (other_id, specialist_id, other_id),
    ]


async def test_a_supplement_request_lists_every_item_once_pauses_the_clock_and_gives_a_date(
    service: Any, samples: Any
) -> None:
    agency = f"{AGENCY}-SUP"
    owner, app_id = await service.submitted(samples.birth_registration(agency=agency, code="HT-DESK-SUP"))
    intake = service.officer(agency, ("intake",))
    url = f"/v1/agency/applications/{app_id}/actions"
    items = ["Bản sao giấy chứng nhận kết hôn", "Ảnh chân dung 4x6"]

    bad = await service.http.post(
        url, headers=intake, json={"action": "accept", "comment": "", "items": ["không dùng được"]}
    )
    assert bad.status_code == 422
    assert "items" in bad.text
    bad = await service.http.post(
        url, headers=intake, json={"action": "request_supplement", "comment": "Thiếu", "items": [""]}
    )
    assert bad.status_code == 422
    assert "items" in bad.text

    asked = await service.http.post(
        url, headers=intake, json={"action": "request_supplement", "comment": "Bổ sung hồ sơ", "items": items}
    )
    assert asked.status_code == 200, asked.text
    body = asked.json()
    today = due_dates.local_day(datetime.now(UTC))
    assert body["paused"] is True
    assert body["working_days_left"] is not None
    assert body["supply_by"] == (today + timedelta(days=30)).isoformat()
    entry = body["history"][-1]
    assert entry["items"] == items
    assert entry["supply_by"] == body["supply_by"]

    slips = (await service.http.get(f"/v1/applications/{app_id}/slips", headers=owner)).json()["items"]
    request = [s for s in slips if s["kind"] == "supplement_request"][-1]
    assert request["items"] == items
    assert request["supply_by"] == body["supply_by"]

    # intake may not refuse while the applicant still has time
    early = await service.act(intake, app_id, "reject", "Quá hạn")
    assert early.status_code == 409
    assert body["supply_by"] in early.json()["detail"]
    mine = (await service.http.get(f"/v1/applications/{app_id}", headers=owner)).json()
    assert mine["supply_by"] == body["supply_by"]

    resubmitted = await service.http.post(
        f"/v1/applications/{app_id}/resubmit", headers=owner, json={"comment": "Đã bổ sung"}
    )
    assert resubmitted.status_code == 200, resubmitted.text
    assert resubmitted.json()["paused"] is False
    assert resubmitted.json()["supply_by"] is None

    # one request per dossier: a second asks only for items of the first still missing
    more = await service.http.post(
        url, headers=intake, json={"action": "request_supplement", "comment": "Thêm", "items": ["Sổ hộ khẩu"]}
    )
    assert more.status_code == 409
    assert "already" in more.json()["detail"]
    still = await service.http.post(
        url, headers=intake, json={"action": "request_supplement", "comment": "Ảnh mờ", "items": [items[1]]}
    )
    assert still.status_code == 200, still.text
    assert still.json()["history"][-1]["items"] == [items[1]]


async def test_past_the_supply_by_date_intake_may_refuse(service: Any, samples: Any) -> None:
    agency = f"{AGENCY}-LATE"
    owner, app_id = await service.submitted(samples.birth_registration(agency=agency, code="HT-DESK-LATE"))
    intake = service.officer(agency, ("intake",))
    approver = service.officer(agency, ("approver",))
    assert (await service.act(intake, app_id, "request_supplement", "Thiếu giấy tờ")).status_code == 200
    offered = (await service.http.get(f"/v1/applications/{app_id}", headers=intake)).json()["actions"]
    assert [a["action"] for a in offered] == []

    # thirty-one days on: the applicant did not supply
    long_ago = (date.today() - timedelta(days=1)).isoformat()
    await service.db["applications"].update_one({"_id": app_id}, {"$set": {"supplements.0.supply_by": long_ago}})
    offered = (await service.http.get(f"/v1/applications/{app_id}", headers=intake)).json()["actions"]
    assert [a["action"] for a in offered] == ["reject"]
    assert (await service.act(approver, app_id, "reject", "Không bổ sung")).status_code == 403
    refused = await service.act(intake, app_id, "reject", "Quá hạn bổ sung mà không nhận được giấy tờ")
    assert refused.status_code == 200, refused.text
    assert refused.json()["status"] == "rejected"
    slips = (await service.http.get(f"/v1/applications/{app_id}/slips", headers=owner)).json()["items"]
    assert [s["kind"] for s in slips][-1] == "refusal"
