"""Two-factor sign-in: enrol, confirm, then every sign-in needs a TOTP code or a single-use recovery code."""

import time
from typing import Any

import pyotp


async def test_two_factor_sign_in_with_an_app_code_and_with_each_recovery_code_once(identity: Any) -> None:
    who = await identity.citizen()
    bearer = {"Authorization": f"Bearer {(await identity.tokens(who))['access_token']}"}
    assert (
        await identity.http.post("/v1/accounts/me/mfa/totp/confirm", json={"code": "123456"}, headers=bearer)
    ).status_code == 409  # nothing started

    started = await identity.http.post("/v1/accounts/me/mfa/totp", json={"password": identity.password}, headers=bearer)
    assert started.status_code == 200
    secret = started.json()["secret"]
    assert started.json()["otpauth_uri"].startswith("otpauth://totp/Mot%20Cua:")
    totp = pyotp.TOTP(secret)
    wrong = await identity.http.post(
        "/v1/accounts/me/mfa/totp/confirm", json={"code": f"{(int(totp.now()) + 1) % 10**6:06d}"}, headers=bearer
    )
    assert wrong.status_code == 422
    assert wrong.json()["errors"][0]["pointer"] == "/code"
    enrolled_with = totp.now()
    confirmed = await identity.http.post(
        "/v1/accounts/me/mfa/totp/confirm", json={"code": enrolled_with}, headers=bearer
    )
    assert confirmed.status_code == 200
    recovery = confirmed.json()["recovery_codes"]
    assert len(recovery) == 10
    assert len(set(recovery)) == 10
    stored = await identity.db.accounts.find_one({"_id": who.id})
    assert not set(recovery) & set(stored["mfa"]["recovery"])  # only digests are kept
    assert (await identity.http.get("/v1/accounts/me", headers=bearer)).json()["mfa_enabled"] is True
    assert (
        await identity.http.post("/v1/accounts/me/mfa/totp", json={"password": identity.password}, headers=bearer)
    ).status_code == 409

    async def password_step() -> str:
        first = await identity.login(who.email)
        assert first.status_code == 200
        assert first.json()["mfa_required"] is True
        assert "access_token" not in first.json()
        return str(first.json()["mfa_token"])

    async def second(mfa_token: str, code: str):  # type: ignore[no-untyped-def]
        return await identity.http.post("/v1/auth/mfa", json={"mfa_token": mfa_token, "code": code})

    challenge = await password_step()
    assert (await second(challenge, enrolled_with)).status_code == 401  # the code used to confirm is spent
    with_app = await second(challenge, totp.at(time.time() + 30))  # the next step, within the allowed drift
    assert with_app.status_code == 200, with_app.text
    assert "access_token" in with_app.json()
    assert (await second(challenge, recovery[0])).status_code == 401  # a challenge completes once

    first_code = recovery[0].upper().replace("-", " ")  # however it is typed
    assert (await second(await password_step(), first_code)).status_code == 200
    reused = await second(await password_step(), recovery[0])
    assert reused.status_code == 401
    assert (await second(await password_step(), recovery[1])).status_code == 200
    assert len((await identity.db.accounts.find_one({"_id": who.id}))["mfa"]["recovery"]) == 8

    unknown = await second("not-a-challenge", "123456")
    assert unknown.status_code == 401
    spent = await password_step()
    answers = [await second(spent, "000000") for _ in range(5)]
    assert [a.status_code for a in answers] == [401, 401, 401, 401, 429]  # wrong codes lock like wrong passwords
    assert (await second(spent, recovery[2])).status_code == 401  # and this challenge is used up
    assert (await identity.login(who.email)).status_code == 429
