"""Who may see and do what: someone else's application does not exist for them."""

from typing import Any


async def submitted(service: Any, samples: Any, agency: str = "UBND-XA-A") -> Any:
    procedure = samples.birth_registration(agency=agency)
    await service.catalogue_publishes(procedure)
    owner = service.citizen()
    app_id = await service.ready_to_submit(owner, procedure.code)
    doc_id = (await service.http.get(f"/v1/applications/{app_id}", headers=owner)).json()["documents"][0]["id"]
    assert (await service.submit(owner, app_id)).status_code == 200
    return owner, app_id, doc_id


async def test_strangers_get_404_on_every_application_and_document_route(service: Any, samples: Any) -> None:
    owner, app_id, doc_id = await submitted(service, samples)
    http = service.http
    stranger = service.citizen()
    other_officer = service.officer("UBND-XA-B")
    base = f"/v1/applications/{app_id}"
    for who in (stranger, other_officer):
        calls = [
            http.get(base, headers=who),
            http.patch(base, json={"data": {}}, headers={**who, "If-Match": '"1"'}),
            http.post(
                f"{base}/documents",
                headers=who,
                data={"document_key": "marriage_certificate"},
                files={"file": ("a.pdf", samples.PDF, "application/pdf")},
            ),
            http.get(f"{base}/documents/{doc_id}", headers=who),
            http.delete(f"{base}/documents/{doc_id}", headers=who),
            http.post(f"{base}/submit", headers={**who, "Idempotency-Key": "k"}),
            http.post(f"{base}/resubmit", headers=who),
            http.post(f"{base}/withdraw", headers=who),
        ]
        for call in calls:
            response = await call
            assert response.status_code == 404, (response.request.method, response.request.url, response.text)
            assert response.headers["content-type"] == "application/problem+json"
            assert app_id not in response.json()["title"]
    acted = await service.act(other_officer, app_id, "accept")
    assert acted.status_code == 404
    assert (await http.get("/v1/agency/applications", headers=other_officer)).json()["items"] == []
    # Nothing was changed by any of it.
    mine = (await http.get(base, headers=owner)).json()
    assert (mine["status"], len(mine["documents"]), len(mine["history"])) == ("submitted", 1, 1)


async def test_officers_see_their_agency_once_submitted_and_citizens_cannot_act(service: Any, samples: Any) -> None:
    owner, app_id, doc_id = await submitted(service, samples, agency="UBND-XA-C")
    http = service.http
    officer = service.officer("UBND-XA-C")

    seen = await http.get(f"/v1/applications/{app_id}", headers=officer)
    assert seen.status_code == 200
    assert seen.json()["applicant_account_id"]
    file = await http.get(f"/v1/applications/{app_id}/documents/{doc_id}", headers=officer)
    assert file.content.startswith(b"%PDF-")
    # An officer reads but does not edit the citizen's dossier.
    assert (await http.post(f"/v1/applications/{app_id}/withdraw", headers=officer)).status_code == 404

    # A draft of the same agency is invisible to it.
    procedure = samples.birth_registration(agency="UBND-XA-C")
    await service.catalogue_publishes(procedure)
    draft, _ = await service.draft(owner, procedure.code)
    assert (await http.get(f"/v1/applications/{draft['id']}", headers=officer)).status_code == 404
    assert (await service.act(officer, draft["id"], "accept")).status_code == 404
    queue = (await http.get("/v1/agency/applications", headers=officer)).json()
    assert [i["id"] for i in queue["items"]] == [app_id]
    assert (await http.get("/v1/agency/applications?status=processing", headers=officer)).json()["total"] == 0

    for path in ("/v1/agency/applications", f"/v1/agency/applications/{app_id}/actions"):
        refused = await (
            http.get(path, headers=owner)
            if path.endswith("applications")
            else http.post(path, headers=owner, json={"action": "approve"})
        )
        assert refused.status_code == 403
    assert (await http.get("/v1/applications", headers=officer)).status_code == 403
    no_agency = service.minter.headers("officer-x", roles=["officer"])
    assert (await http.get("/v1/agency/applications", headers=no_agency)).status_code == 403
    assert (await http.get(f"/v1/applications/{app_id}")).status_code == 401


async def test_the_workflow_refuses_moves_it_does_not_allow(service: Any, samples: Any) -> None:
    owner, app_id, _ = await submitted(service, samples, agency="UBND-XA-D")
    officer = service.officer("UBND-XA-D")
    http = service.http

    too_early = await service.act(officer, app_id, "approve")
    assert too_early.status_code == 409
    assert "accept" in too_early.json()["detail"]
    assert (await http.post(f"/v1/applications/{app_id}/resubmit", headers=owner)).status_code == 409
    without_reason = await service.act(officer, app_id, "reject")
    assert without_reason.status_code == 422
    assert without_reason.json()["errors"][0]["pointer"] == "/comment"
    unknown = await service.act(officer, app_id, "delete")
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["pointer"] == "/action"

    withdrawn = await http.post(
        f"/v1/applications/{app_id}/withdraw", headers=owner, json={"comment": "Nộp nhầm thủ tục"}
    )
    assert withdrawn.json()["status"] == "withdrawn"
    for action in ("accept", "reject", "request_supplement", "approve", "issue_result"):
        assert (await service.act(officer, app_id, action, "lý do")).status_code == 409
    assert (await http.post(f"/v1/applications/{app_id}/withdraw", headers=owner)).status_code == 409
    edit = await service.autosave(owner, app_id, {"child_sex": "male"}, '"1"')
    assert edit.status_code == 409
    history = (await http.get(f"/v1/applications/{app_id}", headers=owner)).json()["history"]
    assert [(h["to"], h["comment"]) for h in history] == [("submitted", ""), ("withdrawn", "Nộp nhầm thủ tục")]
    changes = await service.application_events(app_id, 2, settle=0.5)
    assert [e.type.rsplit(".", 2)[-2] for e in changes] == ["ApplicationReceived", "ApplicationStatusChanged"]
