"""Every field of a registration is checked: 422 naming the field, 409 for a taken detail (not saying which),
nothing half-written."""

from typing import Any

import pytest

BAD_FIELDS: list[tuple[dict[str, Any], str]] = [
    ({"account_type": "alien"}, "/account_type"),
    ({"account_type": "officer"}, "/account_type"),
    ({"full_name": ""}, "/full_name"),
    ({"full_name": "   "}, "/full_name"),
    ({"full_name": "A" * 201}, "/full_name"),
    ({"full_name": "An\u0000Nguyen"}, "/full_name"),
    ({"full_name": 42}, "/full_name"),
    ({"email": "not-an-email"}, "/email"),
    ({"email": "an@"}, "/email"),
    ({"phone": "12345"}, "/phone"),
    ({"phone": "+1 415 555 0123"}, "/phone"),
    ({"phone": "024 3825 3825"}, "/phone"),
    ({"phone": "0" * 40}, "/phone"),
    ({"password": "short"}, "/password"),
    ({"password": "password1"}, "/password"),
    ({"password": "12345678"}, "/password"),
    ({"password": "motcua2026"}, "/password"),
    ({"password": "x" * 129}, "/password"),
    ({"password": "Nguyễn Thị An"}, "/password"),
    ({"locale": "fr"}, "/locale"),
    ({"national_id": "12345"}, "/national_id"),
    ({"national_id": "00119001234a"}, "/national_id"),
    ({"national_id": None}, "/national_id"),
    ({"tax_code": "0101234567"}, "/tax_code"),
    ({"organisation_name": "Công ty An"}, "/organisation_name"),
    ({"role": "admin"}, "/role"),
    (
        {"account_type": "business", "national_id": None, "tax_code": "123", "organisation_name": "Công ty An"},
        "/tax_code",
    ),
    ({"account_type": "business", "national_id": None, "tax_code": "0101234567"}, "/organisation_name"),
    ({"account_type": "organisation", "national_id": "001190012345", "organisation_name": "Hội An"}, "/national_id"),
]


async def test_each_invalid_field_is_refused_with_a_problem_naming_it_and_nothing_is_saved(identity: Any) -> None:
    for change, pointer in BAD_FIELDS:
        who = identity.person(**change)
        response = await identity.http.post("/v1/accounts", json=who.body)
        assert response.status_code == 422, (change, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert pointer in [e["pointer"] for e in problem["errors"]], (change, problem)
        assert problem["status"] == 422

    own_email = identity.person()
    own_email.body["password"] = own_email.email
    refused = await identity.http.post("/v1/accounts", json=own_email.body)
    assert [e["pointer"] for e in refused.json()["errors"]] == ["/password"]

    for raw in (b"not json", b"[]", b'{"email": '):
        broken = await identity.http.post("/v1/accounts", content=raw, headers={"content-type": "application/json"})
        assert broken.status_code == 422
    assert await identity.db.accounts.count_documents({}) == 0
    assert await identity.db.outbox.count_documents({}) == 0


async def test_a_business_with_a_branch_tax_code_and_an_organisation_register(identity: Any) -> None:
    branch = await identity.register(
        identity.person(
            account_type="business", national_id=None, tax_code="0101234567-001", organisation_name="  Công ty  An  "
        )
    )
    stored = await identity.db.accounts.find_one({"_id": branch.id})
    assert stored["tax_code"] == "0101234567001"
    assert stored["organisation_name"] == "Công ty An"
    assert stored["status"] == "pending_verification"
    assert "password" not in stored
    assert stored["password_hash"].startswith("$argon2id$")
    assert "code" not in stored["phone_check"]
    assert "token" not in stored["email_check"]
    association = identity.person(account_type="organisation", national_id=None, organisation_name="Hội Chữ thập đỏ")
    created = await identity.http.post("/v1/accounts", json=association.body)
    assert created.status_code == 201
    assert created.json()["roles"] == ["citizen"]
    assert created.json()["account_type"] == "organisation"
    assert created.json()["tax_code"] is None


@pytest.mark.parametrize("taken", ["email", "phone", "national_id"])
async def test_a_detail_another_account_holds_is_refused_with_409_not_saying_which(identity: Any, taken: Any) -> None:
    first = await identity.citizen()  # a citizen ID is held only by an active account
    second = identity.person()
    second.body[taken] = {
        "email": first.email.upper(),
        "phone": "+84 " + first.phone[1:],
        "national_id": first.body["national_id"],
    }[taken]
    response = await identity.http.post("/v1/accounts", json=second.body)
    assert response.status_code == 409
    said = response.json()["detail"]
    assert "already exists" in said
    assert not any(word in said for word in ("email", "phone", "citizen ID")), said
    assert await identity.db.accounts.count_documents({}) == 1
