"""A forgotten password: the same answer for any address, a single-use link, every session signed out."""

from datetime import UTC, datetime, timedelta
from typing import Any

NEW_PASSWORD = "mưa phùn trên phố cổ tháng hai"


async def test_a_reset_link_sets_a_new_password_once_and_signs_out_every_session(identity: Any) -> None:
    who = await identity.citizen()
    session = await identity.tokens(who)
    for _ in range(4):
        await identity.login(who.email, "wrong password here")

    known = await identity.http.post("/v1/auth/password-reset", json={"email": who.email.upper()})
    unknown = await identity.http.post("/v1/auth/password-reset", json={"email": "nobody.at.all@example.vn"})
    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()
    malformed = await identity.http.post("/v1/auth/password-reset", json={"email": "nope"})
    assert malformed.status_code == 422
    assert malformed.json()["errors"][0]["pointer"] == "/email"

    event = (await identity.events.wait_for("PasswordResetRequested", who.id))[0].data
    assert identity.opened(event, "reset_url").startswith(f"{identity.settings.public_base}/reset-password?token=")
    assert timedelta(minutes=59) < event.expires_at - datetime.now(UTC) <= timedelta(hours=1)
    token = await identity.link_token(who.id, kind="PasswordResetRequested")

    weak = await identity.http.post(
        "/v1/auth/password-reset/confirm", json={"token": token, "new_password": "12345678"}
    )
    assert weak.status_code == 422
    assert weak.json()["errors"][0]["pointer"] == "/new_password"
    mine = await identity.http.post("/v1/auth/password-reset/confirm", json={"token": token, "new_password": who.email})
    assert mine.status_code == 422
    changed = await identity.http.post(
        "/v1/auth/password-reset/confirm", json={"token": token, "new_password": NEW_PASSWORD}
    )
    assert changed.status_code == 200
    assert changed.json() == {"status": "password_changed"}
    again = await identity.http.post(
        "/v1/auth/password-reset/confirm", json={"token": token, "new_password": NEW_PASSWORD + " again"}
    )
    assert again.status_code == 422
    assert again.json()["errors"][0]["pointer"] == "/token"

    assert (
        await identity.http.post("/v1/auth/refresh", json={"refresh_token": session["refresh_token"]})
    ).status_code == 401
    assert (await identity.login(who.email)).status_code == 401
    assert (await identity.login(who.email, NEW_PASSWORD)).status_code == 200  # the old failures were forgiven


async def test_an_expired_reset_link_is_refused_and_links_are_not_sent_more_than_once_a_minute(identity: Any) -> None:
    who = await identity.citizen()
    assert (await identity.http.post("/v1/auth/password-reset", json={"email": who.email})).status_code == 202
    await identity.events.wait_for("PasswordResetRequested", who.id)
    assert (await identity.http.post("/v1/auth/password-reset", json={"email": who.email})).status_code == 202
    await identity.db.accounts.update_one(
        {"_id": who.id}, {"$set": {"reset.expires_at": datetime.now(UTC) - timedelta(seconds=1)}}
    )
    token = await identity.link_token(who.id, kind="PasswordResetRequested")
    expired = await identity.http.post(
        "/v1/auth/password-reset/confirm", json={"token": token, "new_password": NEW_PASSWORD}
    )
    assert expired.status_code == 422
    assert len(await identity.events.wait_for("PasswordResetRequested", who.id)) == 1
    assert await identity.db.outbox.count_documents({"type": "motcua.identity.PasswordResetRequested.v1"}) == 1


async def test_one_address_asking_for_many_reset_links_is_slowed_down(launch: Any) -> None:
    async with launch(identity_resets_per_ip_per_hour=2) as identity:
        asker = {"X-Forwarded-For": "203.0.113.77"}
        for n in range(2):
            sent = await identity.http.post(
                "/v1/auth/password-reset", json={"email": f"x{n}@example.vn"}, headers=asker
            )
            assert sent.status_code == 202
        third = await identity.http.post("/v1/auth/password-reset", json={"email": "x3@example.vn"}, headers=asker)
        assert third.status_code == 429
        assert "retry-after" in third.headers
