"""Officers and admins must have a second factor (ASVS 6.3.3): until they enrol, the password yields only a token
that can enrol, and every other route refuses it. Enrolling, removing a factor and new recovery codes need the
password again, counted like any other secret check."""

import time
from typing import Any

import jwt
import pyotp
import pytest
from motcua.identity.settings import Settings
from pydantic import ValidationError

ADMIN = {
    "identity_bootstrap_admin_email": "quantri.2fa@motcua.gov.vn",
    "identity_bootstrap_admin_password": "quản trị một cửa an toàn",
}
ADMIN_PASSWORD = ADMIN["identity_bootstrap_admin_password"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def enrolment_of(identity: Any, username: str, password: str) -> str:
    answer = await identity.login(username, password)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body.get("mfa_enrolment_required") is True, body
    assert "access_token" not in body
    assert "refresh_token" not in body
    return str(body["enrolment_token"])


async def test_an_admin_without_a_second_factor_gets_only_a_token_that_can_enrol(launch: Any) -> None:
    async with launch(**ADMIN) as identity:
        token = await enrolment_of(identity, ADMIN["identity_bootstrap_admin_email"], ADMIN_PASSWORD)
        claims = jwt.decode(token, options={"verify_signature": False})
        assert claims["typ"] == "enrolment"
        assert claims["aud"] != identity.settings.token_audience  # other services' token checks refuse it
        assert claims["exp"] - claims["iat"] <= identity.settings.identity_enrolment_token_ttl_seconds

        # the attack: use the enrolment token as an access token anywhere else
        for method, path, body in (
            ("GET", "/v1/accounts/me", None),
            ("POST", "/v1/admin/officers", {"full_name": "X", "email": "x@y.vn", "phone": "0912345678"}),
            ("POST", "/v1/auth/logout", {"refresh_token": "x"}),
            ("POST", "/v1/accounts/me/mfa/recovery-codes", {"password": ADMIN_PASSWORD}),
            ("POST", "/v1/accounts/me/mfa/totp/remove", {"password": ADMIN_PASSWORD}),
        ):
            refused = await identity.http.request(method, path, json=body, headers=bearer(token))
            assert refused.status_code in (401, 403), (path, refused.text)
            assert refused.headers["content-type"] == "application/problem+json"

        started = await identity.http.post("/v1/accounts/me/mfa/totp", headers=bearer(token))
        assert started.status_code == 200, started.text
        totp = pyotp.TOTP(started.json()["secret"])
        confirmed = await identity.http.post(
            "/v1/accounts/me/mfa/totp/confirm", json={"code": totp.now()}, headers=bearer(token)
        )
        assert confirmed.status_code == 200, confirmed.text
        assert len(confirmed.json()["recovery_codes"]) == 10
        # enrolled: the enrolment token has done its work and opens nothing more
        again = await identity.http.post("/v1/accounts/me/mfa/totp", headers=bearer(token))
        assert again.status_code in (401, 403, 409)

        challenge = await identity.login(ADMIN["identity_bootstrap_admin_email"], ADMIN_PASSWORD)
        assert challenge.json()["mfa_required"] is True
        tokens = await identity.http.post(
            "/v1/auth/mfa", json={"mfa_token": challenge.json()["mfa_token"], "code": totp.at(time.time() + 30)}
        )
        assert tokens.status_code == 200, tokens.text
        me = await identity.http.get("/v1/accounts/me", headers=bearer(tokens.json()["access_token"]))
        assert me.json()["mfa_enabled"] is True


async def test_an_officer_must_enrol_before_getting_tokens_and_a_citizen_need_not(launch: Any) -> None:
    async with launch(**ADMIN) as identity:
        admin_token = await enrolment_of(identity, ADMIN["identity_bootstrap_admin_email"], ADMIN_PASSWORD)
        refused = await identity.http.post("/v1/admin/officers", json={}, headers=bearer(admin_token))
        assert refused.status_code == 401

        citizen = await identity.citizen()
        assert "access_token" in (await identity.tokens(citizen))


async def test_with_an_access_token_enrolling_needs_the_password_and_wrong_ones_count_towards_the_lockout(
    identity: Any,
) -> None:
    who = await identity.citizen()
    access = bearer((await identity.tokens(who))["access_token"])
    missing = await identity.http.post("/v1/accounts/me/mfa/totp", headers=access)
    assert missing.status_code == 422
    assert "/password" in [e["pointer"] for e in missing.json()["errors"]]
    # someone at an unlocked screen guesses the password to put their own authenticator on the account
    wrong = [
        await identity.http.post("/v1/accounts/me/mfa/totp", json={"password": f"guess {n}"}, headers=access)
        for n in range(5)
    ]
    assert [w.status_code for w in wrong] == [401, 401, 401, 401, 429]
    assert (await identity.login(who.email)).status_code == 429  # the same lockout as sign-in


async def test_the_rule_can_be_relaxed_only_in_development(tmp_path: Any) -> None:
    with pytest.raises(ValidationError, match="IDENTITY_STAFF_SECOND_FACTOR_REQUIRED"):
        Settings(identity_staff_second_factor_required=False)
    relaxed = Settings(identity_staff_second_factor_required=False, deployment_environment="development")
    assert relaxed.identity_staff_second_factor_required is False
    assert Settings().identity_staff_second_factor_required is True
