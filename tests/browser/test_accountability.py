"""The service index in a real browser: anyone opens an agency's public page (the month's figures, the
12-month SVG chart with its table, the ranking) in Vietnamese and English, axe clean and with no personal
data; an officer of the agency opens its dashboard (per procedure, the applicants' comments) and exports it
as CSV. The dossier behind the figures is submitted and refused at intake through the API, then rated by its
applicant on its page in the portal (once: the form gives way to the rating given)."""

from __future__ import annotations

import re
from typing import Any

import httpx
from motcua.devtools.testing import eventually
from motcua.devtools.testing_messages import Outbox
from playwright.async_api import expect

from .kit import PDF, bearer, citizen_tokens, no_serious_violations, officer_tokens, signed_in, submitted_dossier

BIRTH = {
    "child_full_name": "Lê Hoàng Phúc",
    "child_date_of_birth": "2026-11-02",
    "child_sex": "male",
    "place_of_birth": "Bệnh viện Phụ sản Hà Nội",
}
COMMENT = "Cán bộ Lê Văn Tâm hướng dẫn rất tận tình."


async def refused(client: httpx.AsyncClient, citizen: dict[str, Any], officer: dict[str, Any]) -> tuple[str, str]:
    """A birth registration submitted and refused at intake: its id and tracking code."""
    documents = [("birth_certificate_medical", ("chung-sinh.pdf", PDF, "application/pdf"))]
    app_id, tracking = await submitted_dossier(client, citizen, BIRTH, documents)
    answer = await client.post(
        f"/v1/agency/applications/{app_id}/actions",
        headers=bearer(officer),
        json={"action": "reject", "comment": "Hồ sơ không thuộc thẩm quyền của xã."},
    )
    assert answer.status_code == 200, answer.text
    return app_id, tracking


async def test_the_public_index_and_the_agency_dashboard(
    open_page: Any, platform: Any, outbox: Outbox, axe: Any, screens: Any
) -> None:
    base_url = platform.url("gateway")
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        agency = (await client.get("/v1/procedures/HT-KS-01")).json()["agency_code"]
        citizen, email, phone = await citizen_tokens(client, outbox, full_name="Lê Thị Hoa", phone_prefix="094")
        officer = await officer_tokens(client, agency, full_name="Phạm Văn Đức")
        app_id, tracking = await refused(client, citizen, officer)

    # the applicant rates the refused dossier on its page, once
    own = await open_page(width=360)
    await signed_in(own, citizen)
    await own.goto(f"/applications/{app_id}")
    form = own.locator("#rating-form")
    await expect(form).to_be_visible()
    await form.get_by_role("button", name="Gửi đánh giá").click()
    await expect(form.locator(".error-summary")).to_contain_text("Hướng dẫn có rõ ràng không?: Chọn điểm từ 1 đến 5.")
    await own.locator("fieldset[data-field=guidance]").get_by_label("5 — Rất tốt").check()
    await own.locator("fieldset[data-field=timeliness]").get_by_label("4 — Tốt").check()
    await own.locator("fieldset[data-field=courtesy]").get_by_label("5 — Rất tốt").check()
    await own.get_by_label("Góp ý (không bắt buộc)").fill(COMMENT)
    await no_serious_violations(axe, own, "dossier with its rating form")
    await form.get_by_role("button", name="Gửi đánh giá").click()
    await expect(own.locator("#my-rating")).to_contain_text("Cảm ơn bạn")
    await screens.take(own, "dossier-rated")
    await own.reload()
    await expect(own.locator("#my-rating")).to_contain_text(COMMENT)  # rated once: no form any more
    await expect(own.locator("#rating-form")).to_have_count(0)

    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:

        async def indexed() -> bool:
            found = await client.get(f"/v1/public/agencies/{agency}/index")
            return found.status_code == 200 and found.json()["ratings"] >= 1

        await eventually(indexed, timeout=60)

    page = await open_page(width=1280)
    await page.goto("/index")
    await expect(page.locator("h1")).to_have_text("Chỉ số phục vụ của các cơ quan")
    await page.locator(f"#ranking tr[data-agency='{agency}'] a").click()
    await expect(page).to_have_url(re.compile(rf"/agencies/{agency}/index\?month=\d{{4}}-\d{{2}}$"))
    await expect(page.locator("h1")).to_contain_text("Chỉ số phục vụ —")
    figures = page.locator("section[aria-labelledby=index-figures]")
    await expect(figures).to_contain_text("Lượt đánh giá")
    chart = page.get_by_role("img", name="Hồ sơ giải quyết đúng hạn và quá hạn theo từng tháng")
    await expect(chart).to_be_visible()
    await expect(page.locator("#months-table tbody tr")).to_have_count(12)
    await expect(page.locator(f"#ranking tr[data-agency='{agency}'].current")).to_be_visible()
    text = await page.locator("main").inner_text()
    for personal in (tracking, email, phone, COMMENT, "Lê Hoàng Phúc", "Lê Thị Hoa"):
        assert personal not in text
    await no_serious_violations(axe, page, "public index")
    await screens.take(page, "public-index-vi")
    await page.locator("#lang-switch").click()
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await expect(page.get_by_role("img", name="Dossiers decided on time and late, month by month")).to_be_visible()
    await no_serious_violations(axe, page, "public index (English)")
    await screens.take(page, "public-index-en")
    # a phone-sized screen: the table goes below the chart, nothing overflows sideways
    await page.set_viewport_size({"width": 360, "height": 800})
    assert await page.evaluate("() => document.documentElement.scrollWidth") <= 360
    await page.locator("#lang-switch").click()
    await expect(page.locator("html")).to_have_attribute("lang", "vi")

    # the agency's officer: its dashboard, signed in with tokens got through the API
    desk = await open_page(width=1280)
    await signed_in(desk, officer)
    await desk.goto("/officer/dashboard")
    await expect(desk.locator("h1")).to_have_text("Bảng theo dõi của cơ quan")
    await expect(desk.locator("#per-procedure")).to_contain_text("HT-KS-01")
    await expect(desk.locator("#rating-comments")).to_contain_text(COMMENT)
    await no_serious_violations(axe, desk, "agency dashboard")
    await screens.take(desk, "agency-dashboard")
    async with desk.expect_download() as waiting:
        await desk.get_by_role("button", name="Tải về dạng CSV").click()
    download = await waiting.value
    assert download.suggested_filename.startswith(f"dashboard-{agency}-")
    csv = (await download.path()).read_text(encoding="utf-8")
    assert csv.splitlines()[0].startswith("scope,code,name,received")
    assert "procedure,HT-KS-01," in csv
