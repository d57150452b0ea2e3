"""The whole platform as `make run` starts it, and a real browser (Debian's chromium) driven by Playwright.

The platform runs as separate processes (`motcua.common.devservers.start_platform`), with an
aiosmtpd SMTP server and an HTTP endpoint standing for the SMS provider, both in this process, so a
test reads the verification link and code the way a person would find them. The browser talks to
the gateway only, with its Content-Security-Policy enforced; a CSP violation fails the test.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import re
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from motcua.common import devservers
from motcua.common.testing import eventually
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
AXE = ROOT / "portal" / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]
ADMIN_EMAIL = "quantri.portal@motcua.example.vn"  # identity refuses special-use domains such as .local
ADMIN_PASSWORD = "Quản-trị-Cổng-Thử-Nghiệm-2026"
OFFICER_PASSWORD = "cán bộ xã tiếp nhận hồ sơ mỗi sáng"


@dataclass
class Outbox:
    """Every email the SMTP server accepted and every SMS the endpoint received."""

    mails: list[tuple[list[str], str, str]] = field(default_factory=list)
    sms: list[tuple[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def link(self, to: str, pattern: str) -> str:
        """The first link matching `pattern` in a mail to `to` (waits for it)."""

        async def find() -> str | None:
            with self.lock:
                for rcpt, _, text in self.mails:
                    found = re.search(pattern, text) if to in rcpt else None
                    if found:
                        return found.group(0)
            return None

        found: str = await eventually(find, timeout=30)
        return found

    async def code(self, phone_digits: str, seen: int = 0) -> str:
        """The 6-digit code of the SMS number `seen` (0: the first) to a phone ending in these digits."""

        async def find() -> str | None:
            with self.lock:
                texts = [text for to, text in self.sms if to.endswith(phone_digits)]
            if len(texts) > seen:
                found = re.search(r"\b(\d{6})\b", texts[seen])
                return found.group(1) if found else None
            return None

        found: str = await eventually(find, timeout=30)
        return found


class KeepMail:
    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        body = message.get_body(preferencelist=("plain",))
        text = body.get_content() if body is not None else ""
        with self.outbox.lock:
            self.outbox.mails.append((list(envelope.rcpt_tos), str(message["subject"]), text))
        return "250 OK"


def _sms_endpoint(outbox: Outbox) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            payload = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
            with outbox.lock:
                outbox.sms.append((payload["to"], payload["text"]))
            self.send_response(202)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return

    return ThreadingHTTPServer(("127.0.0.1", devservers.free_port()), Handler)


@pytest.fixture(scope="module")
def outbox() -> Outbox:
    return Outbox()


@pytest.fixture(scope="module")
def message_servers(outbox: Outbox) -> Iterator[dict[str, str]]:
    smtp_port = devservers.free_port()
    controller = Controller(KeepMail(outbox), hostname="127.0.0.1", port=smtp_port)
    controller.start()
    sms = _sms_endpoint(outbox)
    thread = threading.Thread(target=sms.serve_forever, daemon=True)
    thread.start()
    try:
        yield {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(smtp_port), "SMS_PROVIDER": "webhook",
               "SMS_WEBHOOK_URL": f"http://127.0.0.1:{sms.server_address[1]}/sms"}
    finally:
        sms.shutdown()
        sms.server_close()
        controller.stop()


def _tail(log_dir: Path) -> str:
    parts = []
    for log in sorted(log_dir.glob("*.log")):
        parts.append(f"--- {log.name}\n" + "\n".join(log.read_text(errors="replace").splitlines()[-15:]))
    return "\n".join(parts)


@pytest.fixture(scope="module")
async def platform(
    tmp_path_factory: pytest.TempPathFactory, message_servers: dict[str, str]
) -> AsyncIterator[devservers.Platform]:
    """Every service and server as separate processes on free ports; stopped by PID afterwards."""
    if not CHROMIUM.is_file():  # noqa: ASYNC240 - a stat at start-up
        pytest.fail("Debian's chromium is missing: apt-get install -y chromium (make test does this)")
    if not AXE.is_file():
        pytest.fail("axe-core is missing: cd portal && npm ci (make test does this)")
    overrides = {
        **message_servers,
        "IDENTITY_BOOTSTRAP_ADMIN_EMAIL": ADMIN_EMAIL,
        "IDENTITY_BOOTSTRAP_ADMIN_PASSWORD": ADMIN_PASSWORD,
        # one browser on one address loads ~30 files a page: the edge limit is not what is tested here
        "GATEWAY_RATE_LIMIT_PER_SECOND": "500",
        "GATEWAY_RATE_LIMIT_BURST": "2000",
        "DELIVERY_RETRY_BACKOFF_SECONDS": "0.5",
        "DELIVERY_RETRY_BACKOFF_MAX_SECONDS": "2",
    }
    var = tmp_path_factory.mktemp("portal-platform")
    try:
        running = await asyncio.to_thread(devservers.start_platform, var, overrides, free_ports=True)
    except RuntimeError as exc:
        raise AssertionError(f"the platform did not start: {exc}\n{_tail(var / 'log')}") from exc
    if "gateway" not in running.services:
        running.stop()
        pytest.fail("the gateway is not in this checkout (motcua.gateway.__main__)")
    try:
        yield running
    finally:
        await asyncio.to_thread(running.stop)


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            await launched.close()


@dataclass
class Screens:
    """Screenshots of each page, numbered in the order taken, under the test's output folder."""

    folder: Path
    count: int = 0

    async def take(self, page: Page, name: str, *, full_page: bool = True) -> Path:
        self.count += 1
        path = self.folder / f"{self.count:02d}-{name}.png"
        await page.screenshot(path=str(path), full_page=full_page)
        return path


@pytest.fixture
def screens(tmp_path: Path) -> Screens:
    folder = tmp_path / "screenshots"
    folder.mkdir()
    return Screens(folder)


class CspWatch:
    """Collects the browser's Content-Security-Policy complaints and page errors of its pages."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def attach(self, page: Page) -> Page:
        page.on("console", lambda m: self.problems.append(m.text) if "Content Security Policy" in m.text else None)
        page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        return page


@pytest.fixture
def csp() -> Iterator[CspWatch]:
    watch = CspWatch()
    yield watch
    assert not watch.problems, watch.problems


@pytest.fixture
async def open_page(
    browser: Browser, platform: devservers.Platform, csp: CspWatch
) -> AsyncIterator[Any]:
    """`await open_page(width=360)`: a page in a new browser context (its own session storage)."""
    contexts: list[BrowserContext] = []

    async def make(*, width: int = 1280) -> Page:
        context = await browser.new_context(
            base_url=platform.url("gateway"), viewport={"width": width, "height": 900}, locale="vi-VN",
            accept_downloads=True,
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        return csp.attach(await context.new_page())

    yield make
    for context in contexts:
        await context.close()


@pytest.fixture
def axe() -> Any:
    return axe_check


async def axe_check(page: Page) -> list[dict[str, Any]]:
    """Serious and critical WCAG 2.x A/AA violations axe-core finds in the page as it is now.

    axe is evaluated through the DevTools protocol (page.evaluate), which the page's CSP does not
    govern: an injected <script> tag would be refused by `script-src 'self'`, as it should be.
    """
    if not await page.evaluate("() => typeof window.axe === 'object'"):
        await page.evaluate(AXE.read_text() + "\n;undefined")
    found: list[dict[str, Any]] = await page.evaluate(
        """async () => {
            const result = await axe.run(document, {
                runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']},
            });
            return result.violations.map((v) => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')),
            }));
        }"""
    )
    return [v for v in found if v["impact"] in ("serious", "critical")]
