"""The officers' and admins' part of issue 23, in a real browser against the whole platform.

An officer's desk opens on the dossiers still open (with "all" a choice away) and finds one by its tracking
code; the dossier's PDF and image are previewed in the page; an action is chosen explicitly (nothing is
pre-selected) and confirmed in a dialog before it is sent. The citizen resubmitting a supplemented dossier is
told it went back to the agency, never that it was accepted. An admin who signs in lands on the admin page,
creates an officer with an agency and roles and changes the roles; the footer's API link opens `/docs`.
Officers and admins sign in with a second factor (TOTP) through motcua.devtools.staff; axe finds nothing serious.
"""

from __future__ import annotations

import json
import re
import struct
import uuid
import zlib
from typing import Any

import httpx
from motcua.devtools import staff
from motcua.devtools.testing_messages import Outbox
from playwright.async_api import expect

from .kit import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    OFFICER_PASSWORD,
    PDF,
    bearer,
    citizen_tokens,
    no_serious_violations,
    officer_tokens,
    signed_in,
    submitted_dossier,
)

BIRTH = {
    "child_full_name": "Đỗ Minh Anh",
    "child_date_of_birth": "2026-11-02",
    "child_sex": "female",
    "place_of_birth": "Bệnh viện Phụ sản Hà Nội",
}


def png(width: int = 4, height: int = 3) -> bytes:
    """A small real PNG (blue pixels), so the browser can draw it."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = b"".join(b"\x00" + b"\x1f\x4e\x9c" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


async def submitted(client: httpx.AsyncClient, citizen: dict[str, Any], *, with_image: bool) -> tuple[str, str]:
    """A birth registration with its PDF (and a PNG), submitted: its id and tracking code."""
    files = [("birth_certificate_medical", ("giay-chung-sinh.pdf", PDF, "application/pdf"))]
    if with_image:
        files.append(("marriage_certificate", ("ket-hon.png", png(), "image/png")))
    return await submitted_dossier(client, citizen, BIRTH, files)


async def test_the_desk_opens_on_open_dossiers_finds_by_code_previews_and_confirms_each_action(
    open_page: Any, platform: Any, outbox: Outbox, axe: Any, screens: Any
) -> None:
    base_url = platform.url("gateway")
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        citizen, email, _ = await citizen_tokens(client, outbox, full_name="Đỗ Thị Lan", phone_prefix="096")
        officer = await officer_tokens(client, "UBND-XA", full_name="Hoàng Văn Nam")
        app_id, code = await submitted(client, citizen, with_image=True)
        closed_id, closed_code = await submitted(client, citizen, with_image=False)
        rejected = await client.post(
            f"/v1/agency/applications/{closed_id}/actions",
            headers=bearer(officer),
            json={"action": "reject", "comment": "Hồ sơ không thuộc thẩm quyền của xã."},
        )
        assert rejected.status_code == 200, rejected.text

    desk = await open_page(width=1280)
    await signed_in(desk, officer)
    # the queue opens on the dossiers still open: the refused one is not there until "all" is chosen
    await desk.goto("/officer")
    await expect(desk.locator("h1")).to_have_text("Hồ sơ cần xử lý")
    await expect(desk.locator("tr", has_text=code)).to_be_visible()
    await expect(desk.locator("tr", has_text=closed_code)).to_have_count(0)
    await expect(desk.locator("#queue-status")).to_have_value("")  # "still open"
    await desk.locator("#queue-status").select_option("all")
    await desk.get_by_role("button", name="Lọc").click()
    await expect(desk).to_have_url(re.compile(r"/officer\?status=all$"))
    await expect(desk.locator("tr", has_text=closed_code)).to_be_visible()
    # found by its code, typed the way people type it (lower case, no dashes), or by its beginning
    await desk.get_by_label("Tìm theo mã hồ sơ").fill(code.replace("-", "").lower())
    await desk.locator("#queue-status").select_option("")
    await desk.get_by_role("button", name="Lọc").click()
    await expect(desk.locator("tbody tr")).to_have_count(1)
    await expect(desk.locator("tbody tr")).to_contain_text(code)
    await desk.get_by_label("Tìm theo mã hồ sơ").fill(closed_code)
    await desk.get_by_role("button", name="Lọc").click()
    await expect(desk.locator("tbody tr")).to_have_count(0)  # refused: not open
    await desk.get_by_label("Tìm theo mã hồ sơ").fill("HS-26A")  # meant as a code, and none begins so
    await desk.get_by_role("button", name="Lọc").click()
    search = desk.get_by_label("Tìm theo mã hồ sơ")
    await expect(search).to_have_attribute("aria-invalid", "true")
    await expect(desk.locator("#queue-q-error")).to_contain_text("HS rồi bốn chữ số")
    await no_serious_violations(axe, desk, "officer queue with a refused search")
    await screens.take(desk, "desk-search-refused")
    await search.fill(code[:9])
    await desk.get_by_role("button", name="Lọc").click()
    await expect(desk.locator("tr", has_text=code)).to_be_visible()
    await no_serious_violations(axe, desk, "officer queue searched")
    await desk.locator("tr", has_text=code).get_by_role("link", name=code).click()
    await expect(desk.locator("h1")).to_contain_text(code)

    # the PDF and the image shown in the page, fetched with the officer's token (no CSP complaint: see csp fixture)
    pdf_item = desk.locator("[data-document=birth_certificate_medical]")
    await pdf_item.get_by_role("button", name="Xem trước").click()
    frame = pdf_item.locator("iframe.preview-frame")
    await expect(frame).to_have_attribute("src", re.compile(r"^blob:"))
    await expect(frame).to_have_attribute("title", "Bản xem trước của giay-chung-sinh.pdf")
    await expect(pdf_item.get_by_role("button", name="Đóng bản xem trước")).to_have_attribute("aria-expanded", "true")
    # the PDF viewer loads in its frame (and may take focus and scroll to itself): wait for it before clicking on
    loaded = await (await frame.element_handle()).content_frame()
    assert loaded is not None
    await loaded.wait_for_load_state("load")
    await desk.wait_for_timeout(1000)
    image_item = desk.locator("[data-document=marriage_certificate]")
    await image_item.get_by_role("button", name="Xem trước").press("Enter")
    image = image_item.get_by_role("img", name="Bản xem trước của ket-hon.png")
    await expect(image).to_be_visible()
    assert await image.evaluate("(img) => img.complete && img.naturalWidth") == 4
    await no_serious_violations(axe, desk, "officer dossier with previews")
    await screens.take(desk, "desk-previews")
    # closed again: the previews leave the page
    for item in (pdf_item, image_item):
        await item.get_by_role("button", name="Đóng bản xem trước").press("Enter")
    await expect(desk.locator(".preview iframe, .preview img")).to_have_count(0)

    # nothing chosen beforehand; trying to go on without a choice says so, next to the choice
    assert await desk.locator("input[name=action]:checked").count() == 0
    await desk.get_by_role("button", name="Thực hiện").click()
    await expect(desk.locator("form[aria-labelledby=action-title] .error-summary")).to_contain_text(
        "Hãy chọn một thao tác."
    )
    await desk.get_by_role("radio", name="Yêu cầu bổ sung").check()
    await desk.get_by_label("Ghi chú gửi người nộp").fill("Bổ sung bản chụp rõ nét giấy chứng sinh.")
    await desk.get_by_role("button", name="Thực hiện").click()
    dialog = desk.get_by_role("dialog", name="Xác nhận thao tác")
    await expect(dialog).to_be_visible()
    await expect(dialog).to_contain_text(f"Bạn sắp thực hiện “Yêu cầu bổ sung” với hồ sơ {code}.")
    await expect(dialog).to_contain_text("Bổ sung bản chụp rõ nét giấy chứng sinh.")
    await expect(dialog.get_by_role("button", name="Xác nhận thực hiện")).to_be_focused()
    await no_serious_violations(axe, desk, "action confirmation dialog")
    await screens.take(desk, "desk-confirm", full_page=False)
    # going back sends nothing
    await dialog.get_by_role("button", name="Quay lại").click()
    await expect(dialog).to_be_hidden()
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        still = await client.get(f"/v1/applications/{app_id}", headers=bearer(officer))
        assert still.json()["status"] == "submitted"
    await desk.get_by_role("button", name="Thực hiện").click()
    await dialog.get_by_role("button", name="Xác nhận thực hiện").click()
    await expect(desk.locator("#action-result")).to_contain_text("Trạng thái mới: Cần bổ sung hồ sơ")

    # the citizen resubmits: told it went back to the agency, not that it was accepted
    own = await open_page(width=360)
    await signed_in(own, citizen)
    await own.goto(f"/applications/{app_id}/review")
    await own.get_by_role("button", name="Nộp lại hồ sơ đã bổ sung").click()
    told = own.locator("#resubmitted")
    await expect(told).to_have_text("Đã nộp lại hồ sơ đã bổ sung. Cơ quan sẽ xem xét tiếp và báo cho bạn kết quả.")
    await expect(own.locator("#timeline li").last).to_contain_text("Người nộp đã bổ sung và nộp lại hồ sơ.")
    await expect(own.locator(".badge").first).to_have_text("Đang xử lý")
    assert "tiếp nhận" not in await told.inner_text()
    await no_serious_violations(axe, own, "dossier just resubmitted")
    await screens.take(own, "dossier-resubmitted")
    sentence = await outbox.mail.find(email, r"Hồ sơ đã bổ sung của bạn đã được nộp lại[^\n]*", timeout=60)
    assert "tiếp nhận" not in sentence


async def test_an_admin_lands_on_the_admin_page_creates_an_officer_and_changes_roles(
    open_page: Any, platform: Any, axe: Any, screens: Any
) -> None:
    base_url = platform.url("gateway")
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        await staff.access_token(client, ADMIN_EMAIL, ADMIN_PASSWORD)  # enrols the admin's authenticator the first time
        code = await staff.enrolled(client, ADMIN_EMAIL).next_code()

    page = await open_page(width=1280)
    await page.goto("/login")
    await page.get_by_label("Email hoặc số điện thoại").fill(ADMIN_EMAIL)
    await page.locator("input[name=password]").fill(ADMIN_PASSWORD)
    await page.get_by_role("button", name="Đăng nhập").click()
    await expect(page.locator("h1")).to_have_text("Xác thực hai lớp")
    await page.get_by_label("Mã xác thực").fill(code)
    await page.get_by_role("button", name="Xác nhận", exact=True).click()
    await expect(page).to_have_url(re.compile(r"/admin$"))
    await expect(page.locator("h1")).to_have_text("Quản trị cán bộ")
    await expect(page.get_by_role("navigation", name=re.compile(".")).first).to_contain_text("Quản trị")
    await no_serious_violations(axe, page, "admin officers")

    # a new officer of the commune, intake and specialist only
    tag = uuid.uuid4().hex[:8]
    email = f"canbo.moi.{tag}@ubnd.example.vn"
    create = page.locator("form[aria-labelledby=create-title]")
    await create.get_by_role("button", name="Tạo tài khoản cán bộ").click()
    await expect(create.locator(".error-summary")).to_contain_text("Họ và tên")
    await create.get_by_label("Họ và tên").fill("Vũ Thị Mai")
    await create.get_by_label("Email").fill(email)
    await create.get_by_label("Số điện thoại di động").fill(f"083{int(tag, 16) % 10_000_000:07d}")
    await create.get_by_label("Mật khẩu ban đầu").fill(OFFICER_PASSWORD)
    await create.get_by_label("Cơ quan thực hiện").select_option("UBND-XA")
    await create.get_by_label("Lãnh đạo (phê duyệt)").uncheck()
    await create.get_by_role("button", name="Tạo tài khoản cán bộ").click()
    await expect(page).to_have_url(re.compile(r"/admin\?agency=UBND-XA$"))
    await expect(page.locator("#admin-result")).to_contain_text("Đã tạo tài khoản cán bộ Vũ Thị Mai")
    row = page.locator("#officers tr", has_text="Vũ Thị Mai")
    await expect(row.locator(".officer-roles")).to_have_text("Tiếp nhận, Chuyên viên")
    await no_serious_violations(axe, page, "admin officers of an agency")
    await screens.take(page, "admin-officers")

    # the roles changed: approver added, intake taken away
    await row.get_by_text("Đổi vai trò").click()
    await row.get_by_label("Lãnh đạo (phê duyệt)").check()
    await row.get_by_label("Tiếp nhận").uncheck()
    await row.get_by_role("button", name="Lưu vai trò").click()
    await expect(page.locator("#admin-result")).to_contain_text("Đã lưu vai trò của Vũ Thị Mai")
    await expect(page.locator("#officers tr", has_text="Vũ Thị Mai").locator(".officer-roles")).to_have_text(
        "Chuyên viên, Lãnh đạo (phê duyệt)"
    )
    # none ticked is refused in the page, beside the choice
    row = page.locator("#officers tr", has_text="Vũ Thị Mai")
    await row.get_by_text("Đổi vai trò").click()
    for label in ("Chuyên viên", "Lãnh đạo (phê duyệt)"):
        await row.get_by_label(label).uncheck()
    await row.get_by_role("button", name="Lưu vai trò").click()
    await expect(row).to_contain_text("Hãy chọn ít nhất một vai trò.")
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        admin = {"access_token": await staff.access_token(client, ADMIN_EMAIL, ADMIN_PASSWORD)}
        listed = await client.get("/v1/admin/officers?agency=UBND-XA&page_size=100", headers=bearer(admin))
        mine = [o for o in listed.json()["items"] if o["email"] == email]
        assert [o["agency_roles"] for o in mine] == [["specialist", "approver"]]

    # disabled, after a confirmation that says what follows: the officer cannot sign in any more
    await page.reload()
    row = page.locator("#officers tr", has_text="Vũ Thị Mai")
    await expect(row.locator(".officer-standing")).to_have_text("Đang hoạt động")
    await row.get_by_role("button", name="Khóa tài khoản").click()
    dialog = page.get_by_role("dialog")
    await expect(dialog).to_contain_text("Khóa tài khoản của Vũ Thị Mai?")
    await expect(dialog).to_contain_text("đăng xuất ngay trên mọi thiết bị")
    await expect(dialog.get_by_role("button", name="Xác nhận khóa")).to_be_focused()
    await no_serious_violations(axe, page, "admin disable confirmation")
    await dialog.get_by_role("button", name="Quay lại").click()
    await expect(row.locator(".officer-standing")).to_have_text("Đang hoạt động")  # going back sent nothing
    await row.get_by_role("button", name="Khóa tài khoản").click()
    await dialog.get_by_role("button", name="Xác nhận khóa").click()
    await expect(page.locator("#admin-result")).to_contain_text("Đã khóa tài khoản của Vũ Thị Mai.")
    row = page.locator("#officers tr", has_text="Vũ Thị Mai")
    await expect(row.locator(".officer-standing")).to_have_text("Đã khóa")
    locked_out = await open_page(width=1280)
    await locked_out.goto("/login")
    await locked_out.get_by_label("Email hoặc số điện thoại").fill(email)
    await locked_out.locator("input[name=password]").fill(OFFICER_PASSWORD)
    await locked_out.get_by_role("button", name="Đăng nhập").click()
    await expect(locked_out.locator(".error-summary")).to_contain_text("Tài khoản này đã bị khóa")
    await row.get_by_role("button", name="Mở khóa tài khoản").click()
    await expect(page.locator("#admin-result")).to_contain_text("Đã mở khóa tài khoản của Vũ Thị Mai.")
    await expect(page.locator("#officers tr", has_text="Vũ Thị Mai").locator(".officer-standing")).to_have_text(
        "Đang hoạt động"
    )

    # the footer's API link: the combined documentation at /docs, not raw JSON
    await page.get_by_role("link", name="Tài liệu API cho nhà phát triển").click()
    await expect(page).to_have_url(re.compile(r"/docs$"))
    await expect(page.locator("h1")).to_contain_text("API documentation")
    await expect(page.locator("main")).to_contain_text("/v1/agency/applications")
    await expect(page.locator("main")).to_contain_text("/v1/admin/officers")
    await no_serious_violations(axe, page, "API documentation")
    await screens.take(page, "api-docs")


async def test_an_admin_takes_a_procedure_from_draft_to_published_to_retired(
    open_page: Any, platform: Any, axe: Any, screens: Any
) -> None:
    base_url = platform.url("gateway")
    code = f"TEST-{uuid.uuid4().hex[:6].upper()}"
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        admin = await staff.sign_in(client, ADMIN_EMAIL, ADMIN_PASSWORD)  # the page's session needs its refresh token
        current = (await client.get("/v1/procedures/HT-KS-01")).json()
        version = (await client.get(f"/v1/procedures/HT-KS-01/versions/{current['version']}")).json()
        content = {k: v for k, v in version.items() if k not in ("code", "version", "published_at")}
        created = await client.post("/v1/procedures", headers=bearer(admin), json={**content, "code": code})
        assert created.status_code == 201, created.text

    page = await open_page(width=1280)
    await signed_in(page, admin)
    await page.goto("/admin")
    await (
        page.get_by_role("navigation", name="Các màn hình quản trị")
        .get_by_role("link", name="Quản trị thủ tục")
        .click()
    )
    await expect(page.locator("h1")).to_have_text("Quản trị thủ tục")
    await page.get_by_label("Mã thủ tục").fill(code.lower())
    await page.get_by_role("button", name="Mở", exact=True).click()
    await expect(page).to_have_url(re.compile(rf"/admin/procedures\?code={code}$"))
    await expect(page.locator("#procedure-status")).to_have_text("Bản nháp (chưa công bố)")
    await expect(page.locator("#schema-fields")).to_contain_text("child_full_name")
    await no_serious_violations(axe, page, "procedure draft")
    await screens.take(page, "admin-procedure-draft")

    editor = page.get_by_label("Nội dung thủ tục (JSON)")
    # checked in the page: not JSON, and a form schema that is not an object schema
    await editor.fill("{ không phải JSON")
    await page.get_by_role("button", name="Kiểm tra").click()
    await expect(editor).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#draft-content-error")).to_contain_text("Nội dung không phải JSON hợp lệ")
    await editor.fill(json.dumps({**content, "form_schema": {"type": "string"}}, ensure_ascii=False))
    await page.get_by_role("button", name="Kiểm tra").click()
    await expect(page.locator("#draft-content-error")).to_contain_text('form_schema phải là JSON Schema kiểu "object"')
    # checked by the catalogue: a time limit beyond a year, named by its pointer
    await editor.fill(json.dumps({**content, "processing_days": 9999}, ensure_ascii=False))
    await page.get_by_role("button", name="Lưu bản nháp").click()
    await expect(page.locator("#draft-content-error")).to_contain_text("/processing_days")
    await no_serious_violations(axe, page, "procedure draft refused")
    # a good draft: saved, published, then retired
    await editor.fill(json.dumps({**content, "fee_vnd": 8000}, ensure_ascii=False))
    await page.get_by_role("button", name="Lưu bản nháp").click()
    await expect(page.locator("#admin-result")).to_contain_text("Đã lưu bản nháp.")
    await page.get_by_role("button", name="Công bố bản nháp").click()
    await expect(page.locator("#admin-result")).to_contain_text("Đã công bố phiên bản mới.")
    await expect(page.locator("#procedure-status")).to_have_text("Đang áp dụng")
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        published = (await client.get(f"/v1/procedures/{code}")).json()
        assert published["fee_vnd"] == 8000
    await page.get_by_role("button", name="Ngừng áp dụng thủ tục").click()
    await expect(page.locator("#procedure-status")).to_have_text("Đã ngừng áp dụng")
    await no_serious_violations(axe, page, "procedure retired")
    await screens.take(page, "admin-procedure-retired")
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        assert (await client.get(f"/v1/procedures/{code}")).status_code in (404, 410)


async def overflow(page: Any) -> int:
    """How many CSS pixels the page is wider than the screen (0: nothing scrolls sideways but tables)."""
    return int(await page.evaluate("document.documentElement.scrollWidth - window.innerWidth"))


async def test_an_officer_on_a_phone_works_the_queue_and_a_dossier_without_sideways_scrolling(
    open_page: Any, platform: Any, outbox: Outbox, axe: Any, screens: Any
) -> None:
    async with httpx.AsyncClient(base_url=platform.url("gateway"), timeout=30) as client:
        citizen, _, _ = await citizen_tokens(client, outbox, full_name="Trần Thị Hoa", phone_prefix="097")
        officer = await officer_tokens(client, "UBND-XA", full_name="Phan Văn Đức")
        _, code = await submitted(client, citizen, with_image=False)

    phone = await open_page(width=390)
    await signed_in(phone, officer)
    await phone.goto("/officer")
    await expect(phone.locator("tr", has_text=code)).to_be_visible()
    assert await overflow(phone) == 0  # the queue's table scrolls in its own region, the page does not
    region = phone.get_by_role("region", name=re.compile("."))
    await expect(region.first).to_be_visible()
    await no_serious_violations(axe, phone, "officer queue on a phone")
    await screens.take(phone, "desk-queue-phone")

    await phone.locator("tr", has_text=code).get_by_role("link", name=code).click()
    await expect(phone.locator("h1")).to_contain_text(code)
    assert await overflow(phone) == 0
    # every choice and button of the action form is big enough for a thumb (40 px, as for citizens)
    form = phone.locator("form", has=phone.get_by_role("button", name="Thực hiện"))
    heights = await form.locator("input[type=radio]:visible, button:visible, textarea:visible").evaluate_all(
        "els => els.map(e => e.getBoundingClientRect().height)"
    )
    assert len(heights) >= 4  # the actions' radios and the button at least
    assert min(heights) >= 40, heights
    await no_serious_violations(axe, phone, "officer's dossier on a phone")
    await screens.take(phone, "desk-dossier-phone")
