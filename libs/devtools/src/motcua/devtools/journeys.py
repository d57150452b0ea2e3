"""Steps of a person's journey through the gateway, shared by the cross-service tests (tests/e2e)."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import unquote

import httpx
from motcua.devtools.testing import eventually
from motcua.devtools.testing_messages import Outbox

WAIT = 60.0
VERIFY_LINK = r"/verify-email\?token=([^\s\"'<>]+)"
RESET_LINK = r"/reset-password\?token=([^\s\"'<>]+)"
SMS_CODE = r"\b(\d{6})\b"


def ok(answer: httpx.Response, status: int = 200) -> Any:
    """The JSON body of an answer that must have `status` (and the gateway's nosniff header)."""
    assert answer.status_code == status, f"{answer.request.method} {answer.request.url.path}: {answer.text}"
    assert answer.headers["x-content-type-options"] == "nosniff"
    return answer.json() if answer.content else None


def bearer(tokens: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


async def until(check: Callable[[], Awaitable[Any]], timeout: float = WAIT) -> Any:
    """`check()`'s first truthy value, polled every 0.3 s; AssertionError at the deadline."""
    return await eventually(check, timeout=timeout, interval=0.3)


async def wait_ready(client: httpx.AsyncClient) -> None:
    """Until the gateway (or a service) answers /readyz with 200."""

    async def ready() -> bool:
        try:
            return (await client.get("/readyz")).status_code == 200
        except httpx.HTTPError:
            return False

    await until(ready, timeout=90)


def new_person() -> dict[str, Any]:
    """A registration body of an individual with a unique email, phone and citizen ID."""
    return {
        "account_type": "individual",
        "full_name": "Nguyễn Văn Bình",
        "email": f"binh.{uuid.uuid4().hex[:8]}@example.vn",
        "phone": "091" + "".join(secrets.choice("0123456789") for _ in range(7)),
        "password": "Sông Hồng chảy qua bốn mùa 2026",
        "locale": "vi",
        "national_id": "001190" + "".join(secrets.choice("0123456789") for _ in range(6)),
    }


async def register_and_activate(gateway: httpx.AsyncClient, outbox: Outbox) -> tuple[dict[str, Any], str]:
    """Register a new individual and confirm both proofs from the email and SMS received: (person, phone)."""
    person = new_person()
    account = ok(await gateway.post("/v1/accounts", json=person), 201)
    assert account["status"] == "pending_verification"
    phone = str(account["phone"])
    assert phone == "+84" + person["phone"][1:]

    token = unquote(await outbox.mail.find(person["email"], VERIFY_LINK, timeout=WAIT))
    ok(await gateway.post("/v1/accounts/verify-email", json={"token": token}))
    code = await outbox.sms.find(phone, SMS_CODE, timeout=WAIT)
    activated = ok(await gateway.post("/v1/accounts/verify-phone", json={"account_id": account["id"], "code": code}))
    assert activated["status"] == "active"
    person["id"] = account["id"]
    return person, phone
