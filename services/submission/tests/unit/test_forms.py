from datetime import date
from typing import Any

import pytest
from motcua.submission.forms import bounds_problems, form_problems, merge_patch

SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "properties": {
        "child_full_name": {"type": "string", "minLength": 1, "maxLength": 100},
        "child_date_of_birth": {"type": "string", "format": "date"},
        "child_sex": {"type": "string", "enum": ["male", "female"]},
        "place_of_birth": {"type": "string", "minLength": 1},
        "copies": {"type": "integer", "minimum": 1},
    },
    "required": ["child_full_name", "child_date_of_birth", "child_sex", "place_of_birth"],
    "additionalProperties": False,
}


@pytest.mark.parametrize(
    ("target", "patch", "result"),
    [  # RFC 7396, appendix A
        ({"a": "b"}, {"a": "c"}, {"a": "c"}),
        ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
        ({"a": "b"}, {"a": None}, {}),
        ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
        ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
        ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
        ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
        ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
    ],
)
def test_merge_patch_follows_rfc_7396(target: Any, patch: Any, result: Any) -> None:
    assert merge_patch(target, patch) == result


def pointers(problems: Any) -> dict[str, str]:
    return {p.pointer: p.message for p in problems}


def test_a_draft_may_be_incomplete_but_not_misshapen() -> None:
    assert form_problems(SCHEMA, {"child_sex": "mal", "child_date_of_birth": "2026-1"}, complete=False) == []
    found = pointers(form_problems(SCHEMA, {"copies": "two", "nickname": "Bi"}, complete=False))
    assert found.keys() == {"/data/copies", "/data/nickname"}
    assert found["/data/nickname"] == "not a field of this form"


def test_a_submission_names_every_problem() -> None:
    found = pointers(
        form_problems(SCHEMA, {"child_sex": "other", "child_date_of_birth": "27/11/2026", "copies": 0}, complete=True)
    )
    assert found.keys() == {
        "/data/child_full_name",
        "/data/place_of_birth",
        "/data/child_sex",
        "/data/child_date_of_birth",
        "/data/copies",
    }
    assert found["/data/child_full_name"] == "required"


def test_a_complete_form_passes() -> None:
    data = {
        "child_full_name": "Nguyễn Văn An",
        "child_date_of_birth": "2026-11-20",
        "child_sex": "male",
        "place_of_birth": "Bệnh viện Phụ sản Hà Nội",
    }
    assert form_problems(SCHEMA, data, complete=True) == []


def test_what_mongodb_cannot_hold_is_refused() -> None:
    deep: dict[str, Any] = {}
    node = deep
    for _ in range(12):
        node["x"] = {}
        node = node["x"]
    found = pointers(
        bounds_problems({"$where": 1, "a.b": 2, "n": 2**64, "s": "x" * 10_001, "d": deep}, max_bytes=65536)
    )
    assert {"/data/$where", "/data/a.b", "/data/n", "/data/s"} <= found.keys()
    assert any(p.startswith("/data/d/x/x") for p in found)
    assert pointers(bounds_problems({"a": "x" * 9000, "b": "y" * 9000}, max_bytes=16384)) == {
        "/data": "the form is larger than 16 KiB"
    }


BOUNDED = {
    **SCHEMA,
    "properties": {
        **SCHEMA["properties"],  # type: ignore[dict-item]
        "child_date_of_birth": {"type": "string", "format": "date", "x-motcua-date": {"not_after": "today"}},
        "appointment": {"type": "string", "format": "date", "x-motcua-date": {"not_before": 1, "not_after": 30}},
    },
}
BIRTH = {"child_full_name": "Nguyễn Văn An", "child_sex": "male", "place_of_birth": "Hà Nội"}
TODAY = date(2026, 12, 2)


def test_a_date_after_the_bound_is_refused_at_submission_naming_the_field() -> None:
    found = pointers(form_problems(BOUNDED, {**BIRTH, "child_date_of_birth": "2026-12-03"}, complete=True, today=TODAY))
    assert found == {"/data/child_date_of_birth": "must not be after 2026-12-02 (today in Vietnam is 2026-12-02)"}
    assert form_problems(BOUNDED, {**BIRTH, "child_date_of_birth": "2026-12-02"}, complete=True, today=TODAY) == []


def test_offsets_count_days_from_today() -> None:
    data = {**BIRTH, "child_date_of_birth": "2026-11-01"}
    assert form_problems(BOUNDED, {**data, "appointment": "2027-01-01"}, complete=True, today=TODAY) == []
    early = pointers(form_problems(BOUNDED, {**data, "appointment": "2026-12-02"}, complete=True, today=TODAY))
    assert early["/data/appointment"].startswith("must not be before 2026-12-03")
    late = pointers(form_problems(BOUNDED, {**data, "appointment": "2027-01-02"}, complete=True, today=TODAY))
    assert late["/data/appointment"].startswith("must not be after 2027-01-01")


def test_a_draft_keeps_a_bounded_date_it_cannot_yet_judge_and_a_bad_date_is_told_once() -> None:
    assert form_problems(BOUNDED, {"child_date_of_birth": "2030-01-01"}, complete=False) == []
    found = pointers(form_problems(BOUNDED, {**BIRTH, "child_date_of_birth": "2026-13-40"}, complete=True, today=TODAY))
    assert list(found) == ["/data/child_date_of_birth"]
    assert "is not a 'date'" in found["/data/child_date_of_birth"]
