"""Issue 23, "the officer cannot see who applied", in a real browser against the whole platform.

The citizen's review page shows the applicant section read from their account, each detail with "change in your
account"; once submitted, the agency's officer reads the applicant as filed on the dossier's page, sees them in
the queue's applicant column, and finds the dossier by the beginning of the name typed without diacritics.
axe finds nothing serious on any of these pages.
"""

from __future__ import annotations

import json
import random
from typing import Any

import httpx
from motcua.devtools.testing_messages import Outbox
from playwright.async_api import expect

from .kit import PDF, bearer, citizen_tokens, no_serious_violations, officer_tokens, signed_in, submitted_dossier

BIRTH = {
    "child_full_name": "Nguyễn Minh Khôi",
    "child_date_of_birth": "2026-11-02",
    "child_sex": "male",
    "place_of_birth": "Trạm y tế xã Đông Anh",
}
CERTIFICATE = [("birth_certificate_medical", ("giay-chung-sinh.pdf", PDF, "application/pdf"))]


def a_given_name() -> str:
    """A name of letters no other test uses (the agency's queue is shared by the run's tests)."""
    return "".join(random.choice("bcdghklmnpqrstvx") for _ in range(7)).capitalize()


async def test_the_review_page_shows_the_applicant_and_the_officer_reads_them_on_the_dossier_and_the_queue(
    open_page: Any, platform: Any, outbox: Outbox, axe: Any, screens: Any
) -> None:
    given = a_given_name()
    full_name = f"Nguyễn Thị {given}"
    async with httpx.AsyncClient(base_url=platform.url("gateway"), timeout=30) as client:
        citizen, email, phone = await citizen_tokens(client, outbox, full_name=full_name, phone_prefix="094")
        national_id = (await client.get("/v1/accounts/me", headers=bearer(citizen))).json()["national_id"]
        officer = await officer_tokens(client, "UBND-XA", full_name="Lê Văn Tiếp")
        # a draft filled and with its certificate, for the review page
        draft = await client.post("/v1/applications", json={"procedure_code": "HT-KS-01"}, headers=bearer(citizen))
        assert draft.status_code == 201, draft.text
        draft_id = draft.json()["id"]
        saved = await client.patch(
            f"/v1/applications/{draft_id}",
            content=json.dumps({"data": BIRTH}),
            headers={
                **bearer(citizen),
                "Content-Type": "application/merge-patch+json",
                "If-Match": draft.headers["etag"],
            },
        )
        assert saved.status_code == 200, saved.text
        key, file = CERTIFICATE[0]
        uploaded = await client.post(
            f"/v1/applications/{draft_id}/documents",
            headers=bearer(citizen),
            data={"document_key": key},
            files={"file": file},
        )
        assert uploaded.status_code == 201, uploaded.text
        app_id, code = await submitted_dossier(client, citizen, BIRTH, CERTIFICATE)
    shown_phone = f"{phone[:4]} {phone[4:7]} {phone[7:]}"  # 0941234567 → 0941 234 567

    # the citizen's review page: who files the dossier, from the account, each with "change in your account"
    page = await open_page(width=390)
    await signed_in(page, citizen)
    await page.goto(f"/applications/{draft_id}/review")
    section = page.locator("#review-applicant")
    await expect(section.get_by_role("heading", name="Người nộp hồ sơ")).to_be_visible()
    await expect(section.locator("[data-applicant=full_name]")).to_have_text(full_name)
    await expect(section.locator("[data-applicant=national_id]")).to_have_text(national_id)
    await expect(section.locator("[data-applicant=phone]")).to_have_text(shown_phone)
    await expect(section.locator("[data-applicant=email]")).to_have_text(email)
    change = section.get_by_role("link", name="Thay đổi trong tài khoản (số điện thoại di động)")
    await expect(change).to_have_attribute("href", "/account")
    await expect(section.get_by_role("link", name="Thay đổi trong tài khoản", exact=True)).to_have_count(
        0
    )  # per detail
    assert await section.locator("a.change-link").count() == 4  # name, citizen ID, phone, email
    await no_serious_violations(axe, page, "review with the applicant section")
    await screens.take(page, "review-applicant")

    # the officer's queue: an applicant column, and the dossier found by the name typed without diacritics
    desk = await open_page(width=1280)
    await signed_in(desk, officer)
    await desk.goto("/officer")
    await expect(desk.locator("table.queue thead")).to_contain_text("Người nộp")
    row = desk.locator("tbody tr", has_text=code)
    await expect(row.locator("td.applicant")).to_have_text(full_name)
    await desk.get_by_label("Tìm theo mã hồ sơ hoặc người nộp").fill(f"nguyen thi {given[:4].lower()}")
    await desk.get_by_role("button", name="Lọc").click()
    await expect(desk.locator("tbody tr")).to_have_count(1)
    await expect(desk.locator("tbody tr td.applicant")).to_have_text(full_name)
    await no_serious_violations(axe, desk, "officer queue searched by name")
    await screens.take(desk, "desk-applicant-column")

    # the dossier's page: the applicant as filed at submission
    await desk.locator("tbody tr").get_by_role("link", name=code).click()
    await expect(desk.locator("h1")).to_contain_text(code)
    filed = desk.locator("#applicant")
    await expect(filed.get_by_role("heading", name="Người nộp hồ sơ")).to_be_visible()
    await expect(filed.locator("[data-applicant=full_name]")).to_have_text(full_name)
    await expect(filed.locator("[data-applicant=national_id]")).to_have_text(national_id)
    await expect(filed.locator("[data-applicant=phone]")).to_have_text(shown_phone)
    await expect(filed.locator("[data-applicant=email]")).to_have_text(email)
    await expect(filed).to_contain_text("Cá nhân")
    await expect(filed.locator("a")).to_have_count(0)  # the officer changes nothing here
    await no_serious_violations(axe, desk, "officer dossier with its applicant")
    await screens.take(desk, "desk-applicant")
    assert app_id
