"""What the browser tests share: the platform's test accounts, people made through the API (the pages that make
them are tested on their own), a dossier submitted through the API, the session a page holds, and axe."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

import httpx
import pyotp
from motcua.devtools import staff
from motcua.devtools.testing_messages import Outbox
from playwright.async_api import Page

# the bootstrap admin of the platform conftest.py starts
ADMIN_EMAIL = "quantri.portal@motcua.example.vn"  # identity refuses special-use domains such as .local
ADMIN_PASSWORD = "Quản-trị-Cổng-Thử-Nghiệm-2026"
OFFICER_PASSWORD = "cán bộ xã tiếp nhận hồ sơ mỗi sáng"
CITIZEN_PASSWORD = "trăng rằm soi bóng hồ Gươm xanh"
VERIFY_EMAIL_LINK = r"https?://\S+/verify-email\?token=[\w.~%-]+"
RESET_PASSWORD_LINK = r"https?://\S+/reset-password\?token=[\w.~%-]+"
SMS_CODE = r"\b(\d{6})\b"
PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Count 0/Kids[]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)


def international(phone: str) -> str:
    """A Vietnamese mobile number as the platform writes it (and sends SMS to): 091… → +8491…"""
    return "+84" + phone[1:]


def totp(secret: str, step_offset: int = 0) -> str:
    """The RFC 6238 code of `secret` (as the page shows it, spaces allowed) for this 30-second step plus an offset."""
    return str(pyotp.TOTP(secret.replace(" ", "").upper()).at(time.time() + 30 * step_offset))


def bearer(tokens: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


async def no_serious_violations(axe: Any, page: Page, name: str) -> None:
    found = await axe(page)
    assert not found, f"axe on the {name} page: {json.dumps(found, ensure_ascii=False, indent=1)}"


def new_details(phone_prefix: str = "093") -> tuple[str, str, str]:
    """A fresh email, phone (as typed: 09…) and citizen ID no other test uses."""
    tag = uuid.uuid4().hex[:8]
    number = int(tag, 16)
    return f"cong.dan.{tag}@example.vn", f"{phone_prefix}{number % 10_000_000:07d}", f"0792{number % 100_000_000:08d}"


async def activated_citizen(
    client: httpx.AsyncClient, outbox: Outbox, *, full_name: str = "Trần Thị Bình", phone_prefix: str = "093"
) -> tuple[str, str]:
    """An individual registered and confirmed (the email link, the SMS code) through the API: (email, phone)."""
    email, phone, national_id = new_details(phone_prefix)
    created = await client.post(
        "/v1/accounts",
        json={
            "account_type": "individual",
            "full_name": full_name,
            "email": email,
            "phone": phone,
            "password": CITIZEN_PASSWORD,
            "national_id": national_id,
        },
    )
    assert created.status_code == 201, created.text
    link = await outbox.mail.find(email, VERIFY_EMAIL_LINK, timeout=30)
    verified_email = await client.post("/v1/accounts/verify-email", json={"token": httpx.URL(link).params["token"]})
    assert verified_email.status_code == 200, verified_email.text
    code = await outbox.sms.find(international(phone), SMS_CODE, timeout=30)
    verified = await client.post("/v1/accounts/verify-phone", json={"account_id": created.json()["id"], "code": code})
    assert verified.json()["status"] == "active", verified.text
    return email, phone


async def citizen_tokens(
    client: httpx.AsyncClient, outbox: Outbox, *, full_name: str = "Trần Thị Bình", phone_prefix: str = "093"
) -> tuple[dict[str, Any], str, str]:
    """An activated citizen, signed in through the API: (tokens, email, phone)."""
    email, phone = await activated_citizen(client, outbox, full_name=full_name, phone_prefix=phone_prefix)
    login = await client.post("/v1/auth/login", json={"username": email, "password": CITIZEN_PASSWORD})
    assert login.status_code == 200, login.text
    return dict(login.json()), email, phone


async def created_officer(client: httpx.AsyncClient, agency: str, *, full_name: str = "Trần Văn Bình") -> str:
    """An officer of `agency` with every desk role, created by the admin: their email (password OFFICER_PASSWORD)."""
    admin = {"access_token": await staff.access_token(client, ADMIN_EMAIL, ADMIN_PASSWORD)}
    tag = uuid.uuid4().hex[:8]
    email = f"canbo.{tag}@ubnd.example.vn"
    created = await client.post(
        "/v1/admin/officers",
        headers=bearer(admin),
        json={
            "full_name": full_name,
            "email": email,
            "phone": f"098{int(tag, 16) % 10_000_000:07d}",
            "password": OFFICER_PASSWORD,
            "agency_code": agency,
        },
    )
    assert created.status_code == 201, created.text
    return email


async def officer_tokens(client: httpx.AsyncClient, agency: str, *, full_name: str = "Trần Văn Bình") -> dict[str, Any]:
    """A new officer of `agency`, signed in with their second factor (TOTP): their tokens."""
    email = await created_officer(client, agency, full_name=full_name)
    return await staff.sign_in(client, email, OFFICER_PASSWORD)


async def submitted_dossier(
    client: httpx.AsyncClient,
    citizen: dict[str, Any],
    data: dict[str, Any],
    documents: list[tuple[str, tuple[str, bytes, str]]],
    *,
    procedure: str = "HT-KS-01",
) -> tuple[str, str]:
    """A dossier of `procedure` filled with `data`, its `documents` ((key, (filename, content, type))) uploaded,
    and submitted through the API: its id and tracking code."""
    draft = await client.post("/v1/applications", json={"procedure_code": procedure}, headers=bearer(citizen))
    assert draft.status_code == 201, draft.text
    app_id = draft.json()["id"]
    saved = await client.patch(
        f"/v1/applications/{app_id}",
        content=json.dumps({"data": data}),
        headers={**bearer(citizen), "Content-Type": "application/merge-patch+json", "If-Match": draft.headers["etag"]},
    )
    assert saved.status_code == 200, saved.text
    for key, file in documents:
        uploaded = await client.post(
            f"/v1/applications/{app_id}/documents",
            headers=bearer(citizen),
            data={"document_key": key},
            files={"file": file},
        )
        assert uploaded.status_code == 201, uploaded.text
    key = uuid.uuid4().hex
    for _ in range(20):  # just after activation the applicant's profile may not have reached submission: 503
        answer = await client.post(
            f"/v1/applications/{app_id}/submit", headers={**bearer(citizen), "Idempotency-Key": key}
        )
        if answer.status_code != 503:
            break
        await asyncio.sleep(float(answer.headers.get("retry-after", "1")) / 5)
    assert answer.status_code == 200, answer.text
    return str(app_id), str(answer.json()["tracking_code"])


async def signed_in(page: Page, tokens: dict[str, Any]) -> None:
    """The page's session holds `tokens` (got through the API, with the second factor), as after a sign-in."""
    await page.goto("/")
    await page.evaluate(
        """(tokens) => sessionStorage.setItem('motcua.session', JSON.stringify({
            access_token: tokens.access_token, refresh_token: tokens.refresh_token,
            expires_at: Date.now() + 240000, account: null}))""",
        tokens,
    )
