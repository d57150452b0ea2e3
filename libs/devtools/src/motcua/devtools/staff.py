"""Signing officers and admins in through identity (directly or through the gateway), as a person would: at the
first sign-in they enrol an authenticator app (TOTP), later sign-ins answer with its code.

One helper for every suite that signs staff in, so that none of them turns the second-factor rule off. The
secrets are remembered per identity address and account for the test run. Identity takes each time step's code
once and allows one step of drift, so a burst of sign-ins of one account waits for the next step when needed.
Test tooling only: never imported by a service.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import httpx
import pyotp

STEP = 30


@dataclass
class Enrolled:
    """An account's authenticator app: its secret, the last time step used, and its recovery codes."""

    totp: pyotp.TOTP
    last_step: int
    recovery_codes: list[str]

    async def next_code(self) -> str:
        """A code identity has not seen yet, waiting for the next time step when this one's are spent."""
        now = int(time.time()) // STEP
        step = max(self.last_step + 1, now - 1)
        if step > now + 1:
            await asyncio.sleep((step - 1) * STEP - time.time() + 0.5)
        self.last_step = step
        return str(self.totp.at(step * STEP))


_enrolled: dict[tuple[str, str], Enrolled] = {}


def _ok(response: httpx.Response) -> dict[str, Any]:
    if response.status_code != 200:
        raise AssertionError(
            f"{response.request.method} {response.request.url.path}: {response.status_code} {response.text}"
        )
    body: dict[str, Any] = response.json()
    return body


def enrolled(client: httpx.AsyncClient, username: str) -> Enrolled:
    """The authenticator app this helper enrolled for `username` at `client`'s identity."""
    return _enrolled[(str(client.base_url), username.strip().lower())]


async def enrol_totp(client: httpx.AsyncClient, username: str, enrolment_token: str) -> Enrolled:
    """Enrol an authenticator app with the enrolment token sign-in gave; remember it for later sign-ins."""
    bearer = {"Authorization": f"Bearer {enrolment_token}"}
    started = _ok(await client.post("/v1/accounts/me/mfa/totp", headers=bearer))
    totp = pyotp.TOTP(started["secret"])
    step = int(time.time()) // STEP
    confirmed = _ok(
        await client.post("/v1/accounts/me/mfa/totp/confirm", json={"code": totp.at(step * STEP)}, headers=bearer)
    )
    app = Enrolled(totp=totp, last_step=step, recovery_codes=list(confirmed["recovery_codes"]))
    _enrolled[(str(client.base_url), username.strip().lower())] = app
    return app


_access: dict[tuple[str, str], tuple[str, float]] = {}  # (identity, account) → access token, when it expires


async def access_token(client: httpx.AsyncClient, username: str, password: str) -> str:
    """An access token for a staff account: the last one this helper got for it while identity still takes it
    (`GET /v1/accounts/me` answers 200 and it has a minute left), else a new sign-in. Each sign-in spends a time
    step's code, so a suite that signs the same admin in for every officer it creates would wait for steps."""
    key = (str(client.base_url), username.strip().lower())
    if (kept := _access.get(key)) is not None and kept[1] - time.monotonic() > 60:
        me = await client.get("/v1/accounts/me", headers={"Authorization": f"Bearer {kept[0]}"})
        if me.status_code == 200:
            return kept[0]
    tokens = await sign_in(client, username, password)
    _access[key] = (str(tokens["access_token"]), time.monotonic() + float(tokens["expires_in"]))
    return str(tokens["access_token"])


async def sign_in(client: httpx.AsyncClient, username: str, password: str) -> dict[str, Any]:
    """Tokens for an officer or admin (anyone, in fact): password, then TOTP, enrolling it the first time."""
    credentials = {"username": username, "password": password}
    answer = _ok(await client.post("/v1/auth/login", json=credentials))
    if answer.get("mfa_enrolment_required"):
        await enrol_totp(client, username, answer["enrolment_token"])
        answer = _ok(await client.post("/v1/auth/login", json=credentials))
    if answer.get("mfa_required"):
        code = await enrolled(client, username).next_code()
        answer = _ok(await client.post("/v1/auth/mfa", json={"mfa_token": answer["mfa_token"], "code": code}))
    return answer
