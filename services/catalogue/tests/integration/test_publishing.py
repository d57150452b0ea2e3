"""Admins create, publish, republish and retire procedures; citizens and consumers see each step."""

from collections.abc import Callable
from typing import Any

import httpx
from motcua.common import topics
from motcua.devtools.testing import Isolation, Stack, TokenMinter, read_events

PUBLISHED = "motcua.catalogue.ProcedurePublished.v1"
RETIRED = "motcua.catalogue.ProcedureRetired.v1"


def problem_pointers(response: httpx.Response) -> list[str]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return [e["pointer"] for e in response.json()["errors"]]


async def found(http: httpx.AsyncClient, q: str) -> list[str]:
    return [item["code"] for item in (await http.get("/v1/procedures", params={"q": q})).json()["items"]]


async def test_publishing_makes_immutable_versions_and_retiring_hides_the_procedure(
    small_catalogue: httpx.AsyncClient,
    token_minter: TokenMinter,
    stack: Stack,
    isolation: Isolation,
    new_procedure: Callable[..., dict[str, Any]],
) -> None:
    create_procedure = new_procedure
    http = small_catalogue
    admin = token_minter.headers(roles=["admin"])
    body = create_procedure("TEST-01")

    created = await http.post("/v1/procedures", json=body, headers=admin)
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "draft"
    assert created.json()["current_version"] is None
    assert created.json()["draft"]["ui_schema"]["fields"]["sex"] == {
        "widget": "select",
        "options": [
            {"value": "male", "label": "Nam", "label_en": ""},
            {"value": "female", "label": "Nữ", "label_en": ""},
        ],
    }
    assert (await http.post("/v1/procedures", json=body, headers=admin)).status_code == 409
    assert (await http.get("/v1/procedures/TEST-01")).status_code == 404
    assert await found(http, "giay phep thu nghiem") == []

    first = await http.post("/v1/procedures/TEST-01/publish", headers=admin)
    assert first.status_code == 201, first.text
    assert first.json()["version"] == 1
    assert first.headers["location"] == "/v1/procedures/TEST-01/versions/1"
    assert (await http.post("/v1/procedures/TEST-01/publish", headers=admin)).status_code == 409
    assert (await http.get("/v1/procedures/TEST-01")).json() == first.json()
    assert await found(http, "giay phep thu nghiem") == ["TEST-01"]

    renamed = create_procedure("TEST-01", name="Cấp giấy phép thí điểm", fee_vnd=20000)
    del renamed["code"]
    saved = await http.put("/v1/procedures/TEST-01/draft", json=renamed, headers=admin)
    assert saved.status_code == 200, saved.text
    assert (await http.get("/v1/procedures/TEST-01")).json()["version"] == 1  # the draft is not public
    second = await http.post("/v1/procedures/TEST-01/publish", headers=admin)
    assert second.json()["version"] == 2

    current = (await http.get("/v1/procedures/TEST-01")).json()
    assert (current["version"], current["name"], current["fee_vnd"]) == (2, "Cấp giấy phép thí điểm", 20000)
    old = (await http.get("/v1/procedures/TEST-01/versions/1")).json()
    assert (old["name"], old["fee_vnd"]) == ("Cấp giấy phép thử nghiệm", 15000)
    versions = (await http.get("/v1/procedures/TEST-01/versions")).json()["items"]
    assert [v["version"] for v in versions] == [1, 2]
    assert await found(http, "thi diem") == ["TEST-01"]
    assert await found(http, "thu nghiem giay phep") == []

    retired = await http.post("/v1/procedures/TEST-01/retire", headers=admin)
    assert retired.status_code == 200, retired.text
    assert retired.json()["status"] == "retired"
    assert (await http.post("/v1/procedures/TEST-01/retire", headers=admin)).status_code == 409
    gone = await http.get("/v1/procedures/TEST-01")
    assert gone.status_code == 410
    assert "retired" in gone.json()["detail"]
    assert await found(http, "thi diem") == []
    assert (await http.get("/v1/procedures/TEST-01/versions/2")).json() == current

    topic = isolation.topic_prefix + topics.CATALOGUE_PROCEDURE
    events = await read_events(stack.kafka_bootstrap, topic, count=4)
    mine = [e for e in events if e.subject == "TEST-01"]
    assert [(e.type, e.data.version) for e in mine] == [(PUBLISHED, 1), (PUBLISHED, 2), (RETIRED, 2)]  # type: ignore[attr-defined]
    assert next(e.subject for e in events if e.type == PUBLISHED) == "SEED-01"
    v2: Any = mine[1].data
    assert v2.form_schema == body["form_schema"]
    assert [d.key for d in v2.required_documents] == ["id_card"]
    assert (v2.name, v2.agency_code, v2.fee_vnd, v2.ui_schema) == (
        "Cấp giấy phép thí điểm",
        "UBND-XA",
        20000,
        current["ui_schema"],
    )
    assert mine[1].request_id == second.headers["x-request-id"]

    # a retired procedure comes back only through a new version
    assert (await http.put("/v1/procedures/TEST-01/draft", json=renamed, headers=admin)).status_code == 200
    back = await http.post("/v1/procedures/TEST-01/publish", headers=admin)
    assert back.json()["version"] == 3
    assert (await http.get("/v1/procedures/TEST-01")).status_code == 200


async def test_only_admins_manage_procedures(
    small_catalogue: httpx.AsyncClient, token_minter: TokenMinter, new_procedure: Callable[..., dict[str, Any]]
) -> None:
    http = small_catalogue
    body = new_procedure("TEST-02")
    draft = {k: v for k, v in body.items() if k != "code"}
    calls = [
        ("POST", "/v1/procedures", body),
        ("PUT", "/v1/procedures/SEED-01/draft", draft),
        ("GET", "/v1/procedures/SEED-01/draft", None),
        ("POST", "/v1/procedures/SEED-01/publish", None),
        ("POST", "/v1/procedures/SEED-01/retire", None),
    ]
    officer = token_minter.headers(roles=["officer"], agency="UBND-XA")
    citizen = token_minter.headers(roles=["citizen"])
    for method, path, payload in calls:
        assert (await http.request(method, path, json=payload)).status_code == 401, path
        bad = await http.request(method, path, json=payload, headers={"Authorization": "Bearer not-a-token"})
        assert bad.status_code == 401, path
        for headers in (officer, citizen):
            assert (await http.request(method, path, json=payload, headers=headers)).status_code == 403, path
    assert (await http.get("/v1/procedures/SEED-01")).json()["version"] == 1
    assert (await http.get("/v1/procedures/TEST-02/versions")).status_code == 404


async def test_bad_procedures_are_refused_with_422_naming_the_problem_and_nothing_is_written(
    small_catalogue: httpx.AsyncClient, token_minter: TokenMinter, new_procedure: Callable[..., dict[str, Any]]
) -> None:
    http = small_catalogue
    admin = token_minter.headers(roles=["admin"])
    good = new_procedure("TEST-03")
    bad_form = {**good["form_schema"], "properties": {"full_name": {"type": "strin"}}}
    cases: list[tuple[dict[str, Any], list[str]]] = [
        ({"form_schema": bad_form}, ["/form_schema/properties/full_name/type"]),
        ({"name": None}, ["/name"]),
        ({"name": "   "}, ["/name"]),
        ({"fee_vnd": -1}, ["/fee_vnd"]),
        ({"processing_days": 1.5}, ["/processing_days"]),
        ({"same_day_cutoff": "3pm"}, ["/same_day_cutoff"]),
        ({"same_day_cutoff": "24:00"}, ["/same_day_cutoff"]),
        ({"agency_code": "NOWHERE"}, ["/agency_code"]),
        ({"code": "test 03"}, ["/code"]),
        ({"applicant_types": ["martian"]}, ["/applicant_types/0"]),
        (
            {"required_documents": [{**good["required_documents"][0], "max_size_mb": 0}]},
            ["/required_documents/0/max_size_mb"],
        ),
        ({"ui_schema": {"order": ["ghost"]}}, ["/ui_schema/order/0"]),
        ({"form_schema": {**good["form_schema"], "required": ["ghost"]}}, ["/form_schema/required/0"]),
        ({"surprise": True}, ["/surprise"]),
    ]
    for change, expected in cases:
        body = {**good, **change}
        if change.get("name") is None and "name" in change:
            del body["name"]
        response = await http.post("/v1/procedures", json=body, headers=admin)
        assert problem_pointers(response) == expected, change
    assert (await http.get("/v1/procedures/TEST-03/draft", headers=admin)).status_code == 404

    as_json = {**admin, "content-type": "application/json"}
    assert (await http.post("/v1/procedures", content=b"{not json", headers=as_json)).status_code == 422
    too_deep = await http.post("/v1/procedures", content=b'{"a":' * 5000 + b"1" + b"}" * 5000, headers=as_json)
    assert too_deep.status_code == 422
    assert too_deep.headers["content-type"] == "application/problem+json"
    assert too_deep.json()["errors"][0]["location"] == "body"
    too_big = await http.post("/v1/procedures", json={**good, "description": "x" * 1_100_000}, headers=admin)
    assert too_big.status_code == 413
    assert too_big.headers["content-type"] == "application/problem+json"
    assert too_big.headers["x-request-id"] == too_big.json()["request_id"]

    # a bad draft leaves the saved one as it was
    draft = {k: v for k, v in good.items() if k != "code"}
    before = (await http.get("/v1/procedures/SEED-01/draft", headers=admin)).json()
    refused = await http.put("/v1/procedures/SEED-01/draft", json={**draft, "fee_vnd": -5}, headers=admin)
    assert problem_pointers(refused) == ["/fee_vnd"]
    assert (await http.get("/v1/procedures/SEED-01/draft", headers=admin)).json() == before
    assert (await http.put("/v1/procedures/NO-SUCH/draft", json=draft, headers=admin)).status_code == 404
    assert (await http.post("/v1/procedures/NO-SUCH/publish", headers=admin)).status_code == 404
    assert (await http.post("/v1/procedures/NO-SUCH/retire", headers=admin)).status_code == 404
