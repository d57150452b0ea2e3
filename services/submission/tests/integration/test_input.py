"""Everything a user can send is checked: 422 naming the field, never a 500, nothing half-written."""

import copy
from datetime import UTC, datetime, timedelta, timezone
from typing import Any


async def fresh_draft(service: Any, samples: Any) -> tuple[dict[str, str], str, str]:
    procedure = samples.birth_registration()
    await service.catalogue_publishes(procedure)
    who = service.citizen()
    draft, tag = await service.draft(who, procedure.code)
    return who, draft["id"], tag


def pointers(response: Any) -> list[str]:
    assert response.headers["content-type"] == "application/problem+json", response.text
    return [e["pointer"] for e in response.json().get("errors", [])]


async def test_a_draft_request_is_checked(service: Any, samples: Any) -> None:
    who = service.citizen()
    post = service.http.post
    cases = [
        ({}, "/procedure_code"),
        ({"procedure_code": "HT-KS-01", "status": "submitted"}, "/status"),
        ({"procedure_code": "x" * 65}, "/procedure_code"),
        ({"procedure_code": "HT KS/01"}, "/procedure_code"),
        ({"procedure_code": 12}, "/procedure_code"),
    ]
    for body, where in cases:
        response = await post("/v1/applications", json=body, headers=who)
        assert response.status_code == 422, body
        assert where in pointers(response)
    for raw in (b"{not json", b"[" * 5000 + b"]" * 5000):
        response = await post("/v1/applications", content=raw, headers={**who, "Content-Type": "application/json"})
        assert response.status_code in (400, 422), response.text


async def test_an_autosave_is_checked_and_a_refused_one_changes_nothing(service: Any, samples: Any) -> None:
    who, app_id, tag = await fresh_draft(service, samples)
    url = f"/v1/applications/{app_id}"
    patch_headers = {**who, "If-Match": tag, "Content-Type": "application/merge-patch+json"}
    deep: dict[str, Any] = {}
    node = deep
    for _ in range(20):
        node["x"] = {}
        node = node["x"]
    cases = [
        ({"data": {"nickname": "Bi"}}, "/data/nickname"),
        ({"data": {"child_full_name": 12}}, "/data/child_full_name"),
        ({"data": {"child_full_name": "An"}, "status": "approved"}, "/status"),
        ({"data": "everything"}, "/data"),
        ({"data": {"$where": "1"}}, "/data/$where"),
        ({"data": {"father_full_name": 2**70}}, "/data/father_full_name"),
        ({"data": {"mother_full_name": deep}}, "/data/mother_full_name/x/x/x/x/x/x/x"),
        ({"data": {"place_of_birth": "x" * 20_000}}, "/data/place_of_birth"),
        ({}, "/data"),
    ]
    for body, where in cases:
        response = await service.http.patch(url, json=body, headers=patch_headers)
        assert response.status_code == 422, (body, response.text)
        assert where in pointers(response), (where, pointers(response))
    for raw in (b"not json", b'{"data": {"a": NaN}}', b"[" * 100_000):
        response = await service.http.patch(url, content=raw, headers=patch_headers)
        assert response.status_code in (413, 422), response.text
    big = '{"data": {"place_of_birth": "' + "x" * 200_000 + '"}}'
    assert (await service.http.patch(url, content=big, headers=patch_headers)).status_code == 413
    as_text = await service.http.patch(
        url, content=b'{"data": {}}', headers={**patch_headers, "Content-Type": "text/plain"}
    )
    assert as_text.status_code == 415

    unchanged = await service.http.get(url, headers=who)
    assert (unchanged.headers["etag"], unchanged.json()["data"]) == (tag, {})
    saved = await service.autosave(who, app_id, {"child_full_name": "An", "child_sex": "male"}, tag)
    assert saved.status_code == 200
    cleared = await service.http.patch(
        url, json={"data": None}, headers={**patch_headers, "If-Match": saved.headers["etag"]}
    )
    assert (cleared.status_code, cleared.json()["data"]) == (200, {})


async def test_submit_needs_an_idempotency_key_and_lists_every_gap(service: Any, samples: Any) -> None:
    who, app_id, _ = await fresh_draft(service, samples)
    url = f"/v1/applications/{app_id}/submit"
    missing = await service.http.post(url, headers=who)
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["pointer"].lower() == "/idempotency-key"
    assert (await service.http.post(url, headers={**who, "Idempotency-Key": "with spaces"})).status_code == 422
    empty = await service.submit(who, app_id)
    assert empty.status_code == 422
    assert sorted(pointers(empty)) == [
        "/data/child_date_of_birth",
        "/data/child_full_name",
        "/data/child_sex",
        "/data/place_of_birth",
        "/documents/birth_certificate_medical",
    ]
    assert (await service.http.get(f"/v1/applications/{app_id}", headers=who)).json()["status"] == "draft"


async def test_lists_and_paths_are_checked(service: Any) -> None:
    who = service.citizen()
    for query in ("page=0", "page_size=1000", "status=lost", "page=abc"):
        response = await service.http.get(f"/v1/applications?{query}", headers=who)
        assert response.status_code == 422, query
    assert (await service.http.get("/v1/applications/" + "a" * 65, headers=who)).status_code == 422
    assert (await service.http.get("/v1/applications/nonexistent", headers=who)).status_code == 404
    assert (await service.http.get("/v1/lookup/" + "H" * 41)).status_code == 422


async def test_a_date_of_birth_after_today_in_vietnam_is_refused_at_submit_naming_it(
    service: Any, samples: Any
) -> None:
    procedure = samples.birth_registration()
    form = copy.deepcopy(procedure.form_schema)
    form["properties"]["child_date_of_birth"]["x-motcua-date"] = {"not_after": "today"}
    procedure = procedure.model_copy(update={"form_schema": form})
    who = service.citizen()
    await service.catalogue_publishes(procedure)
    app_id = await service.ready_to_submit(who, procedure.code)
    today = datetime.now(UTC).astimezone(timezone(timedelta(hours=7))).date()
    tag = (await service.http.get(f"/v1/applications/{app_id}", headers=who)).headers["etag"]
    tomorrow = (today + timedelta(days=1)).isoformat()
    saved = await service.autosave(who, app_id, {"child_date_of_birth": tomorrow}, tag)
    assert saved.status_code == 200, saved.text  # a draft may hold it: it is judged at submission
    refused = await service.submit(who, app_id)
    assert refused.status_code == 422, refused.text
    assert pointers(refused) == ["/data/child_date_of_birth"]
    assert f"must not be after {today.isoformat()}" in refused.json()["errors"][0]["message"]
    assert (await service.http.get(f"/v1/applications/{app_id}", headers=who)).json()["status"] == "draft"

    tag = saved.headers["etag"]
    assert (await service.autosave(who, app_id, {"child_date_of_birth": today.isoformat()}, tag)).status_code == 200
    accepted = await service.submit(who, app_id)
    assert accepted.status_code == 200, accepted.text
