"""The first admin from the environment, officers of an agency, and signing keys that rotate."""

from typing import Any

import jwt
from motcua.common.auth import TokenVerifier
from motcua.devtools import staff

ADMIN = {
    "identity_bootstrap_admin_email": "Admin@MotCua.gov.vn",
    "identity_bootstrap_admin_password": "quản trị một cửa an toàn",
}


def _officer(identity: Any, **change: Any) -> dict[str, Any]:
    body = identity.person(**{"national_id": None, "full_name": "Trần Văn Bình", "agency_code": "BTP", **change}).body
    del body["account_type"]
    officer: dict[str, Any] = body
    return officer


async def test_the_bootstrap_admin_creates_officers_bound_to_an_agency(launch: Any) -> None:
    async with launch(**ADMIN) as identity:
        admin = await staff.sign_in(identity.http, "admin@motcua.gov.vn", ADMIN["identity_bootstrap_admin_password"])
        as_admin = {"Authorization": f"Bearer {admin['access_token']}"}
        me = (await identity.http.get("/v1/accounts/me", headers=as_admin)).json()
        assert me["roles"] == ["admin"]
        assert me["status"] == "active"
        assert me["phone"] is None

        officer = _officer(identity)
        created = await identity.http.post("/v1/admin/officers", json=officer, headers=as_admin)
        assert created.status_code == 201, created.text
        assert created.json()["status"] == "active"
        assert created.json()["roles"] == ["officer"]
        assert created.json()["agency_roles"] == ["intake", "specialist", "approver"]  # the default: all three
        officer_id = created.json()["id"]
        await identity.events.wait_for("AccountRegistered", officer_id)
        await identity.events.wait_for("AccountActivated", officer_id)
        # the directory, for submission and notification: agency and roles, no contact detail, no secret
        [entry] = await identity.directory.wait_for("OfficerProfileChanged", officer_id)
        assert entry.data.model_dump(exclude={"changed_at"}) == {
            "account_id": officer_id,
            "full_name": officer["full_name"],
            "agency_code": "BTP",
            "agency_roles": ["intake", "specialist", "approver"],
            "active": True,
        }

        signed_in = await staff.sign_in(identity.http, officer["email"], officer["password"])
        claims = jwt.decode(signed_in["access_token"], options={"verify_signature": False})
        assert claims["roles"] == ["officer"]
        assert claims["agency"] == "BTP"
        assert claims["agency_roles"] == ["intake", "specialist", "approver"]
        assert claims["account_type"] == "officer"

        for change, pointer in (
            ({"agency_code": "btp"}, "/agency_code"),
            ({"agency_code": ""}, "/agency_code"),
            ({"phone": "123"}, "/phone"),
            ({"password": "password1"}, "/password"),
            ({"roles": []}, "/roles"),
            ({"roles": ["chief"]}, "/roles/0"),
            ({"roles": ["intake", "intake"]}, "/roles"),
        ):
            refused = await identity.http.post(
                "/v1/admin/officers", json=_officer(identity, **change), headers=as_admin
            )
            assert refused.status_code == 422
            assert pointer in [e["pointer"] for e in refused.json()["errors"]]
        twice = await identity.http.post("/v1/admin/officers", json=officer, headers=as_admin)
        assert twice.status_code == 409

        specialist = _officer(identity, roles=["approver", "specialist"])
        made = await identity.http.post("/v1/admin/officers", json=specialist, headers=as_admin)
        assert made.json()["agency_roles"] == ["specialist", "approver"]  # in the desk's order
        his_sign_in = await staff.sign_in(identity.http, specialist["email"], specialist["password"])
        his = jwt.decode(his_sign_in["access_token"], options={"verify_signature": False})
        assert his["agency_roles"] == ["specialist", "approver"]

        citizen = await identity.tokens(await identity.citizen())
        as_citizen = {"Authorization": f"Bearer {citizen['access_token']}"}
        other = _officer(identity)
        assert (await identity.http.post("/v1/admin/officers", json=other, headers=as_citizen)).status_code == 403
        assert (await identity.http.post("/v1/admin/officers", json=other)).status_code == 401

    async with launch(**{**ADMIN, "identity_bootstrap_admin_email": "second.admin@motcua.gov.vn"}) as identity:
        assert await identity.db.accounts.count_documents({"account_type": "admin"}) == 1  # one exists already


async def test_after_the_key_file_changes_tokens_signed_with_the_previous_key_still_verify(
    launch: Any, tmp_path: Any
) -> None:
    async with launch(identity_signing_key_file=tmp_path / "old.pem") as before:
        assert (tmp_path / "old.pem").stat().st_mode & 0o777 == 0o600
        who = await before.citizen()
        old = await before.tokens(who)
        old_kid = jwt.get_unverified_header(old["access_token"])["kid"]

    async with launch(identity_signing_key_file=tmp_path / "new.pem") as after:
        kids = [k["kid"] for k in (await after.http.get("/.well-known/jwks.json")).json()["keys"]]
        new_kid = jwt.get_unverified_header((await after.tokens(who))["access_token"])["kid"]
        assert kids[0] == new_kid
        assert old_kid in kids
        assert new_kid != old_kid
        me = await after.http.get("/v1/accounts/me", headers={"Authorization": f"Bearer {old['access_token']}"})
        assert me.status_code == 200
        verifier = TokenVerifier(
            issuer=after.settings.issuer, audience="motcua", jwks_url=f"{after.url}/.well-known/jwks.json"
        )
        assert (await verifier.verify(old["access_token"])).sub == who.id
        renewed = await after.http.post("/v1/auth/refresh", json={"refresh_token": old["refresh_token"]})
        assert jwt.get_unverified_header(renewed.json()["access_token"])["kid"] == new_kid

    async with launch(identity_signing_key_file=tmp_path / "old.pem") as back:
        kid = jwt.get_unverified_header((await back.tokens(who))["access_token"])["kid"]
        assert kid == old_kid  # the same file, the same key
