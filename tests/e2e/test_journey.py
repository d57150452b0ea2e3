"""A citizen's whole journey, only through the gateway, across crashes of a service and of the broker.

Register → verification email and SMS code → active → two-factor on → sign in with it → find birth
registration by "khai sinh" → fill the form, upload a PDF and a JPEG → submit → the ApplicationReceived
email and SMS. Then submission is SIGKILLed and restarted and the Apache Kafka broker restarted (its log
is on disk: consumers resume where they committed, nothing is replayed). An officer created by the bootstrap
admin accepts, approves and issues the result; the citizen sees each change in the history, in-app
and by email and SMS; an anonymous lookup shows the status. Every message arrived exactly once.
"""

from __future__ import annotations

import asyncio
import secrets
import time
import uuid
from collections import Counter
from typing import Any

import httpx
import pyotp
from motcua.devtools import devservers, staff
from motcua.devtools.journeys import bearer, ok, register_and_activate, until, wait_ready
from motcua.devtools.testing import BIRTH_REGISTRATION
from motcua.devtools.testing_messages import Outbox

PDF = BIRTH_REGISTRATION.pdf
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64 + b"\xff\xd9"
FORM = BIRTH_REGISTRATION.form


async def sign_in_with_two_factor(gateway: httpx.AsyncClient, person: dict[str, Any]) -> dict[str, Any]:
    credentials = {"username": person["email"], "password": person["password"]}
    first = ok(await gateway.post("/v1/auth/login", json=credentials))
    started = ok(
        await gateway.post("/v1/accounts/me/mfa/totp", json={"password": person["password"]}, headers=bearer(first))
    )
    totp = pyotp.TOTP(started["secret"])
    confirmed = ok(
        await gateway.post("/v1/accounts/me/mfa/totp/confirm", json={"code": totp.now()}, headers=bearer(first))
    )
    assert len(confirmed["recovery_codes"]) >= 8

    challenge = ok(await gateway.post("/v1/auth/login", json=credentials))
    assert challenge["mfa_required"] is True
    assert "access_token" not in challenge
    # a code is accepted once per time step; the next step's code is within the allowed drift
    tokens = ok(
        await gateway.post(
            "/v1/auth/mfa", json={"mfa_token": challenge["mfa_token"], "code": totp.at(time.time() + 30)}
        )
    )
    me = ok(await gateway.get("/v1/accounts/me", headers=bearer(tokens)))
    assert me["mfa_enabled"] is True
    return dict(tokens)


async def fill_and_submit(gateway: httpx.AsyncClient, citizen: dict[str, str]) -> tuple[dict[str, Any], str]:
    found = ok(await gateway.get("/v1/procedures", params={"q": "khai sinh"}))
    assert "HT-KS-01" in [p["code"] for p in found["items"]]
    procedure = ok(await gateway.get("/v1/procedures/HT-KS-01"))
    assert set(procedure["form_schema"]["required"]) >= {"child_full_name", "child_date_of_birth"}

    created = await gateway.post("/v1/applications", json={"procedure_code": "HT-KS-01"}, headers=citizen)
    draft = ok(created, 201)
    assert draft["status"] == "draft"
    app_id = draft["id"]
    saved = await gateway.patch(
        f"/v1/applications/{app_id}",
        json={"data": FORM},
        headers={**citizen, "If-Match": created.headers["etag"], "Content-Type": "application/merge-patch+json"},
    )
    assert ok(saved)["data"] == FORM
    stale = await gateway.patch(
        f"/v1/applications/{app_id}",
        json={"data": {"child_sex": "female"}},
        headers={**citizen, "If-Match": created.headers["etag"], "Content-Type": "application/merge-patch+json"},
    )
    assert stale.status_code == 412

    uploads = {}
    for key, name, content in (
        ("birth_certificate_medical", "giay-chung-sinh.pdf", PDF),
        ("marriage_certificate", "ket-hon.jpg", JPEG),
    ):
        answer = await gateway.post(
            f"/v1/applications/{app_id}/documents",
            headers=citizen,
            data={"document_key": key},
            files={"file": (name, content, "application/pdf")},
        )
        uploads[key] = ok(answer, 201)
    assert uploads["marriage_certificate"]["content_type"] == "image/jpeg"
    download = await gateway.get(
        f"/v1/applications/{app_id}/documents/{uploads['birth_certificate_medical']['id']}", headers=citizen
    )
    assert download.status_code == 200
    assert download.content == PDF

    once = {"Idempotency-Key": uuid.uuid4().hex}
    submitted = ok(await gateway.post(f"/v1/applications/{app_id}/submit", headers={**citizen, **once}))
    assert submitted["status"] == "submitted"
    again = ok(await gateway.post(f"/v1/applications/{app_id}/submit", headers={**citizen, **once}))
    assert again == submitted
    return submitted, app_id


async def crash_submission_and_restart_broker(platform: devservers.Platform, gateway: httpx.AsyncClient) -> None:
    await asyncio.to_thread(platform.services["submission"].kill)
    down = await gateway.get("/v1/lookup/ANY-CODE")
    assert down.status_code == 502
    assert down.headers["content-type"] == "application/problem+json"
    await asyncio.to_thread(platform.services["submission"].start, 60)
    await wait_ready(gateway)
    await asyncio.to_thread(platform.servers["kafka"].restart)
    await wait_ready(gateway)


async def officer_processes(gateway: httpx.AsyncClient, env: dict[str, str], app_id: str, agency: str) -> None:
    admin = await staff.sign_in(
        gateway, env["IDENTITY_BOOTSTRAP_ADMIN_EMAIL"], env["IDENTITY_BOOTSTRAP_ADMIN_PASSWORD"]
    )
    officer = {
        "full_name": "Lê Thị Cán Bộ",
        "email": f"canbo.{uuid.uuid4().hex[:8]}@ubnd.example.vn",
        "phone": "098" + "".join(secrets.choice("0123456789") for _ in range(7)),
        "password": "Một cửa phường Hoàn Kiếm tiếp dân 2026",
        "agency_code": agency,
    }
    created = ok(await gateway.post("/v1/admin/officers", json=officer, headers=bearer(admin)), 201)
    assert created["status"] == "active"
    # an officer's password alone yields a token that only enrols a second factor; the desk refuses it
    enrolment = ok(
        await gateway.post("/v1/auth/login", json={"username": officer["email"], "password": officer["password"]})
    )
    assert enrolment["mfa_enrolment_required"] is True
    assert "access_token" not in enrolment
    desk = await gateway.get(
        "/v1/agency/applications", headers={"Authorization": f"Bearer {enrolment['enrolment_token']}"}
    )
    assert desk.status_code == 401
    signed_in = await staff.sign_in(gateway, officer["email"], officer["password"])
    queue = ok(await gateway.get("/v1/agency/applications", params={"status": "submitted"}, headers=bearer(signed_in)))
    assert app_id in [a["id"] for a in queue["items"]]
    for action, to in (("accept", "processing"), ("approve", "approved"), ("issue_result", "completed")):
        acted = ok(
            await gateway.post(
                f"/v1/agency/applications/{app_id}/actions",
                json={"action": action, "comment": f"Cán bộ: {action}"},
                headers=bearer(signed_in),
            )
        )
        assert acted["status"] == to
    refused = await gateway.post(
        f"/v1/agency/applications/{app_id}/actions",
        json={"action": "approve", "comment": ""},
        headers=bearer(signed_in),
    )
    assert refused.status_code == 409


async def test_a_citizen_applies_and_follows_through_crashes_with_every_message_once(
    platform: devservers.Platform, outbox: Outbox
) -> None:
    async with httpx.AsyncClient(base_url=platform.url("gateway"), timeout=30) as gateway:
        home = await gateway.get("/", headers={"Accept": "text/html"})
        assert home.status_code == 200
        assert home.headers["content-security-policy"].startswith("default-src 'self'")

        person, phone = await register_and_activate(gateway, outbox)
        citizen = bearer(await sign_in_with_two_factor(gateway, person))
        submitted, app_id = await fill_and_submit(gateway, citizen)
        code = submitted["tracking_code"]

        await crash_submission_and_restart_broker(platform, gateway)
        await until(lambda: _has(outbox.mail.to(person["email"]), code, 1))
        await until(lambda: _has(outbox.sms.to(phone), code, 1))

        agency = ok(await gateway.get("/v1/procedures/HT-KS-01"))["agency_code"]
        await officer_processes(gateway, platform.env, app_id, agency)

        mine = ok(await gateway.get(f"/v1/applications/{app_id}", headers=citizen))
        assert [(h["from"], h["to"]) for h in mine["history"]] == [
            ("draft", "submitted"),
            ("submitted", "processing"),
            ("processing", "approved"),
            ("approved", "completed"),
        ]
        assert mine["status"] == "completed"

        async def in_app() -> list[dict[str, Any]] | None:
            items = ok(await gateway.get("/v1/notifications", headers=citizen))["items"]
            return items if len([n for n in items if code in n["title"]]) >= 4 else None

        notices = await until(in_app)
        await until(lambda: _has(outbox.mail.to(person["email"]), code, 4))
        await until(lambda: _has(outbox.sms.to(phone), code, 4))

        # the receipt slip intake issued on accepting came with its email: the very file the portal serves
        slips = ok(await gateway.get(f"/v1/applications/{app_id}/slips", headers=citizen))["items"]
        [receipt] = [s for s in slips if s["kind"] == "receipt"]
        served = await gateway.get(f"/v1/applications/{app_id}/slips/{receipt['id']}", headers=citizen)
        mailed = [
            (m.subject, part.get_filename(), part.get_content())
            for m in outbox.mail.to(person["email"])
            for part in m.message.iter_attachments()
        ]
        assert mailed == [(f"[Một cửa] Hồ sơ {code}: Đang xử lý", f"receipt-{code}.pdf", served.content)]

        lookup = ok(await gateway.get(f"/v1/lookup/{code}"))
        assert lookup["status"] == "completed"
        assert person["full_name"] not in str(lookup)
        assert person["email"] not in str(lookup)
        self_made = {
            "full_name": person["full_name"],
            "email": f"x.{uuid.uuid4().hex[:6]}@example.vn",
            "phone": "0987654321",
            "password": person["password"],
            "agency_code": agency,
        }
        assert (await gateway.post("/v1/admin/officers", json=self_made, headers=citizen)).status_code == 403
        someone_else = bearer(await sign_in_other(gateway, outbox))
        assert (await gateway.get(f"/v1/applications/{app_id}", headers=someone_else)).status_code == 404

        # a quiet moment for late duplicates, then count: each message exactly once
        await asyncio.sleep(3)
        mails = [m.subject for m in outbox.mail.to(person["email"])]
        texts = [s.text for s in outbox.sms.to(phone)]
        assert _once(mails), mails
        assert _once(texts), texts
        assert len([s for s in mails if code in s]) == 4, mails
        assert len([t for t in texts if code in t]) == 4, texts
        assert len(mails) == 6, mails  # the verification link, the notice of two-factor on, the dossier's four
        assert len([s for s in mails if "xác thực hai lớp đã được bật" in s]) == 1, mails
        assert len(texts) == 5, texts  # the code, then the dossier's four
        titles = [n["title"] for n in ok(await gateway.get("/v1/notifications", headers=citizen))["items"]]
        assert len(titles) == len(notices) == 4
        assert _once(titles), titles


async def sign_in_other(gateway: httpx.AsyncClient, outbox: Outbox) -> dict[str, Any]:
    person, _ = await register_and_activate(gateway, outbox)
    return dict(
        ok(await gateway.post("/v1/auth/login", json={"username": person["email"], "password": person["password"]}))
    )


async def _has(messages: list[Any], code: str, count: int) -> bool:
    return len([m for m in messages if code in getattr(m, "subject", getattr(m, "text", ""))]) >= count


def _once(items: list[str]) -> bool:
    return all(n == 1 for n in Counter(items).values())
