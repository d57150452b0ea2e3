"""Issue 23: the portal as a citizen meets it on a slow phone — each check here failed on the portal before.

A 390×844 phone: the files of a release cached for good and one bundled script, the frame drawn before any
script runs; a compact header with a menu; touch targets of 40 px; the wish to apply kept through sign-in,
registration and verification; ways out of a dead verification link and an unverified sign-in; a recovery
code in a field of its own; the receipt that stands alone on paper; and the wording details.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx
from motcua.devtools.testing import eventually
from motcua.devtools.testing_messages import Outbox
from playwright.async_api import FilePayload, Page, expect

from .kit import (
    CITIZEN_PASSWORD,
    PDF,
    SMS_CODE,
    VERIFY_EMAIL_LINK,
    international,
    new_details,
    no_serious_violations,
    totp,
)
from .kit import activated_citizen as activated_citizen_through

PHONE = 390
BIRTH = "HT-KS-01"
IMMUTABLE = "public, max-age=31536000, immutable"


async def phone_page(open_page: Any) -> Page:
    page: Page = await open_page(width=PHONE)
    await page.set_viewport_size({"width": PHONE, "height": 844})
    return page


async def activated_citizen(base_url: str, outbox: Outbox) -> tuple[str, str]:
    """A citizen registered and confirmed through the API; returns (email, phone)."""
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        return await activated_citizen_through(client, outbox, full_name="Lê Thị Hoa", phone_prefix="094")


async def more(count: Callable[[], int], *, than: int) -> None:
    """Wait until `count()` is above `than` (a message arrived)."""

    async def above() -> bool:
        return count() > than

    await eventually(above, timeout=30, interval=0.2)


async def sign_in_here(page: Page, username: str) -> None:
    """The sign-in form of the page shown now."""
    await page.get_by_label("Email hoặc số điện thoại").fill(username)
    await page.locator("input[name=password]").fill(CITIZEN_PASSWORD)
    await page.get_by_role("button", name="Đăng nhập", exact=True).click()


async def test_a_release_is_cached_for_good_bundled_and_its_frame_drawn_before_any_script(
    open_page: Any, browser: Any, platform: Any, axe: Any
) -> None:
    page = await phone_page(open_page)
    cdp = await page.context.new_cdp_session(page)
    await cdp.send("Network.enable")
    asked: dict[str, str] = {}
    from_cache: set[str] = set()
    cdp.on("Network.requestWillBeSent", lambda e: asked.__setitem__(e["requestId"], e["request"]["url"]))
    cdp.on("Network.requestServedFromCache", lambda e: from_cache.add(e["requestId"]))
    cdp.on(
        "Network.responseReceived",
        lambda e: from_cache.add(e["requestId"]) if e["response"].get("fromDiskCache") else None,
    )
    answers: dict[str, dict[str, str]] = {}
    page.on("response", lambda r: answers.__setitem__(r.url, r.headers))
    home = await page.goto("/")
    assert home is not None
    assert home.headers["cache-control"] == "no-cache"
    await expect(page.locator("main h1")).to_be_visible()
    base = platform.url("gateway")
    scripts = [u for u in asked.values() if u.endswith(".js")]
    # one bundled script (plus its chunks) at the release's address: no walk through ~30 modules
    assert scripts, asked
    assert all(re.match(re.escape(base) + r"/_/[0-9a-f]{16}/dist/", u) for u in scripts), scripts
    assert len(scripts) <= 2, scripts
    styles = [u for u in asked.values() if u.endswith(".css")]
    assert styles, asked
    assert all("/_/" in u for u in styles), styles
    for url in scripts + styles:
        assert answers[url]["cache-control"] == IMMUTABLE, (url, answers[url])

    # a reload asks only for index.html: the release's files come from the browser's cache
    await page.wait_for_load_state("networkidle")  # the first load's late favicon request is not the reload's
    asked.clear()
    from_cache.clear()
    await page.reload()
    await expect(page.locator("main h1")).to_be_visible()
    fetched = [u for rid, u in asked.items() if "/_/" in u and rid not in from_cache]
    assert fetched == [], fetched

    # the frame (logo, name, footer) is in index.html itself: shown while the script is still on its way
    bare = await browser.new_context(base_url=base, java_script_enabled=False, viewport={"width": PHONE, "height": 844})
    try:
        still = await bare.new_page()
        await still.goto("/procedures/HT-KS-01")
        await expect(still.locator("#site-header .brand")).to_contain_text("Một Cửa")
        await expect(still.locator("#site-footer")).to_contain_text("Phần mềm mã nguồn mở")
        await expect(still.locator("#site-header img")).to_have_attribute("src", re.compile(r"^/_/[0-9a-f]{16}/"))
    finally:
        await bare.close()
    await no_serious_violations(axe, page, "home after a reload")


async def test_on_a_phone_the_header_is_one_row_with_a_menu_and_targets_are_40_px(
    open_page: Any, axe: Any, screens: Any
) -> None:
    page = await phone_page(open_page)
    await page.goto("/")
    await expect(page.locator("main h1")).to_be_visible()
    header = await page.locator("#site-header").bounding_box()
    assert header is not None
    assert header["height"] <= 80, f"the header takes {header['height']} of 844 px"
    toggle = page.get_by_role("button", name="Menu")
    await expect(toggle).to_have_attribute("aria-expanded", "false")
    await expect(page.get_by_role("navigation").get_by_role("link", name="Tra cứu hồ sơ")).to_be_hidden()
    await toggle.click()
    await expect(page.locator("#menu-toggle")).to_have_attribute("aria-expanded", "true")
    await expect(page.locator("#menu-toggle")).to_be_focused()
    await expect(page.get_by_role("navigation").get_by_role("link", name="Tra cứu hồ sơ")).to_be_visible()
    await no_serious_violations(axe, page, "home with the menu open")
    await screens.take(page, "phone-menu-open", full_page=False)
    await page.get_by_role("navigation").get_by_role("link", name="Đăng ký tài khoản").click()
    await expect(page.locator("h1")).to_have_text("Đăng ký tài khoản")
    await expect(page.locator("#menu-toggle")).to_have_attribute("aria-expanded", "false")  # a new page closes it
    small = await page.evaluate(
        """() => [...document.querySelectorAll(
                'main input[type=radio], main input[type=checkbox], main button, #site-header button')]
            .filter((e) => e.offsetParent !== null)
            .map((e) => ({ name: e.name || e.id || e.textContent.trim(), w: e.getBoundingClientRect().width,
                           h: e.getBoundingClientRect().height }))
            .filter((r) => r.w < 40 || r.h < 40)"""
    )
    assert small == [], small
    await screens.take(page, "phone-register", full_page=False)
    # wide screens keep the navigation in view and no menu button
    await page.set_viewport_size({"width": 1280, "height": 900})
    await expect(page.locator("#menu-toggle")).to_be_hidden()
    await expect(page.get_by_role("navigation").get_by_role("link", name="Tra cứu hồ sơ")).to_be_visible()


async def test_the_wish_to_apply_survives_sign_in_registration_and_verification(
    open_page: Any, platform: Any, outbox: Outbox, axe: Any, screens: Any
) -> None:
    base = platform.url("gateway")
    known, _ = await activated_citizen(base, outbox)
    page = await phone_page(open_page)
    await page.goto(f"/procedures/{BIRTH}")
    await page.get_by_role("button", name="Nộp hồ sơ trực tuyến").click()
    await expect(page.locator("h1")).to_have_text("Đăng nhập")
    await expect(page.locator("#signin-reason")).to_contain_text(f"nộp hồ sơ thủ tục {BIRTH}")
    await no_serious_violations(axe, page, "sign-in with a reason")
    await screens.take(page, "sign-in-to-apply")
    await sign_in_here(page, known)
    await expect(page).to_have_url(re.compile(r"/applications/[^/]+/form$"))
    await expect(page.locator("h1")).to_contain_text("Đăng ký khai sinh")

    # a newcomer: from the same sign-in page to registration, an unverified sign-in, the SMS code, the link
    other = await phone_page(open_page)
    await other.goto(f"/procedures/{BIRTH}")
    await other.get_by_role("button", name="Nộp hồ sơ trực tuyến").click()
    await other.get_by_role("link", name="Chưa có tài khoản? Đăng ký").click()
    await expect(other.locator("h1")).to_have_text("Đăng ký tài khoản")
    email, phone, national_id = new_details("094")
    await other.locator("input[name=full_name]").fill("Phạm Văn Nam")
    await other.locator("input[name=email]").fill(email)
    await other.locator("input[name=phone]").fill(phone)
    await other.locator("input[name=national_id]").fill(national_id)
    await other.locator("input[name=password]").fill(CITIZEN_PASSWORD)
    await other.get_by_role("button", name="Tạo tài khoản").click()
    await expect(other.locator("h1")).to_have_text("Xác nhận số điện thoại")
    assert "next=" in other.url
    first_link = await outbox.mail.find(email, VERIFY_EMAIL_LINK, timeout=30)

    # a link that does not work is not a dead end: a new one is one press away
    await other.goto("/verify-email?token=khong-phai-lien-ket-that")
    await expect(other.get_by_role("heading", name="Nhận liên kết mới")).to_be_visible()
    await no_serious_violations(axe, other, "a dead verification link")
    await screens.take(other, "verification-link-invalid")
    await other.wait_for_timeout(1200)  # one message a second at most here (IDENTITY_RESEND_INTERVAL_SECONDS)
    await other.get_by_role("button", name="Gửi lại email xác nhận").click()
    await expect(other.get_by_text("Đã gửi email xác nhận mới.")).to_be_visible()
    await more(lambda: len(outbox.mail.to(email)), than=1)
    assert first_link not in outbox.mail.to(email)[-1].text  # a new link, replacing the first

    # signing in before verifying: told so, with the way to the SMS code page (which resends)
    await other.goto("/login")
    await sign_in_here(other, email)
    await expect(other.locator(".error-summary")).to_contain_text("Tài khoản chưa được kích hoạt")
    await other.get_by_role("link", name="Nhập mã SMS hoặc gửi lại").click()
    await expect(other.locator("h1")).to_have_text("Xác nhận số điện thoại")
    before = len(outbox.sms.to(international(phone)))
    await other.wait_for_timeout(1200)
    await other.get_by_role("button", name="Gửi lại mã SMS").click()
    await expect(other.get_by_text("Đã gửi mã mới.")).to_be_visible()
    await more(lambda: len(outbox.sms.to(international(phone))), than=before)
    code = re.search(SMS_CODE, outbox.sms.to(international(phone))[-1].text)
    assert code is not None
    await other.get_by_label("Mã xác nhận trong SMS").fill(code.group(1))
    await other.get_by_role("button", name="Xác nhận", exact=True).click()
    await expect(other.get_by_text("Còn một bước")).to_be_visible()
    # the newest emailed link, opened in another tab of the same browser, still knows where they were going
    newest = re.search(VERIFY_EMAIL_LINK, outbox.mail.to(email)[-1].text)
    assert newest is not None
    mail_tab = await other.context.new_page()
    await mail_tab.goto(newest.group(0))
    await expect(mail_tab.get_by_text("Tài khoản của bạn đã được kích hoạt.")).to_be_visible()
    await expect(mail_tab.get_by_text(f"tờ khai của thủ tục {BIRTH}")).to_be_visible()
    await mail_tab.locator("#verified-sign-in").click()
    await expect(mail_tab.locator("#signin-reason")).to_contain_text(BIRTH)
    await sign_in_here(mail_tab, email)
    await expect(mail_tab).to_have_url(re.compile(r"/applications/[^/]+/form$"))


async def test_two_factor_takes_a_recovery_code_in_its_own_field_and_says_a_wrong_code_inline(
    open_page: Any, platform: Any, outbox: Outbox, axe: Any, screens: Any
) -> None:
    email, phone = await activated_citizen(platform.url("gateway"), outbox)
    page = await phone_page(open_page)
    await page.goto("/login")
    await sign_in_here(page, email)
    await expect(page.locator("h1")).to_have_text("Hồ sơ của tôi")
    await page.goto("/account")
    # the phone as people write it
    await expect(page.locator("main")).to_contain_text(f"{phone[:4]} {phone[4:7]} {phone[7:]}")
    await expect(page.locator("main")).not_to_contain_text(international(phone))
    await page.get_by_role("button", name="Bật xác thực hai lớp").click()
    await page.get_by_label("Mật khẩu của bạn").fill(CITIZEN_PASSWORD)
    await page.get_by_role("button", name="Bật xác thực hai lớp").click()
    # on a phone, the QR code cannot scan itself: a link opens the authenticator app
    link = page.locator("#otpauth-link")
    await expect(link).to_be_visible()
    assert (await link.get_attribute("href") or "").startswith("otpauth://totp/")
    secret = await page.locator("#mfa-secret").get_attribute("data-secret")
    assert secret
    await page.get_by_label("Mã từ ứng dụng xác thực").fill(totp(secret))
    await page.get_by_role("button", name="Xác nhận và bật").click()
    codes = page.locator("#recovery-codes code")
    await expect(codes).to_have_count(10)
    lines = await codes.evaluate_all("(all) => all.map((c) => c.getClientRects().length)")
    assert lines == [1] * 10, f"recovery codes broken over lines: {lines}"
    recovery = (await codes.all_inner_texts())[0].strip()
    await screens.take(page, "recovery-codes-phone")

    await page.evaluate("() => sessionStorage.clear()")
    await page.goto("/login")
    await sign_in_here(page, email)
    await expect(page.locator("h1")).to_have_text("Xác thực hai lớp")
    await page.get_by_label("Mã xác thực").fill("000000" if totp(secret, 1) != "000000" else "111111")
    await page.get_by_role("button", name="Xác nhận", exact=True).click()
    await expect(page.locator("[data-field=code] .field-error")).to_contain_text("Mã không đúng")
    await expect(page.get_by_label("Mã xác thực")).to_have_attribute("aria-invalid", "true")
    await no_serious_violations(axe, page, "a wrong second-factor code")
    await page.get_by_text("Không có điện thoại? Dùng mã khôi phục").click()
    field = page.get_by_label("Mã khôi phục")
    await expect(field).to_be_visible()
    assert await field.get_attribute("inputmode") is None  # letters: not the numeric keypad
    await field.fill(recovery)
    await page.get_by_role("button", name="Xác nhận", exact=True).click()
    await expect(page.locator("h1")).to_have_text("Hồ sơ của tôi")


async def test_the_receipt_keeps_the_code_on_one_line_and_stands_alone_on_paper(
    open_page: Any, platform: Any, outbox: Outbox, axe: Any, screens: Any
) -> None:
    email, _ = await activated_citizen(platform.url("gateway"), outbox)
    page = await phone_page(open_page)
    await page.goto("/login")
    await sign_in_here(page, email)
    await expect(page.locator("h1")).to_have_text("Hồ sơ của tôi")
    await page.goto(f"/procedures/{BIRTH}")
    await page.get_by_role("button", name="Nộp hồ sơ trực tuyến").click()
    await expect(page).to_have_url(re.compile(r"/applications/[^/]+/form$"))
    await page.get_by_label("Họ, chữ đệm và tên của trẻ").fill("Lê Minh An")
    await page.get_by_label("Ngày, tháng, năm sinh").fill("2026-11-02")
    await page.get_by_label("Giới tính").select_option("female")
    await page.get_by_label("Nơi sinh").fill("Bệnh viện Phụ sản Hà Nội")
    certificate: FilePayload = {"name": "giay-chung-sinh.pdf", "mimeType": "application/pdf", "buffer": PDF}
    await page.locator("#doc-birth_certificate_medical").set_input_files(files=[certificate])
    await expect(page.locator("[data-document=birth_certificate_medical]")).to_contain_text("Đã tải lên")
    await expect(page.locator("#save-state")).to_have_attribute("data-state", "saved", timeout=15_000)
    await page.get_by_role("button", name="Tiếp tục: kiểm tra hồ sơ").click()
    await page.get_by_role("button", name="Nộp hồ sơ", exact=True).click()
    await expect(page.locator("h1")).to_have_text("Đã nộp hồ sơ")
    code = page.locator("#tracking-code")
    tracking = (await code.inner_text()).strip()
    box = await code.bounding_box()
    line = await code.evaluate("(e) => parseFloat(getComputedStyle(e).lineHeight)")
    assert box is not None
    assert box["height"] < 1.5 * line, f"the tracking code wraps: {box['height']} px for lines of {line} px"
    assert await code.evaluate("(e) => e.scrollWidth <= e.clientWidth"), "the tracking code overflows"
    await no_serious_violations(axe, page, "receipt on a phone")
    await page.emulate_media(media="print")
    receipt = page.locator("#receipt")
    await expect(receipt).to_contain_text("Lê Thị Hoa")  # the applicant
    await expect(receipt).to_contain_text("Đăng ký khai sinh")
    await expect(receipt).to_contain_text("Ủy ban nhân dân")
    await expect(page.locator("#due-date")).not_to_be_empty()
    await expect(page.locator("#receipt-lookup-url")).to_have_text(f"{platform.url('gateway')}/lookup/{tracking}")
    await expect(receipt.get_by_role("img", name="Mã QR của địa chỉ tra cứu hồ sơ")).to_be_visible()
    await screens.take(page, "receipt-printed")
    await page.emulate_media(media="screen")

    # the inbox: the quotes are Vietnamese ones; marking as read updates the counts and keeps the focus
    card = page.locator("[data-notification]").filter(has_text=tracking).first
    for _ in range(30):  # the notice of receipt arrives through the broker
        await page.goto("/notifications")
        await expect(page.locator("h1")).to_have_text("Thông báo")
        if await card.count():
            break
        await page.wait_for_timeout(1000)
    await expect(card).to_contain_text("“Đăng ký khai sinh”")
    await expect(page.locator("main")).not_to_contain_text("«")
    count = page.locator("#inbox-count")
    before = await count.inner_text()
    await card.get_by_role("button", name="Đánh dấu đã đọc").click()
    await expect(count).not_to_have_text(before)
    assert await page.evaluate("() => document.activeElement !== document.body")
    await page.locator("#menu-toggle").click()
    unread = int(re.search(r"(\d+) chưa đọc", await count.inner_text()).group(1))  # type: ignore[union-attr]
    nav = page.locator("#nav-notifications")
    await expect(nav).to_have_text(f"Thông báo ({unread} chưa đọc)" if unread else "Thông báo")
    # emails are in the portal's blue
    parts = [m.message.get_body(("html",)) for m in outbox.mail.to(email)]
    htmls = [p.get_content() for p in parts if p is not None]
    assert htmls
    assert all("#0b4f9c" in c and "#b71c1c" not in c for c in htmls)


async def test_the_wording_and_details_read_right(open_page: Any, axe: Any) -> None:
    page = await phone_page(open_page)
    await page.goto("/register")
    await expect(page.locator("main")).to_contain_text("cụm từ dài 15 ký tự trở lên")
    await page.locator("input[name=national_id]").fill("123")
    await page.get_by_role("button", name="Tạo tài khoản").click()
    summary = page.locator(".error-summary")
    await expect(summary).to_contain_text("Số định danh cá nhân")
    entry = await summary.locator("li").filter(has_text="Số định danh").inner_text()
    assert entry.count("Số định danh") == 1, entry
    await expect(summary.locator("h2")).to_have_text("Có thông tin cần sửa")

    # offline: not "there is a problem to fix" but its own heading
    await page.goto("/login")
    await page.context.set_offline(True)
    await sign_in_here(page, "khong.co@example.vn")
    await expect(page.locator(".error-summary h2")).to_have_text("Chưa thực hiện được")
    await page.context.set_offline(False)

    # the logo is the same element from page to page (no reload, no flicker)
    await page.goto("/")
    await expect(page.locator("main h1")).to_be_visible()
    await page.evaluate("() => { document.querySelector('#site-header img').dataset.mark = 'same'; }")
    await page.locator("main").get_by_role("link", name="Đăng nhập").click()
    await expect(page.locator("h1")).to_have_text("Đăng nhập")
    await expect(page.locator("#site-header img")).to_have_attribute("data-mark", "same")

    # English: one working day, and the Vietnamese legal texts marked as Vietnamese
    await page.goto(f"/procedures/{BIRTH}")
    await page.locator("#lang-switch").click()
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await expect(page.locator(".facts")).to_contain_text("1 working day")
    await expect(page.locator(".facts")).not_to_contain_text("1 working days")
    legal = page.locator("#procedure-legal [lang=vi]")
    await expect(legal.first).to_be_visible()
    await no_serious_violations(axe, page, "procedure in English")
    await page.locator("#lang-switch").click()
