"""The desk's roles: intake accepts, a specialist proposes, an approver decides, intake returns the result.

Each step is tried first by the roles that may not take it (403 problem details naming the role), then
by the one that may; an officer of another agency gets 404 throughout, as if the dossier did not exist.
"""

from datetime import UTC, datetime
from typing import Any

from motcua.common.contracts.submission import ApplicationStatusChanged
from motcua.submission import due_dates

AGENCY = "UBND-XA-ROLES"


async def _propose(service: Any, who: dict[str, str], app_id: str, **body: Any) -> Any:
    return await service.http.post(f"/v1/agency/applications/{app_id}/actions", headers=who, json=body)


async def test_intake_specialist_approver_and_intake_again_each_take_only_their_step(
    service: Any, samples: Any
) -> None:
    owner, app_id = await service.submitted(samples.birth_registration(agency=AGENCY))
    intake = service.officer(AGENCY, ("intake",))
    specialist = service.officer(AGENCY, ("specialist",))
    approver = service.officer(AGENCY, ("approver",))
    elsewhere = service.officer("UBND-XA-OTHER")

    async def refused(who: dict[str, str], action: str, status: int = 403, **body: Any) -> None:
        answer = await _propose(service, who, app_id, action=action, comment="thử", **body)
        assert answer.status_code == status, (action, answer.text)
        assert answer.headers["content-type"] == "application/problem+json"
        if status == 403:
            assert "role" in answer.json()["detail"]

    # what each is offered is what their roles allow
    seen = (await service.http.get(f"/v1/applications/{app_id}", headers=specialist)).json()
    assert [a["action"] for a in seen["actions"]] == ["request_supplement"]

    for who in (specialist, approver):
        await refused(who, "accept")
    await refused(elsewhere, "accept", 404)
    assert (await service.act(intake, app_id, "accept")).status_code == 200

    for who in (intake, approver):
        await refused(who, "propose", outcome="approve")
    proposed = await _propose(
        service, specialist, app_id, action="propose", outcome="approve", comment="Hồ sơ đầy đủ, đề nghị phê duyệt"
    )
    assert proposed.status_code == 200, proposed.text
    assert proposed.json()["status"] == "processing"  # advice only
    entry = proposed.json()["history"][-1]
    assert (entry["action"], entry["outcome"], entry["from"], entry["to"]) == (
        "propose",
        "approve",
        "processing",
        "processing",
    )

    for who in (intake, specialist):
        await refused(who, "approve")
    await refused(elsewhere, "approve", 404)
    assert (await service.act(approver, app_id, "approve")).status_code == 200

    for who in (specialist, approver):
        await refused(who, "issue_result")
    done = await service.act(intake, app_id, "issue_result", "Mời nhận kết quả")
    assert done.json()["status"] == "completed"

    # the approver read the proposal; the applicant sees the decisions, not the agency's inner advice
    mine = (await service.http.get(f"/v1/applications/{app_id}", headers=owner)).json()
    assert [h["to"] for h in mine["history"]] == ["submitted", "processing", "approved", "completed"]
    assert all(h["action"] != "propose" for h in mine["history"])
    theirs = (await service.http.get(f"/v1/applications/{app_id}", headers=approver)).json()
    assert "propose" in [h["action"] for h in theirs["history"]]
    # and no one outside the agency was told of the proposal: three status changes, no fourth
    changes = await service.application_events(app_id, 4, settle=1.0)
    moved = [e.data for e in changes if isinstance(e.data, ApplicationStatusChanged)]
    assert [(c.from_status, c.to_status) for c in moved] == [
        ("submitted", "processing"),
        ("processing", "approved"),
        ("approved", "completed"),
    ]


async def test_intake_may_refuse_before_accepting_but_not_after(service: Any, samples: Any) -> None:
    _, first = await service.submitted(samples.birth_registration(agency=AGENCY))
    intake = service.officer(AGENCY, ("intake",))
    refusal = await service.act(intake, first, "reject", "Không thuộc thẩm quyền giải quyết của xã")
    assert refusal.json()["status"] == "rejected"

    _, second = await service.submitted(samples.birth_registration(agency=AGENCY))
    assert (await service.act(intake, second, "accept")).status_code == 200
    late = await service.act(intake, second, "reject", "Hồ sơ không hợp lệ")
    assert late.status_code == 403


async def test_a_proposal_needs_its_outcome_and_only_a_proposal_has_one(service: Any, samples: Any) -> None:
    _, app_id = await service.submitted(samples.birth_registration(agency=AGENCY))
    officer = service.officer(AGENCY)
    assert (await service.act(officer, app_id, "accept")).status_code == 200
    cases: list[tuple[dict[str, Any], str]] = [
        ({"action": "propose", "comment": "đề nghị"}, "/outcome"),
        ({"action": "propose", "outcome": "maybe", "comment": "đề nghị"}, "/outcome"),
        ({"action": "propose", "outcome": "approve"}, "/comment"),
        ({"action": "approve", "outcome": "approve"}, "/outcome"),
    ]
    for body, pointer in cases:
        answer = await _propose(service, officer, app_id, **body)
        assert answer.status_code == 422, (body, answer.text)
        assert pointer in [e["pointer"] for e in answer.json()["errors"]], (body, answer.text)
    after = (await service.http.get(f"/v1/applications/{app_id}", headers=officer)).json()
    assert [h["to"] for h in after["history"]] == ["submitted", "processing"]  # nothing half-written


async def test_an_officer_whose_token_names_no_roles_may_read_but_not_act(service: Any, samples: Any) -> None:
    _, app_id = await service.submitted(samples.birth_registration(agency=AGENCY))
    bare = service.officer(AGENCY, ())
    seen = await service.http.get(f"/v1/applications/{app_id}", headers=bare)
    assert seen.status_code == 200
    assert seen.json()["actions"] == []
    assert (await service.act(bare, app_id, "accept")).status_code == 403


async def test_the_queue_filters_by_procedure_due_within_and_overdue_with_totals(service: Any, samples: Any) -> None:
    agency = "UBND-XA-QUEUE"
    officer = service.officer(agency)
    births, deaths = samples.birth_registration(agency=agency), samples.birth_registration(agency=agency)
    _, soon = await service.submitted(births)
    _, later = await service.submitted(deaths)
    _, late = await service.submitted(births)
    today = due_dates.local_day(datetime.now(UTC))
    # a later date for one (by apology), and time passing for another: its due date already behind us
    far = due_dates.add_working_days(today, 20)
    apology = {"reason": "Cần xác minh", "new_due_date": far.isoformat()}
    assert (
        await service.http.post(f"/v1/agency/applications/{later}/apology", json=apology, headers=officer)
    ).status_code == 200
    await service.db.applications.update_one({"_id": late}, {"$set": {"due_date": "2026-01-05"}})

    async def queue(**params: Any) -> tuple[list[str], int]:
        answer = await service.http.get("/v1/agency/applications", params=params, headers=officer)
        assert answer.status_code == 200, answer.text
        return [i["id"] for i in answer.json()["items"]], answer.json()["total"]

    assert await queue() == ([late, soon, later], 3)  # the earliest due first
    assert await queue(procedure=births.code) == ([late, soon], 2)
    assert await queue(overdue="true") == ([late], 1)
    overdue_item = (await service.http.get(f"/v1/applications/{late}", headers=officer)).json()
    assert overdue_item["working_days_left"] < 0
    assert await queue(due_within_days=5) == ([late, soon], 2)
    assert await queue(due_within_days=30) == ([late, soon, later], 3)
    assert await queue(due_within_days=5, procedure=deaths.code) == ([], 0)
    assert await queue(overdue="true", status="completed") == ([], 0)  # a finished dossier is never late
    assert await queue(page_size=1, page=2) == ([soon], 3)
    # a late dossier stays flagged until the agency apologises with a later date
    mended = {"reason": "Chờ kết quả xác minh", "new_due_date": due_dates.add_working_days(today, 2).isoformat()}
    answer = await service.http.post(f"/v1/agency/applications/{late}/apology", json=mended, headers=officer)
    assert answer.status_code == 200, answer.text
    assert answer.json()["working_days_left"] == 2
    assert await queue(overdue="true") == ([], 0)
    for bad, pointer in (
        ({"due_within_days": -1}, "/due_within_days"),
        ({"procedure": "x y"}, "/procedure"),
        ({"overdue": "maybe"}, "/overdue"),
    ):
        answer = await service.http.get("/v1/agency/applications", params=bad, headers=officer)
        assert answer.status_code == 422, answer.text
        assert pointer in [e["pointer"] for e in answer.json()["errors"]]
