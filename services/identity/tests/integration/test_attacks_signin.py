"""Attacks on sign-in, performed against the real service: each one now fails to get in (issue 16, items 1 and 3)."""

import asyncio
import time
from typing import Any

import pyotp
from structlog.testing import capture_logs


async def _with_two_factor(identity: Any) -> tuple[Any, pyotp.TOTP]:
    """An active citizen with TOTP on, and their authenticator."""
    who = await identity.citizen()
    bearer = {"Authorization": f"Bearer {(await identity.tokens(who))['access_token']}"}
    started = await identity.http.post("/v1/accounts/me/mfa/totp", json={"password": identity.password}, headers=bearer)
    totp = pyotp.TOTP(started.json()["secret"])
    confirmed = await identity.http.post("/v1/accounts/me/mfa/totp/confirm", json={"code": totp.now()}, headers=bearer)
    assert confirmed.status_code == 200, confirmed.text
    return who, totp


def _wrong(totp: pyotp.TOTP, n: int) -> str:
    """A six-digit code that is none of the codes accepted now (the current step and one either way)."""
    valid = {totp.at(time.time() + offset) for offset in (-60, -30, 0, 30, 60)}
    code = n
    while f"{code:06d}" in valid:
        code += 10
    return f"{code:06d}"


async def test_signing_in_again_with_the_password_does_not_reset_the_second_factor_guesses(identity: Any) -> None:
    who, totp = await _with_two_factor(identity)
    guessed = []
    for _round in range(3):  # the attacker knows the password: four guesses, a fresh challenge, four more
        challenge = await identity.login(who.email)
        if challenge.status_code != 200:
            guessed.append(challenge.status_code)
            break
        token = challenge.json()["mfa_token"]
        for n in range(4):
            answer = await identity.http.post("/v1/auth/mfa", json={"mfa_token": token, "code": _wrong(totp, n)})
            guessed.append(answer.status_code)
    assert guessed[:4] == [401, 401, 401, 401]
    assert guessed[4] == 429  # the fifth wrong code, from whichever challenge, locks the second factor
    assert guessed.count(401) == 4
    refused = await identity.login(who.email)  # the password alone no longer opens a challenge
    assert refused.status_code == 429
    assert "second-factor codes" in refused.json()["detail"]


async def test_a_full_sign_in_clears_the_second_factor_guesses(identity: Any) -> None:
    who, totp = await _with_two_factor(identity)
    token = (await identity.login(who.email)).json()["mfa_token"]
    for n in range(3):
        answer = await identity.http.post("/v1/auth/mfa", json={"mfa_token": token, "code": _wrong(totp, n)})
        assert answer.status_code == 401
    next_step = totp.at(time.time() + 30)  # the enrolment spent the current step
    done = await identity.http.post("/v1/auth/mfa", json={"mfa_token": token, "code": next_step})
    assert done.status_code == 200, done.text
    token = (await identity.login(who.email)).json()["mfa_token"]
    for n in range(3):  # six wrong codes in all, but a full sign-in between them
        answer = await identity.http.post("/v1/auth/mfa", json={"mfa_token": token, "code": _wrong(totp, n)})
        assert answer.status_code == 401


async def test_addresses_inside_one_ipv6_64_count_as_one_address(launch: Any) -> None:
    async with launch(identity_ip_lockout_threshold=3) as identity:
        answers = [
            await identity.login(f"guess{i}@example.vn", "hunter22", **{"X-Forwarded-For": f"2001:db8:7:9::{i + 1:x}"})
            for i in range(3)
        ]
        assert [a.status_code for a in answers] == [401, 401, 429]
        other = await identity.login("guess@example.vn", "hunter22", **{"X-Forwarded-For": "2001:db8:7:a::1"})
        assert other.status_code == 401  # the next /64 is another address


async def test_an_attacker_elsewhere_does_not_lock_the_owner_out(identity: Any) -> None:
    who = await identity.citizen()
    attacker = {"X-Forwarded-For": "203.0.113.9"}
    answers = [await identity.login(who.email, f"not my password {i}", **attacker) for i in range(6)]
    assert [a.status_code for a in answers] == [401, 401, 401, 401, 429, 429]
    assert (await identity.login(who.email, **attacker)).status_code == 429  # from there, even the right one waits
    owner = await identity.login(who.email, **{"X-Forwarded-For": "198.51.100.4"})
    assert owner.status_code == 200, owner.text


async def test_the_last_attempts_say_how_many_are_left_and_that_a_reset_unlocks(identity: Any) -> None:
    who = await identity.citizen()
    answers = [await identity.login(who.email, f"not my password {i}") for i in range(5)]
    assert [a.json().get("attempts_left") for a in answers[:4]] == [4, 3, 2, 1]
    assert "1 attempt" in answers[3].json()["detail"]
    assert "reset" in answers[3].json()["detail"]
    assert answers[4].status_code == 429
    assert "a password reset lifts" in answers[4].json()["detail"]


async def test_a_password_reset_unlocks_the_account(identity: Any) -> None:
    who = await identity.citizen()
    for i in range(5):
        await identity.login(who.email, f"not my password {i}")
    assert (await identity.login(who.email)).status_code == 429
    await identity.http.post("/v1/auth/password-reset", json={"email": who.email})
    token = await identity.link_token(who.id, kind="PasswordResetRequested")
    new_password = "mưa rơi trên phố cổ Hội An"
    done = await identity.http.post(
        "/v1/auth/password-reset/confirm", json={"token": token, "new_password": new_password}
    )
    assert done.status_code == 200, done.text
    assert (await identity.login(who.email, new_password)).status_code == 200


async def test_a_hundred_concurrent_wrong_logins_verify_only_the_allowed_attempts(launch: Any) -> None:
    async with launch(log_level="INFO") as identity:  # each checked password logs sign_in_failed (at info)
        who = await identity.citizen()
        with capture_logs() as logs:
            answers = await asyncio.gather(*(identity.login(who.email, f"guess number {i}") for i in range(100)))
    verified = [e for e in logs if e["event"] == "sign_in_failed"]
    assert 1 <= len(verified) <= 5, f"{len(verified)} of 100 concurrent guesses had their password checked"
    # 503: the service's own admission control shed the request before doing anything (issue 24)
    assert {a.status_code for a in answers} <= {401, 429, 503}
    assert sum(a.status_code == 401 for a in answers) <= 5
