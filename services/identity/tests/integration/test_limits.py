"""Lockouts and sending limits hold, with 429 and Retry-After, and are shared through the database."""

from datetime import UTC, datetime, timedelta
from typing import Any


async def test_five_failed_sign_ins_from_one_address_lock_it_out_of_the_account_for_fifteen_minutes(
    identity: Any,
) -> None:
    who = await identity.citizen()
    for attempt in range(1, 5):
        wrong = await identity.login(who.email, f"not my password {attempt}")
        assert wrong.status_code == 401
        assert wrong.json()["detail"].startswith("The username or password is incorrect.")
    locking = await identity.login(who.email, "not my password 5")
    assert locking.status_code == 429
    assert 840 <= int(locking.headers["retry-after"]) <= 900
    still = await identity.login(who.email)  # even the right password waits, from this address
    assert still.status_code == 429
    assert int(still.headers["retry-after"]) <= 900
    assert await identity.db.outbox.count_documents({"type": "motcua.identity.AccountLocked.v1"}) == 0

    ended = {"$set": {"locked_until": datetime.now(UTC) - timedelta(seconds=1)}}
    await identity.db.throttles.update_one({"_id": f"pair:account:{who.id}:127.0.0.1"}, ended)
    assert (await identity.login(who.email)).status_code == 200
    again = await identity.login(who.email, "wrong again")
    assert again.status_code == 401
    assert again.json()["attempts_left"] == 4  # the count started over


async def test_failures_from_many_addresses_lock_the_account_at_its_own_far_higher_count(launch: Any) -> None:
    async with launch(identity_account_lockout_threshold=7) as identity:
        who = await identity.citizen()
        answers = [
            await identity.login(who.email, "not my password", **{"X-Forwarded-For": f"198.51.100.{i}"})
            for i in range(1, 8)
        ]
        assert [a.status_code for a in answers] == [401] * 6 + [429]
        assert (await identity.login(who.email, **{"X-Forwarded-For": "192.0.2.1"})).status_code == 429
        locked = (await identity.events.wait_for("AccountLocked", who.id))[0].data
        assert locked.failed_attempts == 7
        assert timedelta(minutes=14) < locked.locked_until - datetime.now(UTC) <= timedelta(minutes=15)


async def test_a_missing_account_fails_and_locks_exactly_like_a_real_one(identity: Any) -> None:
    nobody = "nobody.here@example.vn"
    answers = [await identity.login(nobody, "some password") for _ in range(5)]
    assert [a.status_code for a in answers] == [401, 401, 401, 401, 429]
    assert answers[0].json()["detail"] == "The username or password is incorrect."
    assert await identity.db.outbox.count_documents({"type": "motcua.identity.AccountLocked.v1"}) == 0


async def test_one_address_failing_on_many_accounts_is_locked_out_but_others_are_not(launch: Any) -> None:
    async with launch(identity_ip_lockout_threshold=3) as identity:
        who = await identity.citizen()
        attacker = {"X-Forwarded-For": "203.0.113.9"}
        answers = [await identity.login(f"guess{i}@example.vn", "hunter22", **attacker) for i in range(3)]
        assert [a.status_code for a in answers] == [401, 401, 429]
        assert (await identity.login(who.email, **attacker)).status_code == 429
        assert (await identity.login(who.email, **{"X-Forwarded-For": "198.51.100.4"})).status_code == 200


async def test_messages_are_resent_at_most_once_a_minute_and_five_times_an_hour(identity: Any) -> None:
    who = await identity.register()
    too_soon = await identity.http.post(
        "/v1/accounts/resend-verification", json={"account_id": who.id, "channel": "sms"}
    )
    assert too_soon.status_code == 429
    assert 1 <= int(too_soon.headers["retry-after"]) <= 60
    old_token, old_code = await identity.secrets(who.id)

    async def age_sends(channel: str, times: list[datetime]) -> None:
        await identity.db.accounts.update_one({"_id": who.id}, {"$set": {f"{channel}_check.sent": times}})

    now = datetime.now(UTC)
    await age_sends("phone", [now - timedelta(minutes=2)])
    await age_sends("email", [now - timedelta(minutes=2)])
    for channel in ("sms", "email"):
        sent = await identity.http.post(
            "/v1/accounts/resend-verification", json={"account_id": who.id, "channel": channel}
        )
        assert sent.status_code == 202, sent.text
        assert sent.json()["channel"] == channel
    new_token, new_code = await identity.secrets(who.id, nth=2)
    assert (new_token, new_code) != (old_token, old_code)
    stale = await identity.http.post("/v1/accounts/verify-email", json={"token": old_token})
    assert stale.status_code == 422
    assert stale.json()["errors"][0]["pointer"] == "/token"

    await age_sends("phone", [now - timedelta(minutes=m) for m in (50, 40, 30, 20, 10)])
    capped = await identity.http.post("/v1/accounts/resend-verification", json={"account_id": who.id, "channel": "sms"})
    assert capped.status_code == 429
    assert 590 <= int(capped.headers["retry-after"]) <= 600

    assert (await identity.http.post("/v1/accounts/verify-email", json={"token": new_token})).status_code == 200
    done = await identity.http.post("/v1/accounts/resend-verification", json={"account_id": who.id, "channel": "email"})
    assert done.status_code == 409
    unknown = await identity.http.post(
        "/v1/accounts/resend-verification", json={"account_id": "no-such-account", "channel": "email"}
    )
    assert unknown.status_code == 404
    bad = await identity.http.post("/v1/accounts/resend-verification", json={"account_id": who.id, "channel": "fax"})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["pointer"] == "/channel"


async def test_an_sms_code_takes_five_guesses_then_only_a_new_code_helps(identity: Any) -> None:
    who = await identity.register()
    code = await identity.sms_code(who.id)
    wrong = f"{(int(code) + 1) % 10**6:06d}"

    async def verify(guess: str):  # type: ignore[no-untyped-def]
        return await identity.http.post("/v1/accounts/verify-phone", json={"account_id": who.id, "code": guess})

    not_digits = await verify("12ab56")
    assert not_digits.status_code == 422
    assert not_digits.json()["errors"][0]["pointer"] == "/code"
    answers = [await verify(wrong) for _ in range(5)]
    assert [a.status_code for a in answers] == [422] * 5
    assert "4 tries left" in answers[0].json()["errors"][0]["message"]
    assert "no tries left" in answers[4].json()["errors"][0]["message"]
    spent = await verify(code)  # the right code, too late
    assert spent.status_code == 429
    assert int(spent.headers["retry-after"]) >= 1

    await identity.db.accounts.update_one(
        {"_id": who.id}, {"$set": {"phone_check.sent": [datetime.now(UTC) - timedelta(minutes=5)]}}
    )
    assert (
        await identity.http.post("/v1/accounts/resend-verification", json={"account_id": who.id, "channel": "sms"})
    ).status_code == 202
    fresh = await identity.sms_code(who.id, nth=2)
    await identity.db.accounts.update_one(
        {"_id": who.id}, {"$set": {"phone_check.expires_at": datetime.now(UTC) - timedelta(seconds=1)}}
    )
    expired = await verify(fresh)
    assert expired.status_code == 422
    assert "expired" in expired.json()["errors"][0]["message"]
    assert (await verify("000000")).status_code == 422
    other = await identity.http.post("/v1/accounts/verify-phone", json={"account_id": "nope", "code": "123456"})
    assert other.status_code == 404


async def test_one_address_can_register_only_so_many_accounts_an_hour(launch: Any) -> None:
    async with launch(identity_registrations_per_ip_per_hour=2) as identity:
        office = {"X-Forwarded-For": "192.0.2.50"}
        await identity.register(**office)
        await identity.register(**office)
        third = await identity.http.post("/v1/accounts", json=identity.person().body, headers=office)
        assert third.status_code == 429
        assert 1 <= int(third.headers["retry-after"]) <= 3600
        await identity.register(**{"X-Forwarded-For": "192.0.2.51"})


async def test_guessing_links_or_refresh_tokens_from_one_address_locks_that_address(launch: Any) -> None:
    async with launch(identity_ip_lockout_threshold=3) as identity:
        guesser = {"X-Forwarded-For": "203.0.113.66"}
        guesses = [
            await identity.http.post("/v1/auth/refresh", json={"refresh_token": f"guess-{n}"}, headers=guesser)
            for n in range(3)
        ]
        assert [g.status_code for g in guesses] == [401, 401, 429]
        for path, body in (
            ("/v1/accounts/verify-email", {"token": "guess"}),
            ("/v1/auth/password-reset/confirm", {"token": "guess", "new_password": "mưa phùn trên phố cổ"}),
            ("/v1/auth/mfa", {"mfa_token": "guess", "code": "123456"}),
            ("/v1/auth/login", {"username": "a@example.vn", "password": "whatever it is"}),
        ):
            locked = await identity.http.post(path, json=body, headers=guesser)
            assert locked.status_code == 429, path
            assert int(locked.headers["retry-after"]) > 0
        elsewhere = await identity.http.post("/v1/accounts/verify-email", json={"token": "guess"})
        assert elsewhere.status_code == 422
