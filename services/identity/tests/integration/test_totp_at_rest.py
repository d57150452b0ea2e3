"""TOTP secrets at rest: sealed in the database, rotated by key, read when stored in plain before, and
refused (never a 500, never guessed) when they do not open."""

import base64
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pyotp
from motcua.identity.sealing import KEY_FILE_NAME, Sealer, key_id
from structlog.testing import capture_logs

KEY_A = base64.b64encode(b"A" * 32).decode()
KEY_B = base64.b64encode(bytes(range(32))).decode()
KEY_C = base64.b64encode(b"\xc3" * 32).decode()


async def enrol(identity: Any, who: Any) -> tuple[pyotp.TOTP, list[str]]:
    """Turn two-factor on for `who`; the authenticator app, and the recovery codes."""
    bearer = {"Authorization": f"Bearer {(await identity.tokens(who))['access_token']}"}
    started = await identity.http.post("/v1/accounts/me/mfa/totp", json={"password": identity.password}, headers=bearer)
    assert started.status_code == 200, started.text
    secret = started.json()["secret"]
    waiting = (await identity.db.accounts.find_one({"_id": who.id}))["mfa_enrolment"]
    assert secret not in repr(waiting)  # sealed while the enrolment waits too
    totp = pyotp.TOTP(secret)
    confirmed = await identity.http.post("/v1/accounts/me/mfa/totp/confirm", json={"code": totp.now()}, headers=bearer)
    assert confirmed.status_code == 200, confirmed.text
    return totp, confirmed.json()["recovery_codes"]


async def second_factor(identity: Any, who: Any, code: str) -> Any:
    """Sign in with the password, then answer the challenge with `code`."""
    first = await identity.login(who.email)
    assert first.status_code == 200, first.text
    return await identity.http.post("/v1/auth/mfa", json={"mfa_token": first.json()["mfa_token"], "code": code})


async def with_app_code(identity: Any, who: Any, totp: pyotp.TOTP) -> Any:
    """Sign in with the app's code; every code before it is forgotten, so a test may sign in again."""
    await identity.db.accounts.update_one({"_id": who.id}, {"$set": {"mfa.last_step": 0}})
    return await second_factor(identity, who, totp.at(time.time()))


async def stored_secret(identity: Any, who: Any) -> Any:
    return (await identity.db.accounts.find_one({"_id": who.id}))["mfa"]["secret"]


def assert_sealed(stored: Any, secret: str, key: str) -> None:
    assert isinstance(stored, dict), stored
    assert stored["kid"] == key_id(base64.b64decode(key))
    assert len(stored["nonce"]) == 12
    assert secret not in repr(stored)
    assert base64.b32decode(secret) not in stored["ciphertext"]


def assert_refused(response: Any) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["status"] == 503
    assert problem["title"] == "Two-factor check unavailable"
    assert "recovery code" in problem["detail"]


async def test_the_stored_secret_is_sealed_and_codes_still_sign_in(identity: Any) -> None:
    who = await identity.citizen()
    with capture_logs() as logs:
        totp, _ = await enrol(identity, who)
        doc = await identity.db.accounts.find_one({"_id": who.id})
        key_file = identity.key_file.parent / KEY_FILE_NAME  # no setting: generated beside the signing key
        assert key_file.stat().st_mode & 0o777 == 0o600
        assert_sealed(doc["mfa"]["secret"], totp.secret, key_file.read_text().strip())
        assert totp.secret not in repr(doc)

        signed_in = await second_factor(identity, who, totp.at(time.time() + 30))
        assert signed_in.status_code == 200, signed_in.text
        assert "access_token" in signed_in.json()
    assert totp.secret not in repr(logs)
    assert key_file.read_text().strip() not in repr(logs)


async def test_a_new_key_seals_and_the_old_one_still_opens(launch: Any) -> None:
    async with launch(identity_totp_encryption_keys=KEY_A) as before:
        who, later = await before.citizen(), await before.citizen()
        totp, _ = await enrol(before, who)
        late_totp, _ = await enrol(before, later)
        assert_sealed(await stored_secret(before, who), totp.secret, KEY_A)

    async with launch(identity_totp_encryption_keys=f"{KEY_B},{KEY_A}") as rotated:
        # At start, what the old key sealed is sealed again with the new one.
        await rotated.settled("totp-secret-sealing")
        assert_sealed(await stored_secret(rotated, who), totp.secret, KEY_B)
        assert (await with_app_code(rotated, who, totp)).status_code == 200

        # A replica still on the old key enrols someone during the rollout: the old key opens it, and
        # the first accepted code has it sealed with the new key.
        old_replica = Sealer([base64.b64decode(KEY_A)])
        await rotated.db.accounts.update_one(
            {"_id": later.id}, {"$set": {"mfa.secret": old_replica.seal(late_totp.secret, later.id)}}
        )
        assert (await with_app_code(rotated, later, late_totp)).status_code == 200
        assert_sealed(await stored_secret(rotated, later), late_totp.secret, KEY_B)

    async with launch(identity_totp_encryption_keys=KEY_B) as retired:  # the old key is gone
        assert (await with_app_code(retired, who, totp)).status_code == 200
        assert (await with_app_code(retired, later, late_totp)).status_code == 200


async def counted_codes(identity: Any, account_id: str) -> list[Any]:
    """The wrong second-factor codes counted against the account."""
    counter = await identity.db.throttles.find_one({"_id": f"mfa:{account_id}"})
    return list((counter or {}).get("failures", []))


async def test_a_secret_moved_or_altered_fails_closed_and_recovery_codes_still_work(identity: Any) -> None:
    owner, other = await identity.citizen(), await identity.citizen()
    owner_totp, _ = await enrol(identity, owner)
    _, other_recovery = await enrol(identity, other)
    await identity.db.accounts.update_one(
        {"_id": other.id}, {"$set": {"mfa.secret": await stored_secret(identity, owner)}}
    )
    with capture_logs() as logs:
        moved = await with_app_code(identity, other, owner_totp)
    assert_refused(moved)
    refusal = [e for e in logs if e["event"] == "totp_secret_unreadable"]
    assert [(e["log_level"], e["account_id"]) for e in refusal] == [("error", other.id)]
    assert owner_totp.secret not in repr(logs)
    assert not await counted_codes(identity, other.id)  # not the person's guess
    assert (await second_factor(identity, other, other_recovery[0])).status_code == 200

    sealed = await stored_secret(identity, owner)
    flipped = bytes([sealed["ciphertext"][0] ^ 1]) + sealed["ciphertext"][1:]
    await identity.db.accounts.update_one({"_id": owner.id}, {"$set": {"mfa.secret.ciphertext": flipped}})
    assert_refused(await with_app_code(identity, owner, owner_totp))


async def test_a_secret_stored_in_plain_before_still_works_and_is_sealed(launch: Any) -> None:
    plain: dict[str, str] = {}
    now = datetime.now(UTC)

    async def store_plain(identity: Any, who: Any) -> None:
        """What the version before this one stored: the secret as it is."""
        mfa = {"secret": plain[who.id], "enabled_at": now, "last_step": 0, "recovery": []}
        await identity.db.accounts.update_one({"_id": who.id}, {"$set": {"mfa": mfa}})

    async with launch() as first:
        at_start, on_use, enrolling = [await first.citizen() for _ in range(3)]
        plain.update({who.id: pyotp.random_base32() for who in (at_start, on_use, enrolling)})
        await first.settled("totp-secret-sealing")
        await store_plain(first, at_start)
    async with launch() as identity:
        key = (identity.key_file.parent / KEY_FILE_NAME).read_text().strip()
        await identity.settled("totp-secret-sealing")
        assert_sealed(await stored_secret(identity, at_start), plain[at_start.id], key)  # sealed at start
        assert (await with_app_code(identity, at_start, pyotp.TOTP(plain[at_start.id]))).status_code == 200

        # Written by a replica of the old version during a rolling update, after the start-up pass.
        await store_plain(identity, on_use)
        assert (await with_app_code(identity, on_use, pyotp.TOTP(plain[on_use.id]))).status_code == 200
        assert_sealed(await stored_secret(identity, on_use), plain[on_use.id], key)

        # An enrolment the old version started is confirmed by this one, and sealed.
        bearer = {"Authorization": f"Bearer {(await identity.tokens(enrolling))['access_token']}"}
        waiting = {"secret": plain[enrolling.id], "expires_at": now + timedelta(minutes=15), "attempts": 0}
        await identity.db.accounts.update_one({"_id": enrolling.id}, {"$set": {"mfa_enrolment": waiting}})
        confirmed = await identity.http.post(
            "/v1/accounts/me/mfa/totp/confirm", json={"code": pyotp.TOTP(plain[enrolling.id]).now()}, headers=bearer
        )
        assert confirmed.status_code == 200, confirmed.text
        assert_sealed(await stored_secret(identity, enrolling), plain[enrolling.id], key)


async def test_a_wrong_key_fails_closed_with_problem_details(launch: Any) -> None:
    async with launch(identity_totp_encryption_keys=KEY_A) as before:
        who = await before.citizen()
        totp, recovery = await enrol(before, who)

    async with launch(identity_totp_encryption_keys=KEY_C) as wrong:
        await wrong.settled("totp-secret-sealing")  # it cannot open this account's secret, and goes on
        with capture_logs() as logs:  # (entered after start: starting configures logging afresh)
            refused = await with_app_code(wrong, who, totp)
        assert_refused(refused)
        assert refused.json()["instance"] == "/v1/auth/mfa"
        assert not await counted_codes(wrong, who.id)
        assert (await second_factor(wrong, who, recovery[0])).status_code == 200
        assert (await wrong.login(who.email)).status_code == 200  # the password step never reads it
    unreadable = [e for e in logs if e["event"] == "totp_secret_unreadable"]
    assert [(e["log_level"], e["account_id"]) for e in unreadable] == [("error", who.id)]
    assert unreadable[0]["kid"] == key_id(base64.b64decode(KEY_A))
    for secret in (totp.secret, KEY_A, KEY_C):
        assert secret not in repr(logs)
