"""No password, code, link or token reaches the logs, whatever path a request takes."""

from typing import Any

from structlog.testing import capture_logs


async def test_no_secret_is_ever_logged(identity: Any) -> None:
    with capture_logs() as logs:
        who = await identity.register()
        token, code = await identity.secrets(who.id)
        await identity.http.post("/v1/accounts/verify-phone", json={"account_id": who.id, "code": "000000"})
        await identity.activate(who)
        tokens = await identity.tokens(who)
        await identity.login(who.email, "a wrong password typed here")
        await identity.http.post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
        await identity.http.post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})  # reuse
        await identity.http.post("/v1/auth/password-reset", json={"email": who.email})
        reset = await identity.link_token(who.id, kind="PasswordResetRequested")
        await identity.http.post("/v1/auth/password-reset/confirm", json={"token": reset, "new_password": "short"})
    assert any(entry.get("account_id") == who.id for entry in logs)
    text = repr(logs)
    for secret in (
        identity.password,
        "a wrong password typed here",
        token,
        code,
        reset,
        tokens["access_token"],
        tokens["refresh_token"],
    ):
        assert secret not in text
