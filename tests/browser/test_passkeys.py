"""Passkeys in a real browser: an admin's first sign-in enrols a passkey (navigator.credentials.create) instead of
an authenticator app, then signs in with it alone (navigator.credentials.get). Chromium's virtual authenticator
(DevTools protocol, WebAuthn domain) plays the platform authenticator.

Browsers refuse an IP address as a relying party, so this module's platform is addressed as `localhost`
(PUBLIC_BASE_URL, hence the RP id and origin identity expects, and the browser's base URL alike).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from motcua.devtools import devservers
from motcua.devtools.testing import running_platform
from motcua.devtools.testing_messages import Outbox
from playwright.async_api import Browser, Page, expect

ADMIN_EMAIL = "quantri.passkey@motcua.example.vn"
ADMIN_PASSWORD = "Quản-trị-Khóa-Truy-Cập-2026"


@pytest.fixture(scope="module")
async def platform(tmp_path_factory: pytest.TempPathFactory, outbox: Outbox) -> AsyncIterator[devservers.Platform]:
    port = str(devservers.free_port())
    overrides = {
        **outbox.settings,
        "GATEWAY_PORT": port,
        "PUBLIC_BASE_URL": f"http://localhost:{port}",
        "IDENTITY_BOOTSTRAP_ADMIN_EMAIL": ADMIN_EMAIL,
        "IDENTITY_BOOTSTRAP_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "GATEWAY_RATE_LIMIT_PER_SECOND": "500",
        "GATEWAY_RATE_LIMIT_BURST": "2000",
    }
    async with running_platform(tmp_path_factory.mktemp("passkey-platform"), overrides) as running:
        yield running


@pytest.fixture
async def page(browser: Browser, platform: devservers.Platform, csp: Any) -> AsyncIterator[Page]:
    context = await browser.new_context(base_url=platform.env["PUBLIC_BASE_URL"], locale="vi-VN")
    context.set_default_timeout(15_000)
    opened = csp.attach(await context.new_page())
    devtools = await context.new_cdp_session(opened)
    await devtools.send("WebAuthn.enable")
    await devtools.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    yield opened
    await context.close()


async def test_an_admin_enrols_a_passkey_at_first_sign_in_then_signs_in_with_it_alone(
    page: Page, screens: Any, axe: Any
) -> None:
    await page.goto("/login")
    await page.get_by_label("Email hoặc số điện thoại").fill(ADMIN_EMAIL)
    await page.locator("input[name=password]").fill(ADMIN_PASSWORD)
    await page.get_by_role("button", name="Đăng nhập", exact=True).click()
    await expect(page.locator("h1")).to_have_text("Thiết lập xác thực hai lớp")
    found = await axe(page)
    assert not found, found
    await screens.take(page, "enrolment-choice")

    await page.get_by_role("button", name="Dùng khóa truy cập (passkey)").click()
    await expect(page.locator("#recovery-codes li")).to_have_count(10)
    await expect(page.get_by_text("Đã lưu khóa truy cập", exact=False)).to_be_visible()
    await page.get_by_role("link", name="Tiếp tục đăng nhập").click()
    await expect(page.locator("h1")).to_have_text("Đăng nhập")

    await page.get_by_role("button", name="Dùng khóa truy cập (passkey) thay mật khẩu").click()
    await page.wait_for_url(lambda url: "/login" not in url)
    session = await page.evaluate("() => JSON.parse(sessionStorage.getItem('motcua.session'))")
    assert session["access_token"]
