"""Passkeys (WebAuthn): several per account, passwordless or as the second factor, challenges used once, the
signature counter checked, the relying party bound to PUBLIC_BASE_URL. A software authenticator drives real
ceremonies (EC P-256, attestation "none")."""

from typing import Any

import jwt
import pyotp
from motcua.devtools.authenticator import SoftwareAuthenticator

ADMIN = {
    "identity_bootstrap_admin_email": "quantri.passkey@motcua.gov.vn",
    "identity_bootstrap_admin_password": "quản trị một cửa an toàn",
}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def authenticator(identity: Any, **kwargs: Any) -> SoftwareAuthenticator:
    return SoftwareAuthenticator(identity.settings.webauthn_origin, **kwargs)


async def add_passkey(
    identity: Any, device: SoftwareAuthenticator, headers: dict[str, str], body: Any = None
) -> dict[str, Any]:
    options = await identity.http.post("/v1/accounts/me/mfa/webauthn/register/options", json=body, headers=headers)
    assert options.status_code == 200, options.text
    created = device.create(options.json()["public_key"])
    verified = await identity.http.post(
        "/v1/accounts/me/mfa/webauthn/register/verify",
        json={"ceremony_id": options.json()["ceremony_id"], "credential": created, "name": "Laptop"},
        headers=headers,
    )
    assert verified.status_code == 201, verified.text
    answer: dict[str, Any] = verified.json()
    return answer


async def passkey_sign_in(
    identity: Any, device: SoftwareAuthenticator, mfa_token: str | None = None, **get: Any
) -> Any:
    options = await identity.http.post("/v1/auth/webauthn/options", json={"mfa_token": mfa_token})
    assert options.status_code == 200, options.text
    assertion = device.get(options.json()["public_key"], **get)
    return await identity.http.post(
        "/v1/auth/webauthn/verify", json={"ceremony_id": options.json()["ceremony_id"], "credential": assertion}
    )


async def test_a_citizen_adds_two_passkeys_and_signs_in_with_either_without_a_password(identity: Any) -> None:
    who = await identity.citizen()
    access = bearer((await identity.tokens(who))["access_token"])
    no_password = await identity.http.post("/v1/accounts/me/mfa/webauthn/register/options", headers=access)
    assert no_password.status_code == 422
    assert no_password.json()["errors"][0]["pointer"] == "/password"

    laptop, phone = authenticator(identity), authenticator(identity)
    first = await add_passkey(identity, laptop, access, {"password": identity.password})
    assert len(first["recovery_codes"]) == 10  # the account's first second factor
    second = await add_passkey(identity, phone, access, {"password": identity.password})
    assert second["recovery_codes"] is None
    listed = (await identity.http.get("/v1/accounts/me/mfa/webauthn", headers=access)).json()["items"]
    assert {p["id"] for p in listed} == {first["passkey"]["id"], second["passkey"]["id"]}
    assert "public_key" not in listed[0]

    for device in (laptop, phone):
        signed_in = await passkey_sign_in(identity, device)
        assert signed_in.status_code == 200, signed_in.text
        claims = jwt.decode(signed_in.json()["access_token"], options={"verify_signature": False})
        assert claims["sub"] == who.id
        assert "mfa" in claims["amr"]

    # the password alone no longer signs in: a passkey (or a recovery code) must follow
    challenge = (await identity.login(who.email)).json()
    assert challenge["mfa_required"] is True
    assert challenge["methods"] == ["webauthn"]
    assert "access_token" not in challenge
    finished = await passkey_sign_in(identity, phone, challenge["mfa_token"])
    assert finished.status_code == 200, finished.text
    again = (await identity.login(who.email)).json()
    recovered = await identity.http.post(
        "/v1/auth/mfa", json={"mfa_token": again["mfa_token"], "code": first["recovery_codes"][0]}
    )
    assert recovered.status_code == 200, recovered.text


async def test_a_replayed_or_cloned_passkey_answer_is_refused(identity: Any) -> None:
    who = await identity.citizen()
    access = bearer((await identity.tokens(who))["access_token"])
    device = authenticator(identity)
    await add_passkey(identity, device, access, {"password": identity.password})

    options = (await identity.http.post("/v1/auth/webauthn/options", json={})).json()
    assertion = device.get(options["public_key"])
    body = {"ceremony_id": options["ceremony_id"], "credential": assertion}
    assert (await identity.http.post("/v1/auth/webauthn/verify", json=body)).status_code == 200
    replayed = await identity.http.post("/v1/auth/webauthn/verify", json=body)
    assert replayed.status_code == 401  # the challenge answered once
    assert replayed.headers["content-type"] == "application/problem+json"

    # a copy of the key whose counter does not move on: the counter says it is a clone
    cloned = await passkey_sign_in(identity, device, sign_count=1)
    assert cloned.status_code == 401
    assert (await passkey_sign_in(identity, device, sign_count=5)).status_code == 200


async def test_a_passkey_made_for_another_site_is_refused(identity: Any) -> None:
    who = await identity.citizen()
    access = bearer((await identity.tokens(who))["access_token"])
    phishing = SoftwareAuthenticator("https://motcua-gov.example")
    options = await identity.http.post(
        "/v1/accounts/me/mfa/webauthn/register/options", json={"password": identity.password}, headers=access
    )
    created = phishing.create(options.json()["public_key"])
    refused = await identity.http.post(
        "/v1/accounts/me/mfa/webauthn/register/verify",
        json={"ceremony_id": options.json()["ceremony_id"], "credential": created},
        headers=access,
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["pointer"] == "/credential"
    assert (await identity.http.get("/v1/accounts/me/mfa/webauthn", headers=access)).json()["items"] == []

    device = authenticator(identity)
    await add_passkey(identity, device, access, {"password": identity.password})
    elsewhere = await passkey_sign_in(identity, device, origin="https://motcua-gov.example")
    assert elsewhere.status_code == 401
    garbage = await identity.http.post(
        "/v1/auth/webauthn/verify", json={"ceremony_id": "x" * 40, "credential": {"id": "abc", "response": 3}}
    )
    assert garbage.status_code == 401


async def test_an_admin_enrols_a_passkey_with_the_enrolment_token_and_must_keep_a_factor(launch: Any) -> None:
    async with launch(**ADMIN) as identity:
        email, password = ADMIN["identity_bootstrap_admin_email"], ADMIN["identity_bootstrap_admin_password"]
        enrolment = (await identity.login(email, password)).json()["enrolment_token"]
        device = authenticator(identity)
        added = await add_passkey(identity, device, bearer(enrolment))
        assert len(added["recovery_codes"]) == 10

        challenge = (await identity.login(email, password)).json()
        assert challenge["methods"] == ["webauthn"]
        signed_in = await passkey_sign_in(identity, device, challenge["mfa_token"])
        assert signed_in.status_code == 200, signed_in.text
        access = bearer(signed_in.json()["access_token"])
        assert (await identity.http.get("/v1/accounts/me", headers=access)).json()["mfa_enabled"] is True

        only = await identity.http.post(
            f"/v1/accounts/me/mfa/webauthn/{added['passkey']['id']}/remove", json={"password": password}, headers=access
        )
        assert only.status_code == 409  # the last factor of an admin stays

        started = await identity.http.post("/v1/accounts/me/mfa/totp", json={"password": password}, headers=access)
        totp = pyotp.TOTP(started.json()["secret"])
        confirm = await identity.http.post(
            "/v1/accounts/me/mfa/totp/confirm", json={"code": totp.now()}, headers=access
        )
        assert confirm.status_code == 200, confirm.text
        wrong = await identity.http.post(
            f"/v1/accounts/me/mfa/webauthn/{added['passkey']['id']}/remove", json={"password": "no"}, headers=access
        )
        assert wrong.status_code == 401
        removed = await identity.http.post(
            f"/v1/accounts/me/mfa/webauthn/{added['passkey']['id']}/remove", json={"password": password}, headers=access
        )
        assert removed.status_code == 204
        assert (await identity.login(email, password)).json()["methods"] == ["totp"]
        assert (await passkey_sign_in(identity, device)).status_code == 401  # the removed passkey opens nothing


async def test_new_recovery_codes_and_removing_the_app_need_the_password(identity: Any) -> None:
    who = await identity.citizen()
    access = bearer((await identity.tokens(who))["access_token"])
    started = await identity.http.post("/v1/accounts/me/mfa/totp", json={"password": identity.password}, headers=access)
    totp = pyotp.TOTP(started.json()["secret"])
    old = (
        await identity.http.post("/v1/accounts/me/mfa/totp/confirm", json={"code": totp.now()}, headers=access)
    ).json()

    guessed = await identity.http.post("/v1/accounts/me/mfa/recovery-codes", json={"password": "x"}, headers=access)
    assert guessed.status_code == 401
    fresh = await identity.http.post(
        "/v1/accounts/me/mfa/recovery-codes", json={"password": identity.password}, headers=access
    )
    assert fresh.status_code == 200
    assert len(set(fresh.json()["recovery_codes"]) - set(old["recovery_codes"])) == 10
    stale = (await identity.login(who.email)).json()
    assert (
        await identity.http.post(
            "/v1/auth/mfa", json={"mfa_token": stale["mfa_token"], "code": old["recovery_codes"][0]}
        )
    ).status_code == 401
    assert (
        await identity.http.post(
            "/v1/auth/mfa", json={"mfa_token": stale["mfa_token"], "code": fresh.json()["recovery_codes"][0]}
        )
    ).status_code == 200

    off = await identity.http.post(
        "/v1/accounts/me/mfa/totp/remove", json={"password": identity.password}, headers=access
    )
    assert off.status_code == 204
    assert "access_token" in (await identity.login(who.email)).json()  # a citizen may go back to the password
