"""Issue 21: a citizen pays a dossier's fee in the browser, through the local VNPAY gateway's page and back,
and the dossier page shows it paid (the provider's IPN reached submission through the gateway)."""

from __future__ import annotations

import uuid

import httpx
from motcua.devtools import devservers
from motcua.devtools.testing import eventually
from motcua.devtools.testing_messages import Outbox
from playwright.async_api import Page, expect

PASSWORD = "mưa phùn trên phố cổ Hội An"
FEE_PROCEDURE = "HT-TTHN-01"  # certificate of marital status: 15,000 VND, no document required


async def _citizen_with_a_dossier(base: str, outbox: Outbox) -> tuple[str, str]:
    """A citizen (registered and confirmed through the API) with a submitted HT-TTHN-01: (email, dossier id)."""
    tag = uuid.uuid4().hex[:8]
    email, phone = f"tran.an.{tag}@example.vn", f"096{int(tag, 16) % 10_000_000:07d}"
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        created = await client.post(
            "/v1/accounts",
            json={
                "account_type": "individual",
                "full_name": "Trần Văn An",
                "email": email,
                "phone": phone,
                "password": PASSWORD,
                "national_id": f"0793{int(tag, 16) % 100_000_000:08d}",
            },
        )
        assert created.status_code == 201, created.text
        link = await outbox.mail.find(email, r"https?://\S+/verify-email\?token=[\w.~%-]+", timeout=30)
        await client.post("/v1/accounts/verify-email", json={"token": httpx.URL(link).params["token"]})
        code = await outbox.sms.find("+84" + phone[1:], r"\b(\d{6})\b", timeout=30)
        await client.post("/v1/accounts/verify-phone", json={"account_id": created.json()["id"], "code": code})
        tokens = (await client.post("/v1/auth/login", json={"username": email, "password": PASSWORD})).json()
        who = {"Authorization": f"Bearer {tokens['access_token']}"}

        async def drafted() -> httpx.Response | None:  # the catalogue's seed reaches submission's read model
            answer = await client.post("/v1/applications", json={"procedure_code": FEE_PROCEDURE}, headers=who)
            return answer if answer.status_code == 201 else None

        draft = await eventually(drafted, timeout=60, interval=0.5)
        app_id = draft.json()["id"]
        data = {
            "full_name": "Trần Văn An",
            "date_of_birth": "1995-04-12",
            "id_number": f"0793{int(tag, 16) % 100_000_000:08d}",
            "residence_address": "12 Hàng Bạc, Hoàn Kiếm, Hà Nội",
            "marital_status": "single",
            "purpose": "Đăng ký kết hôn",
        }
        saved = await client.patch(
            f"/v1/applications/{app_id}",
            json={"data": data},
            headers={**who, "If-Match": draft.headers["etag"], "Content-Type": "application/merge-patch+json"},
        )
        assert saved.status_code == 200, saved.text
        submitted = await client.post(
            f"/v1/applications/{app_id}/submit", headers={**who, "Idempotency-Key": uuid.uuid4().hex}
        )
        assert submitted.status_code == 200, submitted.text
    return email, app_id


async def test_a_citizen_pays_the_fee_on_the_providers_page_and_comes_back_to_a_paid_dossier(
    open_page: object, platform: devservers.Platform, outbox: Outbox
) -> None:
    email, app_id = await _citizen_with_a_dossier(platform.url("gateway"), outbox)
    page: Page = await open_page()  # type: ignore[operator]
    await page.goto(f"/login?next=/applications/{app_id}")
    await page.get_by_label("Email hoặc số điện thoại").fill(email)
    await page.locator("input[name=password]").fill(PASSWORD)
    await page.get_by_role("button", name="Đăng nhập", exact=True).click()
    section = page.locator("#payment")
    await expect(section).to_contain_text("Chưa thanh toán")
    await expect(section).to_contain_text("15.000")
    await page.get_by_role("button", name="Thanh toán ngay").click()
    await expect(page.get_by_role("heading", name="Cổng thanh toán VNPAY (local)")).to_be_visible()
    await page.get_by_role("button", name="Thanh toán", exact=True).click()
    await page.wait_for_url(f"**/applications/{app_id}?payment=returned")

    async def paid() -> bool:
        await page.reload()
        return await page.locator("#payment").get_attribute("data-payment-status") == "paid"

    await eventually(paid, timeout=30, interval=1)
    await expect(section).to_contain_text("Đã thanh toán")
    await expect(page.get_by_role("button", name="Thanh toán ngay")).to_have_count(0)
