"""Attacks on sign-in through the gateway (issue 16, items 1 and 3): each one now fails to get in."""

from __future__ import annotations

import secrets
import time
import uuid
from typing import Any
from urllib.parse import unquote

import httpx
import pyotp
from motcua.devtools.testing_messages import Outbox

PASSWORD = "Sông Hồng chảy qua bốn mùa 2026"


async def citizen(gateway: httpx.AsyncClient, outbox: Outbox) -> dict[str, Any]:
    """A registered and activated citizen, through the gateway, with the email link and the SMS code."""
    person = {
        "account_type": "individual",
        "full_name": "Lê Thị Hoa",
        "email": f"hoa.{uuid.uuid4().hex[:8]}@example.vn",
        "phone": "091" + "".join(secrets.choice("0123456789") for _ in range(7)),
        "password": PASSWORD,
        "national_id": "001190" + "".join(secrets.choice("0123456789") for _ in range(6)),
    }
    created = await gateway.post("/v1/accounts", json=person)
    assert created.status_code == 201, created.text
    account = created.json()
    token = unquote(await outbox.mail.find(person["email"], r"/verify-email\?token=([^\s\"'<>]+)"))
    assert (await gateway.post("/v1/accounts/verify-email", json={"token": token})).status_code == 200
    code = await outbox.sms.find(account["phone"], r"\b(\d{6})\b")
    done = await gateway.post("/v1/accounts/verify-phone", json={"account_id": account["id"], "code": code})
    assert done.json()["status"] == "active", done.text
    return person


async def login(gateway: httpx.AsyncClient, person: dict[str, Any], password: str = PASSWORD) -> httpx.Response:
    return await gateway.post("/v1/auth/login", json={"username": person["email"], "password": password})


async def test_an_attacker_elsewhere_cannot_lock_the_owner_out(client_from: Any, outbox: Outbox) -> None:
    attacker, owner = client_from("127.0.0.23"), client_from("127.0.0.45")
    person = await citizen(owner, outbox)
    answers = [await login(attacker, person, f"maybe {i}") for i in range(6)]
    assert [a.status_code for a in answers] == [401, 401, 401, 401, 429, 429]
    assert (await login(attacker, person)).status_code == 429  # from there even the right password waits
    signed_in = await login(owner, person)
    assert signed_in.status_code == 200, signed_in.text
    assert "access_token" in signed_in.json()
    assert answers[3].json()["attempts_left"] == 1


async def test_knowing_the_password_does_not_buy_more_second_factor_guesses(client_from: Any, outbox: Outbox) -> None:
    attacker, owner = client_from("127.0.0.67"), client_from("127.0.0.89")
    person = await citizen(owner, outbox)
    first = (await login(owner, person)).json()
    bearer = {"Authorization": f"Bearer {first['access_token']}"}
    totp = pyotp.TOTP(
        (await owner.post("/v1/accounts/me/mfa/totp", json={"password": PASSWORD}, headers=bearer)).json()["secret"]
    )
    assert (await owner.post("/v1/accounts/me/mfa/totp/confirm", json={"code": totp.now()}, headers=bearer)).is_success
    accepted = {totp.at(time.time() + s) for s in (-60, -30, 0, 30, 60)}
    wrong = iter(f"{n:06d}" for n in range(0, 10**6, 7919) if f"{n:06d}" not in accepted)
    statuses = []
    for _ in range(3):  # four guesses per challenge, then the password again for a fresh one
        challenge = await login(attacker, person)
        if challenge.status_code != 200:
            statuses.append(challenge.status_code)
            break
        for _ in range(4):
            guess = {"mfa_token": challenge.json()["mfa_token"], "code": next(wrong)}
            statuses.append((await attacker.post("/v1/auth/mfa", json=guess)).status_code)
    assert statuses[:5] == [401, 401, 401, 401, 429]
    assert statuses.count(401) == 4  # five wrong codes in all, whichever challenge and whatever the password did
    assert (await login(owner, person)).status_code == 429  # the second factor is locked from everywhere
