"""The actions an officer is offered come from the state machine, through the API (the portal renders them)."""

from typing import Any


async def test_an_officer_reading_a_dossier_is_told_the_actions_its_status_allows(service: Any, samples: Any) -> None:
    procedure = samples.birth_registration(agency="UBND-XA-ACTIONS")
    await service.catalogue_publishes(procedure)
    parent = service.citizen()
    officer = service.officer("UBND-XA-ACTIONS")
    app_id = await service.ready_to_submit(parent, procedure.code)
    assert (await service.submit(parent, app_id)).status_code == 200

    read = await service.http.get(f"/v1/applications/{app_id}", headers=officer)
    assert read.json()["actions"] == [
        {"action": "accept", "comment_required": False},
        {"action": "request_supplement", "comment_required": True},
        {"action": "reject", "comment_required": True},
    ]
    assert "actions" not in (await service.http.get(f"/v1/applications/{app_id}", headers=parent)).json()

    accepted = await service.act(officer, app_id, "accept")
    assert [a["action"] for a in accepted.json()["actions"]] == ["approve", "request_supplement", "reject", "propose"]
    approved = await service.act(officer, app_id, "approve")
    assert [a["action"] for a in approved.json()["actions"]] == ["issue_result"]
    completed = await service.act(officer, app_id, "issue_result")
    assert completed.json()["actions"] == []
