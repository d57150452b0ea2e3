"""The whole platform as `make run` starts it, and a real browser (Debian's chromium) driven by Playwright.

The platform runs as separate processes (`motcua.devtools.devservers.start_platform`), with the real
SMTP server and SMS webhook of `motcua.devtools.testing_messages` in this process, so a test reads the
verification link and code the way a person would find them. The browser talks to
the gateway only, with its Content-Security-Policy enforced; a CSP violation fails the test.
"""

from __future__ import annotations

import fcntl
import subprocess
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from motcua.devtools import devservers
from motcua.devtools.testing import running_platform
from motcua.devtools.testing_messages import Outbox
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from .kit import ADMIN_EMAIL, ADMIN_PASSWORD

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
AXE = ROOT / "portal" / "node_modules" / "axe-core" / "axe.min.js"
ESBUILD = ROOT / "portal" / "node_modules" / ".bin" / "esbuild"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def outbox() -> Iterator[Outbox]:
    """Every email and SMS the browser tests' platform sent (tests find theirs by their own addresses)."""
    with Outbox() as running:
        yield running


@pytest.fixture(scope="session")
async def platform(tmp_path_factory: pytest.TempPathFactory, outbox: Outbox) -> AsyncIterator[devservers.Platform]:
    """Every service and server as separate processes on free ports, started once for the browser tests of this
    test process (a start costs ~20 s of two cores); stopped by PID afterwards. Each test works with accounts,
    dossiers and procedures of its own. A module needing other settings overrides this fixture."""
    if not CHROMIUM.is_file():  # noqa: ASYNC240 - a stat at start-up
        pytest.fail("Debian's chromium is missing: apt-get install -y chromium (make test does this)")
    if not AXE.is_file():
        pytest.fail("axe-core is missing: cd portal && npm ci (make test does this)")
    if not ESBUILD.is_file():
        pytest.fail("esbuild is missing: cd portal && npm ci (make test does this)")
    # the portal as it ships: bundled from the modules of this checkout (fast: well under a second)
    # (under a lock, and only when stale: test workers share this checkout, and one may be serving it)
    with (ROOT / "portal" / ".build.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        subprocess.run(  # noqa: ASYNC221
            ["node", "build.mjs", "--if-stale"], cwd=ROOT / "portal", check=True, capture_output=True
        )
    overrides = {
        **outbox.settings,
        "IDENTITY_BOOTSTRAP_ADMIN_EMAIL": ADMIN_EMAIL,
        "IDENTITY_BOOTSTRAP_ADMIN_PASSWORD": ADMIN_PASSWORD,
        # one browser on one address loads ~30 files a page: the edge limit is not what is tested here
        "GATEWAY_RATE_LIMIT_PER_SECOND": "500",
        "GATEWAY_RATE_LIMIT_BURST": "2000",
        "DELIVERY_RETRY_BACKOFF_SECONDS": "0.5",
        "DELIVERY_RETRY_BACKOFF_MAX_SECONDS": "2",
        # every test registers its citizens from this one address, one platform for all of them: the
        # per-address limit is the identity tests' subject, not these pages'
        "IDENTITY_REGISTRATIONS_PER_IP_PER_HOUR": "100000",
        # the citizen pages' resend buttons are pressed right after registration: one a second, not a minute
        "IDENTITY_RESEND_INTERVAL_SECONDS": "1",
    }
    var = tmp_path_factory.mktemp("portal-platform")
    async with running_platform(var, overrides) as running:
        if "gateway" not in running.services:
            pytest.fail("the gateway is not in this checkout (motcua.gateway.__main__)")
        yield running


@pytest.fixture(scope="session")
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
async def open_page(browser: Browser, platform: devservers.Platform, csp: CspWatch) -> AsyncIterator[Any]:
    """`await open_page(width=360)`: a page in a new browser context (its own session storage)."""
    contexts: list[BrowserContext] = []

    async def make(*, width: int = 1280) -> Page:
        context = await browser.new_context(
            base_url=platform.url("gateway"),
            viewport={"width": width, "height": 900},
            locale="vi-VN",
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
