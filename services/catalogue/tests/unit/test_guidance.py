"""A procedure's guidance (steps, result, templates, legal texts, fees) and the date keyword x-motcua-date."""

from typing import Any

import pytest
from motcua.catalogue.model import ProcedureCreate
from motcua.catalogue.seed import load_seed
from pydantic import ValidationError

from .test_procedures import birth_registration, pointers


def bare() -> dict[str, Any]:
    """The birth registration as an admin might write it: no guidance at all."""
    body = birth_registration()
    for field in ("steps", "result_delivery", "form_templates", "legal_texts", "fee_details"):
        body.pop(field, None)
    return body


def test_every_seeded_procedure_has_its_guidance_in_both_languages() -> None:
    seed = load_seed()
    assert len(seed.procedures) == 36
    for p in seed.procedures:
        assert len(p.steps) >= 3, p.code
        assert all(s.text and s.text_en for s in p.steps), p.code
        assert p.result_delivery is not None, p.code
        assert p.result_delivery.document_en, p.code
        assert p.fee_details, p.code
        assert all(f.name_en for f in p.fee_details), p.code
        assert [lt.title for lt in p.legal_texts] == p.legal_basis, p.code
        assert all(lt.url and lt.url.startswith("https://") and lt.title_en for lt in p.legal_texts), p.code


def test_birth_registration_says_when_its_fee_applies_and_bounds_the_date_of_birth_to_today() -> None:
    birth = next(p for p in load_seed().procedures if p.code == "HT-KS-01")
    late = [f for f in birth.fee_details if "quá hạn" in f.name]
    assert late
    assert "60 ngày" in late[0].condition
    assert birth.form_templates[0].name.startswith("Tờ khai đăng ký khai sinh")
    assert birth.form_schema["properties"]["child_date_of_birth"]["x-motcua-date"] == {"not_after": "today"}


def test_guidance_is_optional() -> None:
    created = ProcedureCreate.model_validate(bare(), strict=False)
    assert created.steps == []
    assert created.result_delivery is None
    assert created.fee_details == []
    assert pointers(bare()) == []


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"steps": [{"text": "Nộp hồ sơ"}]}, ("steps", 0, "text_en")),
        ({"steps": [{"text": "", "text_en": "Submit"}]}, ("steps", 0, "text")),
        (
            {"result_delivery": {"document": "Giấy", "document_en": "Paper", "methods": []}},
            ("result_delivery", "methods"),
        ),
        (
            {"result_delivery": {"document": "Giấy", "document_en": "Paper", "methods": ["pigeon"]}},
            ("result_delivery", "methods", 0),
        ),
        ({"form_templates": [{"name": "Tờ khai", "name_en": "Form", "url": "javascript:alert(1)"}]}, None),
        ({"legal_texts": [{"title": "Luật", "url": "http://vbpl.vn/x"}]}, ("legal_texts", 0, "url")),
        ({"legal_texts": [{"title": "Luật", "url": "https://user@vbpl.vn/x"}]}, ("legal_texts", 0, "url")),
        (
            {"fee_details": [{"name": "Lệ phí", "name_en": "Charge", "amount_vnd": -5}]},
            ("fee_details", 0, "amount_vnd"),
        ),
    ],
)
def test_guidance_is_checked(change: dict[str, Any], where: tuple[object, ...] | None) -> None:
    with pytest.raises(ValidationError) as refused:
        ProcedureCreate.model_validate({**bare(), **change}, strict=False)
    locations = [e["loc"] for e in refused.value.errors()]
    if where is not None:
        assert where in locations, locations
    else:
        assert locations[0][:3] == ("form_templates", 0, "url"), locations


def test_a_delivery_method_is_listed_once() -> None:
    body = {**bare(), "result_delivery": {"document": "Giấy", "document_en": "Paper", "methods": ["post", "post"]}}
    assert pointers(body) == ["/result_delivery/methods/1"]


def with_date_rule(rule: Any, **field: Any) -> dict[str, Any]:
    body = bare()
    body["form_schema"]["properties"]["child_date_of_birth"] = {"type": "string", "format": "date", **field}
    body["form_schema"]["properties"]["child_date_of_birth"]["x-motcua-date"] = rule
    return body


WHERE = "/form_schema/properties/child_date_of_birth/x-motcua-date"


@pytest.mark.parametrize(
    "rule",
    [{"not_after": "today"}, {"not_before": -60, "not_after": 0}, {"not_before": "today", "not_after": 30}],
)
def test_a_date_may_be_bounded_relative_to_today(rule: Any) -> None:
    assert pointers(with_date_rule(rule)) == []


@pytest.mark.parametrize(
    ("rule", "found"),
    [
        ("today", [WHERE]),
        ({}, [WHERE]),
        ({"not_after": "today", "before": 1}, [WHERE]),
        ({"not_after": "tomorrow"}, [f"{WHERE}/not_after"]),
        ({"not_after": True}, [f"{WHERE}/not_after"]),
        ({"not_before": 1.5}, [f"{WHERE}/not_before"]),
        ({"not_before": 10**6}, [f"{WHERE}/not_before"]),
        ({"not_before": 5, "not_after": "today"}, [f"{WHERE}/not_before"]),
    ],
)
def test_a_date_rule_that_cannot_be_read_is_refused_naming_it(rule: Any, found: list[str]) -> None:
    assert pointers(with_date_rule(rule)) == found


def test_only_a_date_field_may_be_bounded() -> None:
    body = bare()
    body["form_schema"]["properties"]["child_full_name"]["x-motcua-date"] = {"not_after": "today"}
    assert pointers(body) == ["/form_schema/properties/child_full_name/x-motcua-date"]
