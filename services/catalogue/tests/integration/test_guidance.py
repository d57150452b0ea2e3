"""A procedure's guidance and date rules through the API: kept, published, announced and checked on saving."""

from collections.abc import Callable
from typing import Any

import httpx
from motcua.common import topics
from motcua.common.contracts.catalogue import ProcedurePublished
from motcua.devtools.testing import Isolation, Stack, TokenMinter, read_events

from .test_publishing import PUBLISHED, problem_pointers

GUIDANCE: dict[str, Any] = {
    "steps": [
        {"text": "Nộp hồ sơ trực tuyến.", "text_en": "Submit online."},
        {"text": "Nhận kết quả.", "text_en": "Receive the result."},
    ],
    "result_delivery": {
        "document": "Giấy phép thử nghiệm",
        "document_en": "Test permit",
        "methods": ["in_person", "online"],
        "place": "Bộ phận Một cửa",
        "place_en": "The one-stop desk",
    },
    "form_templates": [
        {"name": "Tờ khai", "name_en": "Declaration", "code": "Mẫu 01", "url": "https://example.vn/m01.docx"}
    ],
    "legal_texts": [{"title": "Luật Thử nghiệm", "url": "https://vbpl.vn/x?Keyword=1%2F2026"}],
    "fee_details": [
        {
            "name": "Lệ phí",
            "name_en": "Charge",
            "amount_vnd": 0,
            "condition": "Nộp đúng hạn",
            "condition_en": "On time",
        },
        {"name": "Lệ phí quá hạn", "name_en": "Late charge", "amount_vnd": None},
    ],
}


async def test_guidance_is_published_and_announced_as_saved(
    small_catalogue: httpx.AsyncClient,
    token_minter: TokenMinter,
    stack: Stack,
    isolation: Isolation,
    new_procedure: Callable[..., dict[str, Any]],
) -> None:
    admin = token_minter.headers(roles=["admin"])
    body = {**new_procedure("TEST-11"), **GUIDANCE}
    body["form_schema"]["properties"]["birth_date"] = {
        "type": "string",
        "format": "date",
        "x-motcua-date": {"not_before": -36600, "not_after": "today"},
    }
    assert (await small_catalogue.post("/v1/procedures", json=body, headers=admin)).status_code == 201
    published = await small_catalogue.post("/v1/procedures/TEST-11/publish", headers=admin)
    assert published.status_code == 201, published.text
    shown = (await small_catalogue.get("/v1/procedures/TEST-11")).json()
    expected = {**GUIDANCE}
    expected["result_delivery"] = {**GUIDANCE["result_delivery"], "instructions": "", "instructions_en": ""}
    expected["legal_texts"] = [{**GUIDANCE["legal_texts"][0], "title_en": ""}]
    expected["fee_details"] = [
        GUIDANCE["fee_details"][0],
        {**GUIDANCE["fee_details"][1], "condition": "", "condition_en": ""},
    ]
    for field, value in expected.items():
        assert shown[field] == value, field
    assert shown["form_schema"]["properties"]["birth_date"]["x-motcua-date"] == {
        "not_before": -36600,
        "not_after": "today",
    }
    events = await read_events(stack.kafka_bootstrap, isolation.topic_prefix + topics.CATALOGUE_PROCEDURE, count=2)
    announced = next(e.data for e in events if e.type == PUBLISHED and e.subject == "TEST-11")
    assert isinstance(announced, ProcedurePublished)
    assert announced.steps == GUIDANCE["steps"]
    assert announced.result_delivery is not None
    assert announced.result_delivery["methods"] == ["in_person", "online"]


async def test_a_procedure_without_guidance_answers_empty_parts(
    small_catalogue: httpx.AsyncClient, token_minter: TokenMinter, new_procedure: Callable[..., dict[str, Any]]
) -> None:
    admin = token_minter.headers(roles=["admin"])
    assert (
        await small_catalogue.post("/v1/procedures", json=new_procedure("TEST-12"), headers=admin)
    ).status_code == 201
    assert (await small_catalogue.post("/v1/procedures/TEST-12/publish", headers=admin)).status_code == 201
    shown = (await small_catalogue.get("/v1/procedures/TEST-12")).json()
    assert [shown[f] for f in ("steps", "result_delivery", "form_templates", "legal_texts", "fee_details")] == [
        [],
        None,
        [],
        [],
        [],
    ]


async def test_bad_guidance_and_date_rules_are_refused_naming_the_field(
    small_catalogue: httpx.AsyncClient, token_minter: TokenMinter, new_procedure: Callable[..., dict[str, Any]]
) -> None:
    admin = token_minter.headers(roles=["admin"])
    good = new_procedure("TEST-13")
    dated = {**good["form_schema"], "properties": {**good["form_schema"]["properties"]}}
    dated["properties"]["birth_date"] = {"type": "string", "format": "date", "x-motcua-date": {"not_after": "tomorrow"}}
    misplaced = {**good["form_schema"], "properties": {**good["form_schema"]["properties"]}}
    misplaced["properties"]["note"] = {"type": "string", "x-motcua-date": {"not_after": "today"}}
    cases: list[tuple[dict[str, Any], list[str]]] = [
        ({"form_schema": dated}, ["/form_schema/properties/birth_date/x-motcua-date/not_after"]),
        ({"form_schema": misplaced}, ["/form_schema/properties/note/x-motcua-date"]),
        ({"steps": [{"text": "Nộp"}]}, ["/steps/0/text_en"]),
        ({"result_delivery": {**GUIDANCE["result_delivery"], "methods": ["drone"]}}, ["/result_delivery/methods/0"]),
        (
            {"result_delivery": {**GUIDANCE["result_delivery"], "methods": ["post", "post"]}},
            ["/result_delivery/methods/1"],
        ),
        ({"legal_texts": [{"title": "Luật", "url": "javascript:alert(1)"}]}, ["/legal_texts/0/url"]),
        ({"fee_details": [{"name": "Lệ phí", "name_en": "Charge", "amount_vnd": -1}]}, ["/fee_details/0/amount_vnd"]),
    ]
    for change, expected in cases:
        response = await small_catalogue.post("/v1/procedures", json={**good, **change}, headers=admin)
        assert problem_pointers(response) == expected, change
    assert (await small_catalogue.get("/v1/procedures/TEST-13/draft", headers=admin)).status_code == 404
