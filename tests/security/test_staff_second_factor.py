"""Issue 16, item 6, through the gateway of a running platform: an officer's or admin's password alone opens
nothing but enrolment (ASVS 6.3.3), an access token alone cannot add, remove or replace a second factor, and a
passkey made for the portal's own origin signs an officer in while one made elsewhere does not."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from motcua.devtools import devservers, staff
from motcua.devtools.authenticator import SoftwareAuthenticator
from motcua.devtools.testing import running_platform

ADMIN_EMAIL = "quantri.baomat@motcua.example.vn"
ADMIN_PASSWORD = "Quản-trị-Bảo-Mật-Hai-Lớp-2026"
OFFICER_PASSWORD = "Một cửa phường Hoàn Kiếm tiếp dân 2026"


@pytest.fixture(scope="module")
async def gateway(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[tuple[httpx.AsyncClient, devservers.Platform]]:
    """One platform for the module; each test works on officers of its own, so none depends on another's."""
    overrides = {"IDENTITY_BOOTSTRAP_ADMIN_EMAIL": ADMIN_EMAIL, "IDENTITY_BOOTSTRAP_ADMIN_PASSWORD": ADMIN_PASSWORD}
    async with (
        running_platform(tmp_path_factory.mktemp("staff-second-factor") / "var", overrides) as platform,
        httpx.AsyncClient(base_url=platform.url("gateway"), timeout=30) as client,
    ):
        yield client, platform


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def new_officer(client: httpx.AsyncClient) -> dict[str, str]:
    """An officer the admin has just created: the credentials of their first sign-in."""
    admin = bearer(await staff.access_token(client, ADMIN_EMAIL, ADMIN_PASSWORD))
    officer = {
        "full_name": "Lê Thị Cán Bộ",
        "email": f"canbo.{uuid.uuid4().hex[:8]}@ubnd.example.vn",
        "phone": "098" + "".join(secrets.choice("0123456789") for _ in range(7)),
        "password": OFFICER_PASSWORD,
        "agency_code": "UBND-XA",
    }
    created = await client.post("/v1/admin/officers", json=officer, headers=admin)
    assert created.status_code == 201, created.text
    return {"username": officer["email"], "password": OFFICER_PASSWORD}


async def refused_everywhere(client: httpx.AsyncClient, token: str) -> None:
    """What an attacker holding a password tries with the token it got: every service refuses it."""
    for method, path, body in (
        ("POST", "/v1/admin/officers", {}),
        ("GET", "/v1/accounts/me", None),
        ("POST", "/v1/procedures", {}),
        ("GET", "/v1/agency/applications", None),
        ("GET", "/v1/webhooks", None),
        ("GET", "/v1/notifications", None),
    ):
        refused = await client.request(method, path, json=body, headers=bearer(token))
        assert refused.status_code == 401, (path, refused.status_code, refused.text)
        assert refused.headers["content-type"] == "application/problem+json"


async def test_the_password_alone_opens_no_service_to_an_admin_or_an_officer(gateway: Any) -> None:
    client, _ = gateway
    # the admin's password: before enrolment it gives an enrolment token, after it a second-factor step; neither
    # is an access token, and no service takes either
    answer = (await client.post("/v1/auth/login", json={"username": ADMIN_EMAIL, "password": ADMIN_PASSWORD})).json()
    assert "access_token" not in answer
    assert answer.get("mfa_enrolment_required") or answer.get("mfa_required"), answer
    await refused_everywhere(client, answer.get("enrolment_token") or answer["mfa_token"])
    # an officer's, at their first sign-in: enrolment only
    credentials = await new_officer(client)
    first = (await client.post("/v1/auth/login", json=credentials)).json()
    assert first["mfa_enrolment_required"] is True
    assert "access_token" not in first
    await refused_everywhere(client, first["enrolment_token"])
    signed_in = await staff.sign_in(client, credentials["username"], credentials["password"])
    assert (await client.get("/v1/agency/applications", headers=bearer(signed_in["access_token"]))).status_code == 200
    # and once enrolled, the password alone gives the second-factor step, which opens nothing either
    again = (await client.post("/v1/auth/login", json=credentials)).json()
    assert again["mfa_required"] is True
    assert "access_token" not in again
    await refused_everywhere(client, again["mfa_token"])


async def test_a_stolen_access_token_cannot_change_the_second_factors(gateway: Any) -> None:
    client, _ = gateway
    credentials = await new_officer(client)
    stolen = bearer((await staff.sign_in(client, credentials["username"], credentials["password"]))["access_token"])
    for path, body in (
        ("/v1/accounts/me/mfa/webauthn/register/options", None),
        ("/v1/accounts/me/mfa/webauthn/register/options", {"password": "đoán bừa"}),
        ("/v1/accounts/me/mfa/totp/remove", {"password": "đoán bừa"}),
        ("/v1/accounts/me/mfa/recovery-codes", {"password": "đoán bừa"}),
    ):
        refused = await client.post(path, json=body, headers=stolen)
        assert refused.status_code in (401, 422), (path, refused.text)
    # the guesses counted: two more and the account is locked, for the thief and at the sign-in page alike
    for _ in range(2):
        await client.post("/v1/accounts/me/mfa/recovery-codes", json={"password": "đoán bừa"}, headers=stolen)
    locked = await client.post("/v1/auth/login", json=credentials)
    assert locked.status_code == 429


async def test_an_officer_signs_in_with_a_passkey_of_the_portal_and_not_with_one_made_elsewhere(gateway: Any) -> None:
    client, platform = gateway
    origin = platform.env["PUBLIC_BASE_URL"]
    token = (await client.post("/v1/auth/login", json=await new_officer(client))).json()
    enrolling = bearer(token["enrolment_token"])
    device = SoftwareAuthenticator(origin)
    options = (await client.post("/v1/accounts/me/mfa/webauthn/register/options", headers=enrolling)).json()
    assert options["public_key"]["rp"]["id"] == "127.0.0.1"  # PUBLIC_BASE_URL's host
    added = await client.post(
        "/v1/accounts/me/mfa/webauthn/register/verify",
        json={"ceremony_id": options["ceremony_id"], "credential": device.create(options["public_key"])},
        headers=enrolling,
    )
    assert added.status_code == 201, added.text

    async def with_passkey(origin: str) -> httpx.Response:
        started = (await client.post("/v1/auth/webauthn/options", json={})).json()
        assertion = device.get(started["public_key"], origin=origin)
        answer: httpx.Response = await client.post(
            "/v1/auth/webauthn/verify", json={"ceremony_id": started["ceremony_id"], "credential": assertion}
        )
        return answer

    phished = await with_passkey("https://motcua-gov.example")
    assert phished.status_code == 401
    signed_in = await with_passkey(origin)
    assert signed_in.status_code == 200, signed_in.text
    me = await client.get("/v1/accounts/me", headers=bearer(signed_in.json()["access_token"]))
    assert me.json()["roles"] == ["officer"]
