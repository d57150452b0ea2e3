"""A citizen finds procedures in the seeded catalogue and reads one, over HTTP."""

from typing import Any

import httpx


async def search(http: httpx.AsyncClient, **params: str | int) -> dict[str, Any]:
    response = await http.get("/v1/procedures", params=params)
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


def codes(page: dict[str, Any]) -> list[str]:
    return [item["code"] for item in page["items"]]


async def test_a_citizen_finds_procedures_with_or_without_diacritics_ranked_and_filtered(
    catalogue: httpx.AsyncClient,
) -> None:
    agencies = (await catalogue.get("/v1/agencies")).json()["items"]
    assert len(agencies) >= 6
    assert {"code", "name", "name_en", "level"} <= set(agencies[0])

    plain = await search(catalogue, q="dang ky kinh doanh")
    assert plain == await search(catalogue, q="ĐĂNG KÝ KINH DOANH")
    assert plain == await search(catalogue, q="Đăng kí kinh doanh")
    assert "DKKD-HKD-01" in codes(plain)[:2]
    assert plain["total"] == len(plain["items"])
    assert set(plain["items"][0]) == {
        "code",
        "version",
        "name",
        "name_en",
        "agency_code",
        "applicant_types",
        "online_level",
        "processing_days",
        "fee_vnd",
    }

    birth = await search(catalogue, q="đăng kí khai sinh")
    assert codes(birth)[0] == "HT-KS-01"
    assert codes(await search(catalogue, q="khai sinh"))[0] == "HT-KS-01"
    assert codes(await search(catalogue, q="Birth registration"))[0] == "HT-KS-01"
    assert codes(await search(catalogue, q="ht-ks-01"))[0] == "HT-KS-01"
    assert codes(await search(catalogue, q="DKKD-HKD-01"))[0] == "DKKD-HKD-01"
    assert (await search(catalogue, q="phi thuyền vũ trụ"))["total"] == 0

    police = await search(catalogue, agency="CA-TINH", page_size=100)
    assert police["total"] > 0
    assert {item["agency_code"] for item in police["items"]} == {"CA-TINH"}
    businesses = await search(catalogue, q="đăng ký", applicant_type="business", page_size=100)
    assert businesses["total"] > 0
    assert all("business" in item["applicant_types"] for item in businesses["items"])

    everything = await search(catalogue, page_size=100)
    assert everything["total"] >= 30
    pages = [await search(catalogue, page=p, page_size=7) for p in range(1, everything["total"] // 7 + 2)]
    assert all(page["total"] == everything["total"] for page in pages)
    assert [c for page in pages for c in codes(page)] == codes(everything)


async def test_bad_search_parameters_answer_422_naming_the_parameter(catalogue: httpx.AsyncClient) -> None:
    cases: list[tuple[dict[str, str | int], str]] = [
        ({"page": 0}, "/page"),
        ({"page": "two"}, "/page"),
        ({"page_size": 0}, "/page_size"),
        ({"page_size": 101}, "/page_size"),
        ({"applicant_type": "alien"}, "/applicant_type"),
        ({"q": "x" * 201}, "/q"),
        ({"agency": "UBND XA"}, "/agency"),
        ({"pagesize": 5}, "/pagesize"),
    ]
    for params, pointer in cases:
        response = await catalogue.get("/v1/procedures", params=params)
        assert response.status_code == 422, params
        assert response.headers["content-type"] == "application/problem+json"
        assert [e["pointer"] for e in response.json()["errors"]] == [pointer]


async def test_a_procedure_reads_as_its_current_version_with_form_and_documents(catalogue: httpx.AsyncClient) -> None:
    response = await catalogue.get("/v1/procedures/HT-KS-01")
    assert response.status_code == 200
    body = response.json()
    assert {
        "code",
        "version",
        "name",
        "name_en",
        "description",
        "description_en",
        "agency_code",
        "applicant_types",
        "online_level",
        "processing_days",
        "same_day_cutoff",
        "fee_vnd",
        "fee_due",
        "legal_basis",
        "required_documents",
        "form_schema",
        "ui_schema",
        "published_at",
        # the guidance of the procedure's page (docs/catalogue.md)
        "steps",
        "result_delivery",
        "form_templates",
        "legal_texts",
        "fee_details",
    } == set(body)
    assert (body["code"], body["version"], body["name"]) == ("HT-KS-01", 1, "Đăng ký khai sinh")
    # received before 15:00 on a working day, answered the same day, as its description promises
    assert (body["processing_days"], body["same_day_cutoff"]) == (1, "15:00")
    assert body["form_schema"]["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert {"child_full_name", "child_date_of_birth", "child_sex", "place_of_birth"} <= set(
        body["form_schema"]["required"]
    )
    documents = {d["key"]: d for d in body["required_documents"]}
    assert documents["birth_certificate_medical"]["required"] is True
    assert documents["marriage_certificate"]["required"] is False
    assert set(documents["marriage_certificate"]) == {
        "key",
        "name",
        "name_en",
        "required",
        "accepted_types",
        "max_size_mb",
    }
    assert body["ui_schema"]["fields"]["child_full_name"] == {
        "label": "Họ, chữ đệm và tên của trẻ",
        "label_en": "Child's full name",
        "widget": "text",
    }

    again = await catalogue.get("/v1/procedures/ht-ks-01", headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304
    assert (await catalogue.get("/v1/procedures/HT-KS-01/versions/1")).json() == body

    for path in ("/v1/procedures/NO-SUCH-01", "/v1/procedures/HT-KS-01/versions/2", "/v1/procedures/NO-SUCH/versions"):
        missing = await catalogue.get(path)
        assert missing.status_code == 404
        assert missing.headers["content-type"] == "application/problem+json"
    assert (await catalogue.get("/v1/procedures/HT-KS-01/versions/0")).status_code == 422
    openapi = (await catalogue.get("/openapi.json")).json()
    assert {"/v1/agencies", "/v1/procedures", "/v1/procedures/{code}", "/v1/procedures/{code}/publish"} <= set(
        openapi["paths"]
    )
    assert (await catalogue.get("/v1/procedures/HT_KS_01")).status_code == 422
