import copy
import json
from pathlib import Path
from typing import Any

import pytest
from motcua.catalogue.model import (
    NothingToPublish,
    NotPublished,
    ProcedureCreate,
    Status,
    check_retirable,
    next_version,
    problems_in,
)
from motcua.catalogue.seed import SeedError, load_seed
from pydantic import ValidationError

SEED = Path(__file__).parents[2] / "src/motcua/catalogue/seed"


def seed_procedures() -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads((SEED / "procedures.json").read_text(encoding="utf-8"))
    return data


def birth_registration() -> dict[str, Any]:
    return next(p for p in seed_procedures() if p["code"] == "HT-KS-01")


def pointers(body: dict[str, Any]) -> list[str]:
    return [p.pointer for p in problems_in(ProcedureCreate.model_validate(body, strict=False))]


def test_the_shipped_seed_loads_with_the_procedures_the_contract_names() -> None:
    seed = load_seed()
    assert len(seed.procedures) >= 30
    assert len({p.agency_code for p in seed.procedures}) >= 6
    by_code = {p.code: p for p in seed.procedures}
    birth = by_code["HT-KS-01"]
    assert birth.name == "Đăng ký khai sinh"
    assert birth.applicant_types == ["individual"]
    required = set(birth.form_schema["required"])
    assert required >= {"child_full_name", "child_date_of_birth", "child_sex", "place_of_birth"}
    documents = {d.key: d.required for d in birth.required_documents}
    assert documents["birth_certificate_medical"] is True
    assert documents["marriage_certificate"] is False
    assert set(by_code["DKKD-HKD-01"].applicant_types) == {"business", "individual"}


def test_a_seed_with_bad_entries_is_refused_naming_each_problem(tmp_path: Path) -> None:
    procedures = seed_procedures()[:3]
    procedures[0]["fee_vnd"] = -1
    procedures[1]["form_schema"]["properties"]["child_sex"] = {"type": "strin"}
    procedures[2]["agency_code"] = "NOWHERE"
    procedures.append(copy.deepcopy(procedures[2]))
    (tmp_path / "agencies.json").write_text((SEED / "agencies.json").read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "procedures.json").write_text(json.dumps(procedures), encoding="utf-8")
    with pytest.raises(SeedError) as refused:
        load_seed(tmp_path)
    message = str(refused.value)
    assert f"[0] ({procedures[0]['code']}) /fee_vnd" in message
    assert "/form_schema/properties/child_sex/type" in message
    assert "/agency_code: NOWHERE is not in agencies.json" in message
    assert "is used twice" in message


def test_a_missing_or_unreadable_seed_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "agencies.json").write_text("[", encoding="utf-8")
    with pytest.raises(SeedError, match=r"agencies\.json"):
        load_seed(tmp_path)


def test_a_form_must_be_a_valid_json_schema_for_an_object() -> None:
    body = birth_registration()
    body["form_schema"]["properties"]["child_full_name"]["minLength"] = -1
    assert pointers(body) == ["/form_schema/properties/child_full_name/minLength"]
    body = birth_registration()
    body["form_schema"] = {"type": "array"}
    assert pointers(body) == ["/form_schema/type"]
    body = birth_registration()
    body["form_schema"]["$schema"] = "http://json-schema.org/draft-07/schema#"
    assert pointers(body) == ["/form_schema/$schema"]


def test_a_form_may_not_fetch_remote_schemas_or_require_unknown_fields() -> None:
    body = birth_registration()
    body["form_schema"]["properties"]["child_sex"] = {"$ref": "https://example.org/sex.json"}
    body["form_schema"]["required"].append("ghost")
    assert sorted(pointers(body)) == ["/form_schema/properties/child_sex/$ref", "/form_schema/required/4"]


def test_ui_hints_may_be_partial_but_must_name_real_fields_and_allowed_values() -> None:
    body = birth_registration()
    body["ui_schema"]["fields"].pop("child_ethnicity")
    body["ui_schema"]["fields"]["place_of_birth"] = {}
    assert pointers(body) == []
    body["ui_schema"]["order"].append("ghost")
    body["ui_schema"]["fields"]["ghost"] = {"label": "?"}
    body["ui_schema"]["fields"]["child_sex"]["options"][0]["value"] = "other"
    assert pointers(body) == [
        "/ui_schema/order/9",
        "/ui_schema/fields/child_sex/options/0/value",
        "/ui_schema/fields/ghost",
    ]


def test_document_keys_and_applicant_types_are_unique() -> None:
    body = birth_registration()
    body["required_documents"].append(dict(body["required_documents"][0]))
    body["applicant_types"] = ["individual", "individual"]
    assert pointers(body) == ["/applicant_types/1", "/required_documents/2/key"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": ""}, "name"),
        ({"fee_vnd": -1}, "fee_vnd"),
        ({"code": "ht ks"}, "code"),
        ({"online_level": "half"}, "online_level"),
        ({"applicant_types": []}, "applicant_types"),
        ({"extra": 1}, "extra"),
    ],
)
def test_fields_are_checked_by_type(change: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as refused:
        ProcedureCreate.model_validate({**birth_registration(), **change})
    assert [e["loc"][0] for e in refused.value.errors()] == [field]


def test_versions_count_from_one_and_need_a_draft() -> None:
    assert next_version("A", None, has_draft=True) == 1
    assert next_version("A", 4, has_draft=True) == 5
    with pytest.raises(NothingToPublish):
        next_version("A", 4, has_draft=False)


def test_only_a_published_procedure_can_be_retired() -> None:
    check_retirable("A", Status.PUBLISHED)
    for status in (Status.DRAFT, Status.RETIRED):
        with pytest.raises(NotPublished):
            check_retirable("A", status)
