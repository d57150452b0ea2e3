"""An officer's desk roles are set by an admin or by an approver of their own agency (its lead): the directory
is told, the officer's sessions end, and their next sign-in carries the new roles. Nobody else may.

An officer who leaves the desk (a transfer, a leave, a compromised account) is disabled by the same people: they
can no longer sign in, every session ends at once, and the directory marks them inactive so that nobody assigns
them a dossier; enabling them again restores the desk with their roles."""

from typing import Any

import jwt
from motcua.devtools import staff
from motcua.devtools.testing import eventually

ADMIN = {
    "identity_bootstrap_admin_email": "admin.roles@motcua.gov.vn",
    "identity_bootstrap_admin_password": "quản trị một cửa an toàn",
}


def _officer(identity: Any, agency: str, roles: list[str], name: str) -> dict[str, Any]:
    body: dict[str, Any] = identity.person(national_id=None, full_name=name).body
    del body["account_type"]
    return {**body, "agency_code": agency, "roles": roles}


async def _desk(
    identity: Any, desk_roles: list[str]
) -> tuple[dict[str, str], dict[str, dict[str, Any]], dict[str, str], dict[str, dict[str, Any]]]:
    """The admin's headers, and three officers created and signed in: BTP's lead (approver), BTP's desk officer
    (`desk_roles`) and another agency's lead; their bodies, ids and tokens by key."""
    admin = await staff.sign_in(
        identity.http, ADMIN["identity_bootstrap_admin_email"], ADMIN["identity_bootstrap_admin_password"]
    )
    as_admin = {"Authorization": f"Bearer {admin['access_token']}"}
    people = {
        "lead": _officer(identity, "BTP", ["approver"], "Ngô Đức Lãnh"),
        "desk": _officer(identity, "BTP", desk_roles, "Lê Văn Tiếp"),
        "other": _officer(identity, "UBND-XA", ["approver"], "Hoàng Thị Xa"),
    }
    ids: dict[str, str] = {}
    tokens: dict[str, dict[str, Any]] = {}
    for key, body in people.items():
        created = await identity.http.post("/v1/admin/officers", json=body, headers=as_admin)
        assert created.status_code == 201, created.text
        ids[key] = created.json()["id"]
        tokens[key] = await staff.sign_in(identity.http, body["email"], body["password"])
    return as_admin, people, ids, tokens


async def test_the_agencys_lead_or_an_admin_sets_an_officers_roles_and_no_one_else(launch: Any) -> None:
    async with launch(**ADMIN) as identity:
        as_admin, people, ids, tokens = await _desk(identity, ["intake"])

        def bearer(key: str) -> dict[str, str]:
            return {"Authorization": f"Bearer {tokens[key]['access_token']}"}

        url = f"/v1/admin/officers/{ids['desk']}/roles"
        change = {"roles": ["specialist", "intake"]}
        assert (await identity.http.put(url, json=change)).status_code == 401
        own = await identity.http.put(url, json=change, headers=bearer("desk"))  # no approver: not the lead
        assert own.status_code == 403
        assert own.headers["content-type"] == "application/problem+json"
        assert (await identity.http.put(url, json=change, headers=bearer("other"))).status_code == 404
        citizen = await identity.tokens(await identity.citizen())
        as_citizen = {"Authorization": f"Bearer {citizen['access_token']}"}
        assert (await identity.http.put(url, json=change, headers=as_citizen)).status_code == 403
        for bad, pointer in (({"roles": []}, "/roles"), ({"roles": ["chief"]}, "/roles/0"), ({}, "/roles")):
            refused = await identity.http.put(url, json=bad, headers=bearer("lead"))
            assert refused.status_code == 422
            assert pointer in [e["pointer"] for e in refused.json()["errors"]]
        unknown = await identity.http.put("/v1/admin/officers/nobody/roles", json=change, headers=bearer("lead"))
        assert unknown.status_code == 404

        done = await identity.http.put(url, json=change, headers=bearer("lead"))
        assert done.status_code == 200, done.text
        assert done.json()["agency_roles"] == ["intake", "specialist"]  # in the desk's order

        # the directory hears it; the officer's sessions ended; a new sign-in carries the new roles
        entries = await identity.directory.wait_for("OfficerProfileChanged", ids["desk"], count=2)
        assert entries[-1].data.agency_roles == ["intake", "specialist"]
        refreshed = await identity.http.post(
            "/v1/auth/refresh", json={"refresh_token": tokens["desk"]["refresh_token"]}
        )
        assert refreshed.status_code == 401
        again = await staff.sign_in(identity.http, people["desk"]["email"], people["desk"]["password"])
        claims = jwt.decode(again["access_token"], options={"verify_signature": False})
        assert claims["agency_roles"] == ["intake", "specialist"]

        # the admin lists an agency's officers with their roles
        listed = await identity.http.get("/v1/admin/officers", params={"agency": "BTP"}, headers=as_admin)
        assert listed.status_code == 200
        assert [(o["full_name"], o["agency_roles"]) for o in listed.json()["items"]] == [
            ("Lê Văn Tiếp", ["intake", "specialist"]),
            ("Ngô Đức Lãnh", ["approver"]),
        ]
        assert (await identity.http.get("/v1/admin/officers", headers=bearer("lead"))).status_code == 403
        bad_agency = await identity.http.get("/v1/admin/officers", params={"agency": "btp"}, headers=as_admin)
        assert bad_agency.status_code == 422


async def test_a_disabled_officer_cannot_sign_in_loses_every_session_and_leaves_the_directory(launch: Any) -> None:
    async with launch(**ADMIN) as identity:
        as_admin, people, ids, tokens = await _desk(identity, ["intake", "specialist"])

        def bearer(key: str) -> dict[str, str]:
            return {"Authorization": f"Bearer {tokens[key]['access_token']}"}

        disable = f"/v1/admin/officers/{ids['desk']}/disable"
        assert (await identity.http.post(disable)).status_code == 401
        own_desk = await identity.http.post(disable, headers=bearer("desk"))  # an intake officer is not the lead
        assert own_desk.status_code == 403
        assert own_desk.headers["content-type"] == "application/problem+json"
        assert (await identity.http.post(disable, headers=bearer("other"))).status_code == 404
        citizen = await identity.tokens(await identity.citizen())
        as_citizen = {"Authorization": f"Bearer {citizen['access_token']}"}
        assert (await identity.http.post(disable, headers=as_citizen)).status_code == 403
        assert (await identity.http.post("/v1/admin/officers/nobody/disable", headers=as_admin)).status_code == 404
        too_long = await identity.http.post(f"/v1/admin/officers/{'x' * 65}/disable", headers=as_admin)
        assert too_long.status_code == 422
        myself = await identity.http.post(f"/v1/admin/officers/{ids['lead']}/disable", headers=bearer("lead"))
        assert myself.status_code == 409
        assert myself.json()["title"] == "Cannot disable your own account"

        done = await identity.http.post(disable, headers=bearer("lead"))
        assert done.status_code == 200, done.text
        assert done.json()["status"] == "disabled"
        assert done.json()["agency_roles"] == ["intake", "specialist"]  # kept for the day they come back
        again = await identity.http.post(disable, headers=bearer("lead"))  # a second press changes nothing
        assert again.status_code == 200
        assert again.json()["status"] == "disabled"

        # the directory hears it once; the refresh token, the access token and the password all stop working
        entries = await identity.directory.wait_for("OfficerProfileChanged", ids["desk"], count=2)
        assert [e.data.active for e in entries] == [True, False]
        refreshed = await identity.http.post(
            "/v1/auth/refresh", json={"refresh_token": tokens["desk"]["refresh_token"]}
        )
        assert refreshed.status_code == 401

        async def token_refused() -> bool:
            answer = await identity.http.get("/v1/accounts/me", headers=bearer("desk"))
            return bool(answer.status_code == 401)

        await eventually(token_refused, timeout=15.0)
        credentials = {"username": people["desk"]["email"], "password": people["desk"]["password"]}
        refused = await identity.http.post("/v1/auth/login", json=credentials)
        assert refused.status_code == 401
        assert refused.json()["title"] == "Account disabled"
        wrong = await identity.http.post("/v1/auth/login", json={**credentials, "password": "not the password!"})
        assert wrong.status_code == 401
        assert wrong.json()["title"] != "Account disabled"  # without the password, nothing is learnt

        listed = await identity.http.get("/v1/admin/officers", params={"agency": "BTP"}, headers=as_admin)
        assert [(o["full_name"], o["status"]) for o in listed.json()["items"]] == [
            ("Lê Văn Tiếp", "disabled"),
            ("Ngô Đức Lãnh", "active"),
        ]

        # an admin puts them back: the same roles, a new sign-in, the directory active again
        back = await identity.http.post(f"/v1/admin/officers/{ids['desk']}/enable", headers=as_admin)
        assert back.status_code == 200, back.text
        assert back.json()["status"] == "active"
        entries = await identity.directory.wait_for("OfficerProfileChanged", ids["desk"], count=3)
        assert [e.data.active for e in entries] == [True, False, True]
        signed_in = await staff.sign_in(identity.http, people["desk"]["email"], people["desk"]["password"])
        me = await identity.http.get(
            "/v1/accounts/me", headers={"Authorization": f"Bearer {signed_in['access_token']}"}
        )
        assert me.status_code == 200
        assert me.json()["agency_roles"] == ["intake", "specialist"]
