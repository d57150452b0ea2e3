"""The waiting room in a real browser: the gateway really sheds, the citizen keeps their place and their work.

The whole platform runs as `make run` starts it; in front of its services this test runs a second
gateway of its own (the same app, in this process) whose admission control allows two requests at
a time per service and no queue. Two slow uploads, their bodies sent a little at a time from here,
hold the submission service's two slots; then whatever the page sends to that service is shed by
the gateway — 503 problem details with Retry-After, never forwarded — until they finish. Nothing is
faked: the refusals are the gateway's own.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from motcua.devtools import devservers
from motcua.devtools.testing import eventually, running_app
from motcua.devtools.testing_messages import Outbox
from motcua.gateway.app import build_app
from motcua.gateway.settings import Settings
from playwright.async_api import Browser, Page, expect

from .conftest import CspWatch, Screens
from .kit import CITIZEN_PASSWORD, PDF
from .test_portal import activated_citizen, server_data, sign_in

SLOTS = 2


@pytest.fixture(scope="module")
async def busy_gateway(platform: devservers.Platform) -> AsyncIterator[str]:
    """A gateway before the same services that lets in two requests per service at once, and queues none."""
    env = platform.env
    settings = Settings(
        identity_url=env["IDENTITY_URL"],
        catalogue_url=env["CATALOGUE_URL"],
        submission_url=env["SUBMISSION_URL"],
        notification_url=env["NOTIFICATION_URL"],
        log_format="console",
        log_level="WARNING",
        gateway_rate_limit_per_second=1000,
        gateway_rate_limit_burst=5000,
        gateway_admission_initial_limit=SLOTS,
        gateway_admission_min_limit=SLOTS,
        gateway_admission_max_limit=SLOTS,
        gateway_admission_queue_size=0,
    )
    async with running_app(build_app(settings)) as url:
        yield url


class SlowUpload:
    """A document upload whose body is sent in two parts: until the second, it holds a slot of the service."""

    def __init__(self, gateway: str, token: str, application_id: str) -> None:
        self.where = urlsplit(gateway)
        self.token, self.application_id = token, application_id
        boundary = uuid.uuid4().hex
        self.first = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="document_key"\r\n\r\n'
            f'birth_certificate_medical\r\n--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="giay-chung-sinh.pdf"\r\nContent-Type: application/pdf\r\n\r\n'
        ).encode() + PDF
        self.rest = f"\r\n--{boundary}--\r\n".encode()
        self.content_type = f"multipart/form-data; boundary={boundary}"
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def start(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.where.hostname, self.where.port)
        head = (
            f"POST /v1/applications/{self.application_id}/documents HTTP/1.1\r\nHost: {self.where.netloc}\r\n"
            f"Authorization: Bearer {self.token}\r\nContent-Type: {self.content_type}\r\n"
            f"Content-Length: {len(self.first) + len(self.rest)}\r\nConnection: close\r\n\r\n"
        )
        self.writer.write(head.encode() + self.first)
        await self.writer.drain()

    async def refused(self) -> bool:
        """Whether the gateway answered already (shed: another request had the slot)."""
        assert self.reader is not None
        try:
            return (await asyncio.wait_for(self.reader.readexactly(12), 0.3)).startswith(b"HTTP/1.1 ")
        except TimeoutError:
            return False

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()

    async def finish(self) -> int:
        assert self.reader is not None
        assert self.writer is not None
        self.writer.write(self.rest)
        answer = await self.reader.read()
        self.writer.close()
        return int(answer.split(b" ", 2)[1])


async def in_flight(gateway: str, service: str) -> float:
    async with httpx.AsyncClient(base_url=gateway) as client:
        metrics = (await client.get("/metrics")).text
    found = re.search(rf'gateway_admission_in_flight{{service="{service}"}} ([\d.]+)', metrics)
    return float(found.group(1)) if found else 0.0


async def shed(gateway: str, service: str) -> float:
    async with httpx.AsyncClient(base_url=gateway) as client:
        metrics = (await client.get("/metrics")).text
    counted = re.findall(rf'gateway_shed_total{{[^}}]*service="{service}"[^}}]*}} ([\d.]+)', metrics)
    return sum(float(n) for n in counted)


async def hold_submission(gateway: str, token: str, application_id: str) -> list[SlowUpload]:
    """Both of the submission service's slots, each taken by a slow upload (one shed is started again)."""
    uploads: list[SlowUpload] = []
    try:
        while len(uploads) < SLOTS:
            upload = SlowUpload(gateway, token, application_id)
            await upload.start()
            if await upload.refused():
                upload.close()
                continue
            uploads.append(upload)

        async def full() -> bool:
            return await in_flight(gateway, "submission") == SLOTS

        await eventually(full)
    except BaseException:
        for upload in uploads:
            upload.close()
        raise
    return uploads


async def release(uploads: list[SlowUpload]) -> None:
    assert [await upload.finish() for upload in uploads] == [201] * SLOTS


async def citizen_with_a_draft(base_url: str, outbox: Outbox) -> tuple[str, str, str]:
    email = await activated_citizen(base_url, outbox)
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        login = await client.post("/v1/auth/login", json={"username": email, "password": CITIZEN_PASSWORD})
        token = login.json()["access_token"]
        draft = await client.post(
            "/v1/applications", json={"procedure_code": "HT-KS-01"}, headers={"Authorization": f"Bearer {token}"}
        )
        assert draft.status_code == 201, draft.text
    return email, token, draft.json()["id"]


async def stored(platform: devservers.Platform, token: str, application_id: str, part: str = "data") -> Any:
    """The dossier as the service holds it, read through the platform's own gateway (not the busy one)."""
    async with httpx.AsyncClient(base_url=platform.url("gateway"), timeout=30) as client:
        answer = await client.get(f"/v1/applications/{application_id}", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text
    return answer.json()[part] if part else answer.json()


@pytest.fixture
async def busy_page(browser: Browser, busy_gateway: str, csp: CspWatch) -> AsyncIterator[Page]:
    """A page of a new browser context that talks to the busy gateway; closed afterwards (its connections too,
    or the gateway would wait for them when it stops)."""
    context = await browser.new_context(base_url=busy_gateway, viewport={"width": 1280, "height": 900}, locale="vi-VN")
    context.set_default_timeout(20_000)
    try:
        yield csp.attach(await context.new_page())
    finally:
        await context.close()


async def test_a_busy_service_keeps_the_citizen_on_the_form_and_saves_and_submits_by_itself(
    busy_page: Page,
    platform: devservers.Platform,
    busy_gateway: str,
    outbox: Outbox,
    screens: Screens,
    axe: Any,
) -> None:
    page = busy_page
    email, token, application_id = await citizen_with_a_draft(platform.url("gateway"), outbox)
    await sign_in(page, email, CITIZEN_PASSWORD)
    await page.goto(f"/applications/{application_id}/form")
    name = page.get_by_label("Họ, chữ đệm và tên của trẻ")
    await expect(name).to_be_visible()
    await page.wait_for_load_state("networkidle")

    held = await hold_submission(busy_gateway, token, application_id)
    await name.fill("Lê Gia Hân")  # the autosave a second later is shed: the service is full
    room = page.locator("#waiting-room")
    await expect(room).to_contain_text("Hệ thống đang bận")
    await expect(room).to_contain_text("Những gì bạn đã nhập vẫn được giữ nguyên")
    await expect(room.locator("[lang=en]")).to_contain_text("The service is busy")
    await expect(room.locator("[lang=en]")).to_contain_text("What you have typed is kept")
    await expect(room.locator("#waiting-countdown")).to_contain_text(re.compile(r"Thử lại sau \d+ giây|Đang thử lại"))
    await screens.take(page, "waiting-room-autosave")
    assert await axe(page) == []  # no serious or critical WCAG violation with the waiting room shown
    # the citizen is still on the form, with what they typed, also kept on the device
    assert page.url.endswith(f"/applications/{application_id}/form")
    await expect(name).to_have_value("Lê Gia Hân")
    kept = await page.evaluate(f"() => localStorage.getItem('motcua.unsaved.{application_id}')")
    assert json.loads(kept)["data"]["child_full_name"] == "Lê Gia Hân"
    assert "child_full_name" not in await stored(platform, token, application_id)

    await release(held)  # the service has room again: the page tries again by itself
    await expect(page.locator("#save-state")).to_have_attribute("data-state", "saved", timeout=60_000)
    await expect(room.locator(".waiting-room")).to_have_count(0)
    assert (await server_data(page, application_id))["child_full_name"] == "Lê Gia Hân"  # through the busy one

    await page.get_by_label("Ngày, tháng, năm sinh").fill("2026-11-02")
    await page.get_by_label("Giới tính").select_option("female")
    await page.get_by_label("Nơi sinh").fill("Bệnh viện Phụ sản Hà Nội")
    await expect(page.locator("#save-state")).to_have_attribute("data-state", "saved", timeout=30_000)
    await page.goto(f"/applications/{application_id}/review")
    submit = page.locator("#submit-application")
    await expect(submit).to_be_visible()
    await page.wait_for_load_state("networkidle")

    held = await hold_submission(busy_gateway, token, application_id)
    await submit.click()  # shed too; the page waits with the dossier, never an error, never elsewhere
    await expect(room).to_contain_text("Hệ thống đang bận")
    await expect(room.locator("#waiting-retry")).to_have_text("Thử lại ngay")
    assert page.url.endswith(f"/applications/{application_id}/review")
    await screens.take(page, "waiting-room-submit")
    shed_before = await shed(busy_gateway, "submission")
    await room.locator("#waiting-retry").click()  # at once, not at the end of the countdown: shed again

    async def tried_again() -> bool:
        return await shed(busy_gateway, "submission") > shed_before

    await eventually(tried_again)
    await expect(room).to_contain_text("Hệ thống đang bận")
    await release(held)  # then it goes through by itself, the same submit with the same key
    await expect(page.locator("#tracking-code")).to_have_text(re.compile(r"\S+"), timeout=60_000)
    tracking_code = await page.locator("#tracking-code").inner_text()
    await expect(room.locator(".waiting-room")).to_have_count(0)

    submitted = await stored(platform, token, application_id, "")
    assert submitted["status"] == "submitted"
    assert submitted["tracking_code"] == tracking_code
    await outbox.mail.find(email, re.escape(tracking_code), timeout=60)  # the dossier got its email


async def test_the_waiting_room_speaks_english_first_to_an_english_reader(
    busy_page: Page,
    platform: devservers.Platform,
    busy_gateway: str,
    outbox: Outbox,
) -> None:
    page = busy_page
    email, token, application_id = await citizen_with_a_draft(platform.url("gateway"), outbox)
    await page.add_init_script("localStorage.setItem('motcua.locale', 'en')")
    await page.goto("/login")
    await page.get_by_label("Email or phone number").fill(email)
    await page.locator("input[name=password]").fill(CITIZEN_PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(lambda url: "/login" not in url)
    await page.wait_for_load_state("networkidle")
    held = await hold_submission(busy_gateway, token, application_id)
    await page.goto(f"/applications/{application_id}")  # the page's first read of the dossier is shed
    room = page.locator("#waiting-room")
    await expect(room.locator("h2")).to_have_text("The service is busy")
    await expect(room.locator("[lang=vi]")).to_contain_text("Hệ thống đang bận")
    await release(held)
    await expect(page.locator("h1")).not_to_have_text("This page could not be opened", timeout=60_000)
    await expect(room.locator(".waiting-room")).to_have_count(0)
    assert page.url.endswith(f"/applications/{application_id}")
