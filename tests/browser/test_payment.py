"""Issue 21: a citizen pays a dossier's fee in the browser, through the local VNPAY gateway's page and back,
and the dossier page shows it paid (the provider's IPN reached submission through the gateway); a fee due at result
is announced on the dossier page, paid once the result is issued, and releases the result."""

from __future__ import annotations

import uuid

import httpx
from motcua.devtools import devservers
from motcua.devtools.testing import eventually
from motcua.devtools.testing_messages import Outbox
from playwright.async_api import Page, expect

from . import kit

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


async def pay_on_the_providers_page(page: Page, app_id: str) -> None:
    """Pay now, then pay on the local provider's page, back to the dossier, until the IPN made it paid."""
    await page.get_by_role("button", name="Thanh toán ngay").click()
    await expect(page.get_by_role("heading", name="Cổng thanh toán VNPAY (local)")).to_be_visible()
    await page.get_by_role("button", name="Thanh toán", exact=True).click()
    await page.wait_for_url(f"**/applications/{app_id}?payment=returned")

    async def paid() -> bool:
        await page.reload()
        return await page.locator("#payment").get_attribute("data-payment-status") == "paid"

    await eventually(paid, timeout=30, interval=1)


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
    await pay_on_the_providers_page(page, app_id)
    await expect(section).to_contain_text("Đã thanh toán")
    await expect(page.get_by_role("button", name="Thanh toán ngay")).to_have_count(0)


LAND_CERTIFICATE = "DD-GCN-01"  # land-use certificate: 100,000 VND, paid when the certificate is received
LAND_DATA = {
    "applicant_full_name": "Lê Thị Thu",
    "applicant_id_number": "079195001234",
    "parcel_address": "Thửa 215, tờ bản đồ 12, xã Tân Phú, TP. Hồ Chí Minh",
    "area_m2": 120,
    "land_use_purpose": "residential",
    "land_use_origin": "Nhận chuyển nhượng năm 2010, sử dụng ổn định không tranh chấp.",
}


async def test_a_fee_due_at_result_is_announced_then_paid_after_the_result_which_it_releases(
    open_page: object, platform: devservers.Platform, outbox: Outbox
) -> None:
    async with httpx.AsyncClient(base_url=platform.url("gateway"), timeout=30) as client:
        citizen, _, _ = await kit.citizen_tokens(client, outbox, full_name="Lê Thị Thu", phone_prefix="097")
        officer = await kit.officer_tokens(client, "UBND-XA", full_name="Phan Văn Khải")

        async def published() -> bool:  # the catalogue's seed reaches submission's read model
            answer = await client.post(
                "/v1/applications", json={"procedure_code": LAND_CERTIFICATE}, headers=kit.bearer(citizen)
            )
            return answer.status_code == 201

        await eventually(published, timeout=60, interval=0.5)
        files = [("registration_form", ("don-dang-ky.pdf", kit.PDF, "application/pdf"))]
        app_id, _ = await kit.submitted_dossier(client, citizen, LAND_DATA, files, procedure=LAND_CERTIFICATE)

    page: Page = await open_page()  # type: ignore[operator]
    await kit.signed_in(page, citizen)
    await page.goto(f"/applications/{app_id}")
    section = page.locator("#payment")
    await expect(section).to_have_attribute("data-fee-due", "at_result")
    await expect(section).to_contain_text("Lệ phí nộp khi nhận kết quả")
    await expect(section).to_contain_text("100.000")
    await expect(page.get_by_role("button", name="Thanh toán ngay")).to_have_count(0)  # nothing to pay yet

    async with httpx.AsyncClient(base_url=platform.url("gateway"), timeout=30) as client:
        for action in ("accept", "approve", "issue_result"):  # processed without payment
            moved = await client.post(
                f"/v1/agency/applications/{app_id}/actions", headers=kit.bearer(officer), json={"action": action}
            )
            assert moved.status_code == 200, moved.text

    await page.reload()
    await expect(section).to_have_attribute("data-payment-status", "due")
    await expect(section).to_contain_text("Hồ sơ đã có kết quả. Nộp lệ phí để nhận văn bản kết quả.")
    await expect(page.locator("#result-awaiting-fee")).to_be_visible()
    await expect(page.locator("#result-download")).to_have_count(0)

    desk: Page = await open_page()  # type: ignore[operator]
    await kit.signed_in(desk, officer)
    await desk.goto(f"/officer/applications/{app_id}")
    await expect(desk.locator("#result-withheld")).to_contain_text("sau khi nộp lệ phí")
    await expect(desk.locator("#result-download")).to_be_visible()  # the agency has it at once

    await pay_on_the_providers_page(page, app_id)
    await expect(section).to_contain_text("Đã nộp lệ phí khi nhận kết quả")
    await expect(page.locator("#result-download")).to_be_visible()
    await expect(page.locator("#result-code")).not_to_be_empty()
