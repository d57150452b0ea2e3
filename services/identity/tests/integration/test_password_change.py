"""A signed-in password change: the current password is a secret check like a sign-in, other sessions end,
and the owner is told by email of every security change (password, reset, second factor)."""

from typing import Any

import pyotp

NEW_PASSWORD = "mưa rơi trên phố cổ Hội An"


async def _change(identity: Any, access_token: str, current: str, new: str, **headers: str) -> Any:
    return await identity.http.post(
        "/v1/accounts/me/password",
        json={"current_password": current, "new_password": new},
        headers={"Authorization": f"Bearer {access_token}", **headers},
    )


async def test_a_password_change_ends_the_other_sessions_and_reissues_the_callers(identity: Any) -> None:
    who = await identity.citizen()
    here, elsewhere = await identity.tokens(who), await identity.tokens(who)
    changed = await _change(identity, here["access_token"], identity.password, NEW_PASSWORD)
    assert changed.status_code == 200, changed.text
    fresh = changed.json()
    assert set(fresh) >= {"access_token", "refresh_token", "expires_in"}
    for old in (here, elsewhere):
        refused = await identity.http.post("/v1/auth/refresh", json={"refresh_token": old["refresh_token"]})
        assert refused.status_code == 401
    assert (
        await identity.http.post("/v1/auth/refresh", json={"refresh_token": fresh["refresh_token"]})
    ).status_code == 200
    assert (await identity.login(who.email)).status_code == 401
    assert (await identity.login(who.email, NEW_PASSWORD)).status_code == 200
    told = (await identity.events.wait_for("AccountSecurityChanged", who.id))[0].data
    assert (told.change, told.email) == ("password_changed", who.email)
    assert NEW_PASSWORD not in told.model_dump_json()
    assert identity.password not in told.model_dump_json()


async def test_guessing_the_current_password_of_a_stolen_session_is_counted_and_locked(identity: Any) -> None:
    who = await identity.citizen()
    stolen = (await identity.tokens(who))["access_token"]
    answers = [await _change(identity, stolen, f"maybe this one {i}", NEW_PASSWORD) for i in range(5)]
    assert [a.status_code for a in answers] == [422, 422, 422, 422, 429]
    assert answers[0].json()["errors"][0]["pointer"] == "/current_password"
    assert answers[3].json()["attempts_left"] == 1
    right = await _change(identity, stolen, identity.password, NEW_PASSWORD)
    assert right.status_code == 429  # locked from here, even with the right one
    assert (await identity.login(who.email)).status_code == 429  # it is the same count as sign-in's


async def test_the_new_password_follows_the_strength_rule_and_nothing_changes_when_it_fails(identity: Any) -> None:
    who = await identity.citizen()
    token = (await identity.tokens(who))["access_token"]
    weak = await _change(identity, token, identity.password, "password1")
    assert weak.status_code == 422
    assert [e["pointer"] for e in weak.json()["errors"]] == ["/new_password"]
    mine = await _change(identity, token, identity.password, who.email)
    assert mine.status_code == 422
    missing = await identity.http.post(
        "/v1/accounts/me/password", json={"new_password": NEW_PASSWORD}, headers={"Authorization": f"Bearer {token}"}
    )
    assert missing.status_code == 422
    assert "/current_password" in [e["pointer"] for e in missing.json()["errors"]]
    assert (await identity.login(who.email)).status_code == 200
    assert await identity.db.outbox.count_documents({"type": "motcua.identity.AccountSecurityChanged.v1"}) == 0


async def test_a_reset_and_turning_on_two_factor_tell_the_owner(identity: Any) -> None:
    who = await identity.citizen()
    bearer = {"Authorization": f"Bearer {(await identity.tokens(who))['access_token']}"}
    secret = (
        await identity.http.post("/v1/accounts/me/mfa/totp", json={"password": identity.password}, headers=bearer)
    ).json()["secret"]
    confirm = {"code": pyotp.TOTP(secret).now()}
    assert (
        await identity.http.post("/v1/accounts/me/mfa/totp/confirm", json=confirm, headers=bearer)
    ).status_code == 200
    await identity.http.post("/v1/auth/password-reset", json={"email": who.email})
    token = await identity.link_token(who.id, kind="PasswordResetRequested")
    reset = {"token": token, "new_password": NEW_PASSWORD}
    assert (await identity.http.post("/v1/auth/password-reset/confirm", json=reset)).status_code == 200
    told = await identity.events.wait_for("AccountSecurityChanged", who.id, count=2)
    assert [e.data.change for e in told] == ["two_factor_enabled", "password_reset"]


async def test_new_recovery_codes_and_removing_the_app_tell_the_owner(identity: Any) -> None:
    who = await identity.citizen()
    bearer = {"Authorization": f"Bearer {(await identity.tokens(who))['access_token']}"}
    again = {"password": identity.password}
    secret = (await identity.http.post("/v1/accounts/me/mfa/totp", json=again, headers=bearer)).json()["secret"]
    confirm = {"code": pyotp.TOTP(secret).now()}
    assert (await identity.http.post("/v1/accounts/me/mfa/totp/confirm", json=confirm, headers=bearer)).is_success
    fresh = await identity.http.post("/v1/accounts/me/mfa/recovery-codes", json=again, headers=bearer)
    assert fresh.status_code == 200, fresh.text
    removed = await identity.http.post("/v1/accounts/me/mfa/totp/remove", json=again, headers=bearer)
    assert removed.status_code == 204, removed.text
    told = await identity.events.wait_for("AccountSecurityChanged", who.id, count=3)
    assert [e.data.change for e in told] == ["two_factor_enabled", "recovery_codes_regenerated", "two_factor_disabled"]
