"""Issue 23, for citizens: the form is checked against the procedure's schema before the check page and keeps its
messages on the way back, dates are bounded relative to today, the procedure page is as rich as
dichvucong.gov.vn's, and a completed dossier says where and how to collect its result. Each check here failed
on the portal before."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
from motcua.devtools.testing_messages import Outbox
from playwright.async_api import Page, expect

from .kit import PDF, bearer, citizen_tokens, no_serious_violations, officer_tokens, signed_in, submitted_dossier

BIRTH = "HT-KS-01"


def vietnam_today() -> datetime:
    return datetime.now(UTC).astimezone(timezone(timedelta(hours=7)))


async def a_draft(base_url: str, outbox: Outbox) -> tuple[dict[str, Any], str]:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        tokens, _, _ = await citizen_tokens(client, outbox, full_name="Phạm Thị Mai", phone_prefix="096")
        draft = await client.post("/v1/applications", json={"procedure_code": BIRTH}, headers=bearer(tokens))
        assert draft.status_code == 201, draft.text
        return tokens, str(draft.json()["id"])


async def continue_to_check(page: Page) -> None:
    await page.get_by_role("button", name="Tiếp tục: kiểm tra hồ sơ").click()


async def test_the_form_is_checked_before_the_check_page_and_keeps_its_messages_on_the_way_back(
    open_page: Any, platform: Any, outbox: Outbox, axe: Any, screens: Any
) -> None:
    tokens, app_id = await a_draft(platform.url("gateway"), outbox)
    page = await open_page(width=390)
    await signed_in(page, tokens)
    form = f"/applications/{app_id}/form"
    await page.goto(form)
    await expect(page.locator("h1")).to_have_text("Đăng ký khai sinh")

    # an empty form does not go on: every missing answer beside its field and in the summary, "chọn" for a choice
    await continue_to_check(page)
    summary = page.locator(".error-summary")
    await expect(summary).to_be_focused()
    await expect(page).to_have_url(re.compile(r"/form$"))
    await expect(summary).to_contain_text("Hãy nhập họ, chữ đệm và tên của trẻ.")
    await expect(summary).to_contain_text("Hãy chọn giới tính.")
    await expect(summary).to_contain_text("Hãy nhập nơi sinh.")
    await expect(summary).to_contain_text("Giấy chứng sinh: Chưa tải lên giấy tờ bắt buộc này.")
    await expect(summary).not_to_contain_text("Giới tính: Hãy chọn")  # the message names its field already
    await expect(page.locator("[data-field=child_sex] .field-error")).to_contain_text("Hãy chọn giới tính.")
    await expect(page.get_by_label("Giới tính")).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("[data-document=birth_certificate_medical]")).to_contain_text("Chưa tải lên")
    await no_serious_violations(axe, page, "form refused before the check page")
    await screens.take(page, "form-checked")

    # a date of birth after today is refused in the page; the date input does not offer one
    today = vietnam_today().date()
    tomorrow = today + timedelta(days=1)
    date_input = page.get_by_label("Ngày, tháng, năm sinh")
    await expect(date_input).to_have_attribute("max", today.isoformat())
    await page.get_by_label("Họ, chữ đệm và tên của trẻ").fill("Nguyễn Minh Khang")
    await date_input.fill(tomorrow.isoformat())
    await page.get_by_label("Giới tính").select_option("female")
    await page.get_by_label("Nơi sinh").fill("Bệnh viện Phụ sản Hà Nội")
    await expect(page.locator("#save-state")).to_have_attribute("data-state", "saved", timeout=15_000)
    await continue_to_check(page)
    await expect(page).to_have_url(re.compile(r"/form$"))
    shown_today = today.strftime("%d/%m/%Y")
    await expect(summary).to_contain_text(f"Ngày, tháng, năm sinh không được sau ngày hôm nay ({shown_today}).")
    await expect(summary).not_to_contain_text("Hãy nhập họ")
    await expect(page.locator("[data-field=child_date_of_birth] .field-error")).to_contain_text("không được sau")

    # the check page, reached anyway (its address typed), says what is missing; its "change" link goes back to
    # the form, where the messages are still beside the fields
    await page.goto(f"/applications/{app_id}/review")
    await expect(page.locator("h1")).to_have_text("Kiểm tra thông tin trước khi nộp")
    review_summary = page.locator(".error-summary")
    await expect(review_summary).to_contain_text("Ngày, tháng, năm sinh không được sau ngày hôm nay")
    await expect(review_summary).to_contain_text("Giấy chứng sinh: Chưa tải lên giấy tờ bắt buộc này.")
    await no_serious_violations(axe, page, "check page with problems")
    await page.get_by_role("link", name="Sửa thông tin").click()
    await expect(page).to_have_url(re.compile(r"/form$"))
    await expect(page.locator("[data-field=child_date_of_birth] .field-error")).to_contain_text(
        "không được sau ngày hôm nay"
    )
    await expect(page.locator("[data-document=birth_certificate_medical]")).to_contain_text("Chưa tải lên")
    await expect(page.locator(".error-summary")).to_contain_text("Ngày, tháng, năm sinh")
    await no_serious_violations(axe, page, "form after coming back from the check page")
    await screens.take(page, "form-back-from-check")

    # put right: today's date and the certificate; then on to the check page and submitted
    await date_input.fill(today.isoformat())
    await expect(page.locator("[data-field=child_date_of_birth] .field-error")).to_be_hidden()
    await page.locator("#doc-birth_certificate_medical").set_input_files(
        files=[{"name": "chung-sinh.pdf", "mimeType": "application/pdf", "buffer": PDF}]
    )
    await expect(page.locator("[data-document=birth_certificate_medical]")).to_contain_text("Đã tải lên")
    await expect(page.locator("#save-state")).to_have_attribute("data-state", "saved", timeout=15_000)
    await continue_to_check(page)
    await expect(page).to_have_url(re.compile(r"/review$"))
    await expect(page.locator(".error-summary")).to_be_hidden()
    await page.get_by_role("button", name="Nộp hồ sơ", exact=True).click()
    await expect(page.locator("h1")).to_have_text("Đã nộp hồ sơ")


async def test_the_procedure_page_has_steps_result_forms_fees_and_legal_texts_in_both_languages(
    open_page: Any, axe: Any, screens: Any
) -> None:
    page = await open_page(width=390)
    await page.goto(f"/procedures/{BIRTH}")
    main = page.locator("main")
    await expect(main.get_by_role("heading", name="Trình tự thực hiện")).to_be_visible()
    steps = page.locator("ol.steps li")
    assert await steps.count() == 4
    await expect(steps.first).to_contain_text("Nộp hồ sơ trực tuyến")
    await expect(main.get_by_role("heading", name="Mẫu đơn, tờ khai")).to_be_visible()
    await expect(page.locator("#procedure-templates")).to_contain_text("Tờ khai đăng ký khai sinh")
    result = page.locator("#procedure-result")
    await expect(result).to_contain_text("Giấy khai sinh (bản chính)")
    await expect(result).to_contain_text("Qua dịch vụ bưu chính công ích")
    await expect(result).to_contain_text("Bộ phận Một cửa của Ủy ban nhân dân xã, phường, đặc khu")
    fees = page.locator("#procedure-fees")
    await expect(fees).to_contain_text("Lệ phí đăng ký khai sinh quá hạn: Theo mức Hội đồng nhân dân cấp tỉnh quy định")
    await expect(fees).to_contain_text("sau 60 ngày kể từ ngày sinh")
    law = page.locator("#procedure-legal a").first
    await expect(law).to_have_text("Luật Hộ tịch số 60/2014/QH13")
    await expect(law).to_have_attribute("href", re.compile(r"^https://vbpl\.vn/.*60%2F2014%2FQH13$"))
    await no_serious_violations(axe, page, "procedure with its guidance")
    await screens.take(page, "procedure-guidance")

    await page.locator("#lang-switch").click()
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await expect(main.get_by_role("heading", name="Steps")).to_be_visible()
    await expect(page.locator("#procedure-fees")).to_contain_text("Late birth registration charge")
    await expect(page.locator("#procedure-result")).to_contain_text("Birth certificate (original)")
    await expect(page.locator("#procedure-legal a").first).to_have_text("Law on Civil Status No. 60/2014/QH13")
    await expect(page.locator("#procedure-legal [lang=vi]").first).to_have_text("Luật Hộ tịch số 60/2014/QH13")
    await no_serious_violations(axe, page, "procedure with its guidance in English")
    await page.locator("#lang-switch").click()

    # a procedure without a form of its own says so
    await page.goto("/procedures/CTH-BS-01")
    await expect(page.locator("#procedure-templates")).to_contain_text("Không có mẫu đơn, tờ khai riêng")


async def test_a_completed_dossier_says_what_where_and_how_to_collect(
    open_page: Any, platform: Any, outbox: Outbox, axe: Any, screens: Any
) -> None:
    async with httpx.AsyncClient(base_url=platform.url("gateway"), timeout=30) as client:
        citizen, _, _ = await citizen_tokens(client, outbox, full_name="Đỗ Văn Hùng", phone_prefix="097")
        data = {
            "child_full_name": "Đỗ Minh An",
            "child_date_of_birth": (vietnam_today().date() - timedelta(days=3)).isoformat(),
            "child_sex": "male",
            "place_of_birth": "Trạm y tế xã",
        }
        app_id, _ = await submitted_dossier(
            client, citizen, data, [("birth_certificate_medical", ("chung-sinh.pdf", PDF, "application/pdf"))]
        )
        page = await open_page(width=390)
        await signed_in(page, citizen)
        await page.goto(f"/applications/{app_id}")
        await expect(page.locator(".badge").first).to_be_visible()
        await expect(page.locator("#collect-result")).to_have_count(0)  # not before the result
        officer = await officer_tokens(client, "UBND-XA", full_name="Lê Văn Tư")
        for action in ("accept", "approve", "issue_result"):
            acted = await client.post(
                f"/v1/agency/applications/{app_id}/actions", headers=bearer(officer), json={"action": action}
            )
            assert acted.status_code == 200, acted.text
    await page.reload()
    panel = page.locator("#collect-result")
    await expect(panel.get_by_role("heading", name="Nhận kết quả")).to_be_visible()
    await expect(panel).to_contain_text("Giấy khai sinh (bản chính)")
    await expect(panel).to_contain_text("Nhận trực tiếp tại nơi nộp hồ sơ")
    await expect(panel).to_contain_text("Bộ phận Một cửa của Ủy ban nhân dân xã, phường, đặc khu nơi đã nộp hồ sơ")
    await expect(panel).to_contain_text("mang theo giấy tờ tùy thân")
    await no_serious_violations(axe, page, "completed dossier with where to collect")
    await screens.take(page, "dossier-collect")
