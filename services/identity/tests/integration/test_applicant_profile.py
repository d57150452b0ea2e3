"""The applicant's profile for submission (issue 23): AccountProfileChanged on the compacted profile topic at
activation, with the details a filed dossier names and no secret of any kind."""

from __future__ import annotations

import asyncio
from typing import Any

from motcua.devtools import staff

PROFILE_FIELDS = {
    "account_id",
    "account_type",
    "full_name",
    "national_id",
    "tax_code",
    "organisation_name",
    "email",
    "phone",
    "changed_at",
}


async def test_an_individual_activated_publishes_their_profile_with_no_secret(identity: Any) -> None:
    who = await identity.register(identity.person(full_name="Nguyễn Thị Ánh", phone="0912 345 678"))
    token, code = await identity.secrets(who.id)
    assert (await identity.http.post("/v1/accounts/verify-email", json={"token": token})).status_code == 200
    await asyncio.sleep(0.5)  # half verified: not yet an applicant, nothing told
    assert [e for e in await identity.profiles.poll() if e.subject == who.id] == []
    verified = await identity.http.post("/v1/accounts/verify-phone", json={"account_id": who.id, "code": code})
    assert verified.json()["status"] == "active"

    [envelope] = await identity.profiles.wait_for("AccountProfileChanged", who.id)
    assert envelope.source == "/motcua/identity"
    profile = envelope.data.model_dump(mode="json")
    assert set(profile) == PROFILE_FIELDS
    assert {k: v for k, v in profile.items() if k != "changed_at"} == {
        "account_id": who.id,
        "account_type": "individual",
        "full_name": "Nguyễn Thị Ánh",
        "national_id": who.body["national_id"],
        "tax_code": None,
        "organisation_name": None,
        "email": who.email,
        "phone": "+84912345678",
    }
    # no secret: not the password nor its hash, not the link's token nor the SMS code, nothing sealed
    stored = await identity.db["accounts"].find_one({"_id": who.id})
    raw = envelope.data.model_dump_json()
    for secret in (token, code, identity.password, stored["password_hash"], "$argon2", '"sealed'):
        assert secret not in raw
    # the same account's activation event is on the account topic as before
    await identity.events.wait_for("AccountActivated", who.id)


async def test_a_business_profile_names_its_tax_code_and_its_name_and_staff_publish_none(launch: Any) -> None:
    admin_settings = {
        "identity_bootstrap_admin_email": "quantri.hoso@motcua.gov.vn",
        "identity_bootstrap_admin_password": "quản trị hồ sơ người nộp",
    }
    async with launch(**admin_settings) as identity:
        business = identity.person(
            account_type="business",
            full_name="Lê Văn Đức",
            national_id=None,
            tax_code="0101234567",
            organisation_name="Hộ kinh doanh Đức Lê",
        )
        who = await identity.citizen(business)
        [envelope] = await identity.profiles.wait_for("AccountProfileChanged", who.id)
        assert envelope.data.account_type == "business"
        assert (envelope.data.tax_code, envelope.data.organisation_name) == ("0101234567", "Hộ kinh doanh Đức Lê")
        assert envelope.data.national_id is None

        admin = await staff.sign_in(
            identity.http,
            admin_settings["identity_bootstrap_admin_email"],
            admin_settings["identity_bootstrap_admin_password"],
        )
        body = identity.person(national_id=None, full_name="Trần Văn Bình", agency_code="BTP").body
        del body["account_type"]
        created = await identity.http.post(
            "/v1/admin/officers", json=body, headers={"Authorization": f"Bearer {admin['access_token']}"}
        )
        assert created.status_code == 201, created.text
        await identity.directory.wait_for("OfficerProfileChanged", created.json()["id"])
        await asyncio.sleep(0.5)
        # officers and admins file no dossier: the profile topic holds the business alone
        assert {e.subject for e in await identity.profiles.poll()} == {who.id}


async def test_accounts_activated_before_profiles_existed_are_published_once_after_the_upgrade(launch: Any) -> None:
    async with launch() as identity:
        before = await identity.citizen(identity.person(full_name="Phạm Văn Cũ"))
        now = await identity.citizen(identity.person(full_name="Đặng Thị Mới"))
        await identity.profiles.wait_for("AccountProfileChanged", before.id)
        # as an account of the version before profiles looked: never published, and the pass never run
        await identity.db["accounts"].update_one({"_id": before.id}, {"$unset": {"profile_published_at": ""}})
        await identity.db["upgrade_passes"].delete_many({})

    async with launch() as upgraded:  # the first start of the new version publishes it, in the background
        published = await upgraded.profiles.wait_for("AccountProfileChanged", before.id, count=2)
        assert published[-1].data.full_name == "Phạm Văn Cũ"
        stored = await upgraded.db["accounts"].find_one({"_id": before.id})
        assert stored["profile_published_at"] is not None
        assert await upgraded.db["upgrade_passes"].count_documents({"_id": "applicant-profiles-v1"}) == 1

    async with launch() as again:  # later starts publish nothing more
        later = await again.citizen(again.person(full_name="Lý Văn Sau"))  # published after any backfill
        await again.profiles.wait_for("AccountProfileChanged", later.id)
        seen = await again.profiles.poll()
        assert [e.subject for e in seen].count(before.id) == 2
        assert [e.subject for e in seen].count(now.id) == 1
