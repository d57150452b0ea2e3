"""Attacks on registration, against the real service: enumeration and citizen-ID squatting (issue 16, item 4)."""

from datetime import UTC, datetime, timedelta
from typing import Any

EVENT = "motcua.identity.DuplicateRegistrationAttempted.v1"


async def test_a_taken_email_phone_or_citizen_id_is_refused_without_saying_which(identity: Any) -> None:
    owner = await identity.citizen()
    answers = {
        field: await identity.http.post("/v1/accounts", json=identity.person(**{field: owner.body[field]}).body)
        for field in ("email", "phone", "national_id")
    }
    assert {field: a.status_code for field, a in answers.items()} == dict.fromkeys(answers, 409)
    bodies = [{k: v for k, v in a.json().items() if k != "request_id"} for a in answers.values()]
    assert bodies[0] == bodies[1] == bodies[2]  # the same answer whichever detail is taken
    said = bodies[0]["detail"].lower()
    assert not any(word in said for word in ("email", "phone", "citizen")), said
    assert "errors" not in bodies[0]


async def test_every_attempt_counts_against_the_address_limit_before_any_lookup(launch: Any) -> None:
    async with launch(identity_registrations_per_ip_per_hour=3) as identity:
        owner = await identity.citizen()
        prober = {"X-Forwarded-For": "203.0.113.77"}
        probes = [
            await identity.http.post("/v1/accounts", json=identity.person(email=owner.email).body, headers=prober)
            for _ in range(4)
        ]
        assert [p.status_code for p in probes] == [409, 409, 409, 429]
        assert int(probes[3].headers["retry-after"]) >= 1
        fresh = await identity.http.post("/v1/accounts", json=identity.person().body, headers=prober)
        assert fresh.status_code == 429  # a fresh detail from there waits too


async def test_the_owner_is_told_once_an_hour_that_someone_registered_with_their_details(identity: Any) -> None:
    owner = await identity.citizen()
    for _ in range(3):
        again = await identity.http.post("/v1/accounts", json=identity.person(phone=owner.phone).body)
        assert again.status_code == 409
    told = (await identity.events.wait_for("DuplicateRegistrationAttempted", owner.id))[0]
    assert told.data.email == owner.email
    assert told.data.channel == "sms"  # only the phone matched: the phone's holder is told
    assert await identity.db.outbox.count_documents({"type": EVENT, "key": owner.id.encode()}) == 1


async def test_a_pending_account_cannot_squat_a_citizen_id(identity: Any) -> None:
    victim = identity.person()
    squatter = await identity.register(identity.person(national_id=victim.body["national_id"]))
    registered = await identity.register(victim)  # the squatter never activates: the citizen ID is free
    await identity.activate(registered)
    token, code = await identity.secrets(squatter.id)
    assert (await identity.http.post("/v1/accounts/verify-email", json={"token": token})).status_code == 200
    late = await identity.http.post("/v1/accounts/verify-phone", json={"account_id": squatter.id, "code": code})
    assert late.status_code == 409, late.text
    stored = await identity.db.accounts.find_one({"_id": squatter.id})
    assert stored["status"] == "pending_verification"
    assert stored["phone_verified_at"] is None  # nothing half-written


async def test_pending_accounts_expire_after_the_configured_days(launch: Any) -> None:
    async with launch(identity_pending_account_ttl_days=2) as identity:
        who = await identity.register()
        stored = await identity.db.accounts.find_one({"_id": who.id})
        left = stored["pending_expires_at"].replace(tzinfo=UTC) - datetime.now(UTC)
        assert timedelta(days=2) - timedelta(minutes=1) < left <= timedelta(days=2)
        indexes = {i["name"]: i async for i in await identity.db.accounts.list_indexes()}
        assert indexes["pending_expiry"]["expireAfterSeconds"] == 0
        await identity.activate(who)
        assert "pending_expires_at" not in await identity.db.accounts.find_one({"_id": who.id})


async def test_a_full_name_carrying_markup_digits_or_symbols_is_refused_naming_the_field(identity: Any) -> None:
    for name in ('<img src=x onerror="alert(1)">', "An 1234", "Nguyễn Thị An 😀", '=HYPERLINK("http://x")', "An@Bình"):
        refused = await identity.http.post("/v1/accounts", json=identity.person(full_name=name).body)
        assert refused.status_code == 422, (name, refused.text)
        assert [e["pointer"] for e in refused.json()["errors"]] == ["/full_name"], name
    assert await identity.db.accounts.count_documents({}) == 0
    decomposed = "Nguye\u0302\u0303n Thi\u0323 A\u0301nh"  # Vietnamese typed with combining marks
    for name in ("Nguyễn Thị Ánh-Hồng", "O'Brien Trần", "Trần V. Bình", decomposed, "Đặng Thị Ngọc Hân"):
        who = identity.person(full_name=name, password="đèn lồng đỏ treo trên cầu Nhật Bản")
        created = await identity.http.post("/v1/accounts", json=who.body)
        assert created.status_code == 201, (name, created.text)


async def test_an_upgrade_drops_the_old_citizen_id_index_that_let_pending_accounts_squat(launch: Any) -> None:
    async with launch() as before:  # the index of the version before, as a database upgraded from it has
        await before.db.accounts.create_index(
            "national_id",
            unique=True,
            name="national_id_unique",
            partialFilterExpression={"national_id": {"$type": "string"}},
        )
    async with launch() as upgraded:
        names = {i["name"] async for i in await upgraded.db.accounts.list_indexes()}
        assert "national_id_unique" not in names
        assert "national_id_unique_active" in names
        nid = upgraded.person().body["national_id"]
        await upgraded.register(upgraded.person(national_id=nid))
        await upgraded.register(upgraded.person(national_id=nid))  # two pending: neither holds it
