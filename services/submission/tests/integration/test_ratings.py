"""An applicant rates a finished dossier once; nobody else can, and a bad rating is refused naming its field."""

from __future__ import annotations

from typing import Any

import pytest

GOOD = {"guidance": 5, "timeliness": 4, "courtesy": 5, "comment": "Cán bộ hướng dẫn tận tình."}


async def _refused(service: Any, procedure: Any) -> tuple[dict[str, str], str, dict[str, str]]:
    """A submitted dossier refused at intake: finished. Its owner, its id, an officer of its agency."""
    owner, app_id = await service.submitted(procedure)
    officer = service.officer(procedure.agency_code)
    assert (await service.act(officer, app_id, "reject", "Không thuộc thẩm quyền.")).status_code == 200
    return owner, app_id, officer


async def test_the_owner_rates_a_finished_dossier_once(service: Any, samples: Any) -> None:
    procedure = samples.birth_registration(agency="UBND-XA-RATE")
    owner, app_id, _ = await _refused(service, procedure)

    rated = await service.http.post(f"/v1/applications/{app_id}/rating", json=GOOD, headers=owner)
    assert rated.status_code == 201, rated.text
    assert rated.json() | {"rated_at": None} == {"application_id": app_id, **GOOD, "rated_at": None}

    mine = await service.http.get(f"/v1/applications/{app_id}/rating", headers=owner)
    assert mine.status_code == 200
    assert mine.json()["comment"] == GOOD["comment"]
    assert (await service.http.get(f"/v1/applications/{app_id}/rating", headers=service.citizen())).status_code == 404

    again = await service.http.post(f"/v1/applications/{app_id}/rating", json={**GOOD, "guidance": 1}, headers=owner)
    assert again.status_code == 409
    assert again.json()["title"] == "Already rated"

    events = await service.application_events(app_id, 3)  # received, rejected, rated
    rating = next(e for e in events if e.type == "motcua.submission.ApplicationRated.v1")
    sent = rating.data.model_dump(mode="json")
    assert (sent["guidance"], sent["timeliness"], sent["courtesy"], sent["has_comment"]) == (5, 4, 5, True)
    assert "comment" not in sent  # the comment stays with the agency, never on the topic


async def test_a_withdrawn_dossier_can_be_rated_without_a_comment(service: Any, samples: Any) -> None:
    procedure = samples.birth_registration(agency="UBND-XA-RATE")
    owner, app_id = await service.submitted(procedure)
    assert (await service.http.post(f"/v1/applications/{app_id}/withdraw", json={}, headers=owner)).status_code == 200
    rated = await service.http.post(
        f"/v1/applications/{app_id}/rating", json={"guidance": 3, "timeliness": 3, "courtesy": 3}, headers=owner
    )
    assert rated.status_code == 201, rated.text
    assert rated.json()["comment"] is None


async def test_a_dossier_not_finished_cannot_be_rated(service: Any, samples: Any) -> None:
    procedure = samples.birth_registration(agency="UBND-XA-RATE")
    owner, app_id = await service.submitted(procedure)
    refused = await service.http.post(f"/v1/applications/{app_id}/rating", json=GOOD, headers=owner)
    assert refused.status_code == 409
    assert refused.json()["title"] == "Not finished yet"
    assert (await service.http.get(f"/v1/applications/{app_id}/rating", headers=owner)).status_code == 404


async def test_only_the_owner_can_rate_and_the_others_are_told_it_does_not_exist(service: Any, samples: Any) -> None:
    procedure = samples.birth_registration(agency="UBND-XA-RATE")
    _, app_id, officer = await _refused(service, procedure)
    for stranger in (service.citizen(), officer, service.officer("UBND-XA-KHAC")):
        answer = await service.http.post(f"/v1/applications/{app_id}/rating", json=GOOD, headers=stranger)
        assert answer.status_code == 404, answer.text
    assert (await service.http.post(f"/v1/applications/{app_id}/rating", json=GOOD)).status_code == 401


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({**GOOD, "guidance": 0}, "/guidance"),
        ({**GOOD, "timeliness": 6}, "/timeliness"),
        ({**GOOD, "courtesy": "5"}, "/courtesy"),
        ({**GOOD, "courtesy": 4.5}, "/courtesy"),
        ({"guidance": 5, "timeliness": 5}, "/courtesy"),
        ({**GOOD, "comment": "x" * 1001}, "/comment"),
        ({**GOOD, "stars": 5}, "/stars"),
    ],
)
async def test_a_bad_rating_is_refused_naming_the_field(
    service: Any, samples: Any, body: dict[str, Any], pointer: str
) -> None:
    procedure = samples.birth_registration(agency="UBND-XA-RATE")
    owner, app_id, _ = await _refused(service, procedure)
    refused = await service.http.post(f"/v1/applications/{app_id}/rating", json=body, headers=owner)
    assert refused.status_code == 422, refused.text
    assert pointer in [e["pointer"] for e in refused.json()["errors"]]
    # nothing was recorded: a good rating still goes through
    assert (await service.http.post(f"/v1/applications/{app_id}/rating", json=GOOD, headers=owner)).status_code == 201
