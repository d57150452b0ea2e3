"""How long the web portal's files take to load through the gateway, beside a bare static file server.

Run: `.venv/bin/python bench/portal.py` (no database or broker: the portal is static files). A first
visit fetches index.html, the stylesheet, the icon and every ES module the entry imports (found by
following the `import … from` lines, as the browser does); a repeat visit revalidates each with its
ETag (304). Both run through the gateway app (security headers, request ids, metrics, rate limit,
gzip, the portal's fallback) and through a bare Starlette `StaticFiles` app on the same folder, each
served by uvicorn in this process, with six connections at a time as a browser uses. The first
visit through the gateway runs twice: asking for gzip, as browsers do, and without (`identity`).
The bytes are the bodies as they crossed the wire; the time on a slow link is worked out from them
(the loopback here has no bandwidth limit), not measured.

Then the same gateway is loaded by Debian's chromium (Playwright) on an emulated slow phone link
(400 kbit/s down and up, 300 ms added to every request, through the DevTools protocol): a cold load
of the home page in a new browser profile, and a reload of it (the browser's cache warm). Each is
timed from navigation to the header's frame being drawn and to the page's heading being shown,
BROWSER_ROUNDS times, medians printed. Targets (issue 23): cold home ≤ 2 s, warm reload ≤ 1 s.
Skipped, saying so, when chromium is not installed (`make test-tools`).
"""

from __future__ import annotations

import asyncio
import gzip
import re
import statistics
import time
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from motcua.devtools.testing import running_app
from motcua.gateway import release
from motcua.gateway.app import build_app
from motcua.gateway.compression import LEVEL
from motcua.gateway.settings import Settings
from starlette.staticfiles import StaticFiles

STATIC = Path(__file__).parents[1] / "services/gateway/src/motcua/gateway/static"
ROUNDS = 30
CONNECTIONS = 6  # what a browser opens to one host over HTTP/1.1
SLOW_LINK_BYTES_PER_SECOND = 1_000_000 / 8  # a poor 3G phone connection: 1 Mbit/s
SLOW_LINK_RTT_SECONDS = 0.3
CHROMIUM = Path("/usr/bin/chromium")
BROWSER_ROUNDS = 7
PHONE_LINK = {  # the DevTools protocol's throughput is in bytes per second, latency in ms
    "offline": False,
    "latency": 300,
    "downloadThroughput": 400_000 / 8,
    "uploadThroughput": 400_000 / 8,
}
FRAME_DRAWN = "() => Boolean(document.querySelector('#site-header a.brand'))"
HEADING_SHOWN = "() => Boolean(document.querySelector('main h1'))"
GZIP = "gzip"
IDENTITY = "identity"


def first_visit_files() -> list[str]:
    """index.html's own files and every module reachable from js/main.js by static imports."""
    found: list[str] = ["/", "/portal.css", "/favicon.svg"]
    todo, seen = [STATIC / "js" / "main.js"], set()
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        found.append("/" + module.relative_to(STATIC).as_posix())
        for target in re.findall(r"^import .*? from '(\.[^']+)';", module.read_text(), re.MULTILINE):
            todo.append((module.parent / target).resolve())
    return found


def import_depth() -> int:
    """How many levels of static imports js/main.js has (breadth first, as the browser finds them): each
    level is one more round trip before the browser knows the next files, on every visit while the
    files are `no-cache` and must be revalidated before use."""
    level, seen = [(STATIC / "js" / "main.js").resolve()], set()
    depth = 0
    while level:
        depth += 1
        seen.update(level)
        found = {
            (module.parent / target).resolve()
            for module in level
            for target in re.findall(r"^import .*? from '(\.[^']+)';", module.read_text(), re.MULTILINE)
        }
        level = sorted(found - seen)
    return depth


async def load(
    client: httpx.AsyncClient, paths: list[str], etags: dict[str, str] | None, encoding: str
) -> tuple[float, int]:
    """One page load: every path fetched over CONNECTIONS connections; the wall time in ms and the body
    bytes that crossed the wire."""
    queue: asyncio.Queue[str] = asyncio.Queue()
    for path in paths:
        queue.put_nowait(path)
    transferred = 0

    async def worker() -> None:
        nonlocal transferred
        while not queue.empty():
            path = queue.get_nowait()
            headers = {"Accept-Encoding": encoding}
            if path == "/":
                headers["Accept"] = "text/html"
            if etags is not None and path in etags:
                headers["If-None-Match"] = etags[path]
            answer = await client.get(path, headers=headers)
            assert answer.status_code in (200, 304), (path, answer.status_code)
            transferred += answer.num_bytes_downloaded

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONNECTIONS)))
    return (time.perf_counter() - began) * 1000, transferred


Scenarios = dict[str, tuple[list[float], int]]


async def measure(base_url: str, paths: list[str], encodings: tuple[str, ...]) -> Scenarios:
    """Per scenario: the page-load times (ms) and the body bytes of one page load."""
    limits = httpx.Limits(max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS)
    found: Scenarios = {}
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=30) as client:
        etags = {}
        for path in paths:
            answer = await client.get(path, headers={"Accept": "text/html"} if path == "/" else {})
            etags[path] = answer.headers.get("etag", "")
        for _ in range(5):  # warm up
            for encoding in encodings:
                await load(client, paths, None, encoding)
        runs: dict[str, list[tuple[float, int]]] = {encoding: [] for encoding in encodings}
        for _ in range(ROUNDS):  # alternating, so each encoding sees the same load on this shared machine
            for encoding in encodings:
                runs[encoding].append(await load(client, paths, None, encoding))
        for encoding, done in runs.items():
            found[f"first visit ({encoding})"] = ([ms for ms, _ in done], done[-1][1])
        again = [await load(client, paths, etags, encodings[0]) for _ in range(ROUNDS)]
        found["repeat visit (304)"] = ([ms for ms, _ in again], again[-1][1])
    return found


def gzip_cpu_ms(paths: list[str]) -> float:
    """CPU time gzip needs for every file of a first visit, at the gateway's level (median of 20)."""
    bodies = [(STATIC / ("index.html" if p == "/" else p.lstrip("/"))).read_bytes() for p in paths]
    times = []
    for _ in range(20):
        began = time.process_time()
        for body in bodies:
            gzip.compress(body, compresslevel=LEVEL)
        times.append((time.process_time() - began) * 1000)
    return statistics.median(times)


async def _timed_load(page: Any, action: Any) -> tuple[float, float]:
    """Run `action` (a goto or a reload) and wait for the frame, then the heading: both in ms from its start."""
    began = time.perf_counter()
    task = asyncio.ensure_future(action())
    await page.wait_for_function(FRAME_DRAWN, polling=10, timeout=60_000)
    frame = (time.perf_counter() - began) * 1000
    await page.wait_for_function(HEADING_SHOWN, polling=10, timeout=60_000)
    heading = (time.perf_counter() - began) * 1000
    await task
    return frame, heading


async def phone_link(base_url: str) -> dict[str, list[tuple[float, float]]]:
    """Cold home loads (a new profile each) and warm reloads on the emulated 400 kbit/s, 300 ms link."""
    from playwright.async_api import async_playwright  # the browser tests' tool (make test-tools)

    found: dict[str, list[tuple[float, float]]] = {"cold home": [], "warm reload": []}
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox", "--disable-gpu", "--disable-quic"]
        )
        try:
            for _ in range(BROWSER_ROUNDS):
                context = await browser.new_context(base_url=base_url, viewport={"width": 390, "height": 844})
                page = await context.new_page()
                cdp = await context.new_cdp_session(page)
                await cdp.send("Network.enable")
                await cdp.send("Network.emulateNetworkConditions", PHONE_LINK)
                found["cold home"].append(await _timed_load(page, lambda page=page: page.goto("/", wait_until="load")))
                found["warm reload"].append(await _timed_load(page, lambda page=page: page.reload(wait_until="load")))
                await context.close()
        finally:
            await browser.close()
    return found


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def main() -> None:
    paths = first_visit_files()
    size = sum((STATIC / ("index.html" if p == "/" else p.lstrip("/"))).stat().st_size for p in paths)
    packed = sum(
        len(gzip.compress((STATIC / ("index.html" if p == "/" else p.lstrip("/"))).read_bytes())) for p in paths
    )
    bare = FastAPI()
    bare.mount("/", StaticFiles(directory=STATIC, html=True))
    gateway = build_app(
        Settings(
            gateway_rate_limit_per_second=1e6,
            gateway_rate_limit_burst=1_000_000,
            gateway_portal_rate_limit_per_second=1e6,
            gateway_portal_rate_limit_burst=1_000_000,
            log_format="console",
            log_level="WARNING",
        )
    )
    async with running_app(bare, wait_started=False) as bare_url:
        baseline = await measure(bare_url, paths, (IDENTITY,))
    async with running_app(gateway, wait_started=False) as gateway_url:
        through = await measure(gateway_url, paths, (GZIP, IDENTITY))
        slow = await phone_link(gateway_url) if CHROMIUM.is_file() else None  # noqa: ASYNC240 - one stat
    print(
        f"portal first visit: {len(paths)} files, {size / 1024:.0f} KiB ({packed / 1024:.0f} KiB if gzipped); "
        f"{ROUNDS} page loads each, {CONNECTIONS} connections; {import_depth()} levels of modules"
    )
    print(f"{'scenario':<26}{'server':<9}{'median ms':>10}{'p95 ms':>9}{'ratio':>7}{'KiB':>8}")
    rows = [
        ("first visit (identity)", "bare", baseline["first visit (identity)"]),
        ("first visit (identity)", "gateway", through["first visit (identity)"]),
        ("first visit (gzip)", "gateway", through["first visit (gzip)"]),
        ("repeat visit (304)", "bare", baseline["repeat visit (304)"]),
        ("repeat visit (304)", "gateway", through["repeat visit (304)"]),
    ]
    for scenario, server, (times, transferred) in rows:
        base = statistics.median(baseline["first visit (identity)" if scenario.startswith("first") else scenario][0])
        mid = statistics.median(times)
        print(
            f"{scenario:<26}{server:<9}{mid:>10.1f}{percentile(times, 0.95):>9.1f}{mid / base:>7.2f}"
            f"{transferred / 1024:>8.1f}"
        )
    plain, packed_wire = through["first visit (identity)"][1], through["first visit (gzip)"][1]
    print(
        f"first visit through the gateway: {packed_wire / 1024:.1f} KiB gzipped against {plain / 1024:.1f} KiB "
        f"plain: {packed_wire / plain:.2f} of the bytes ({plain / packed_wire:.1f}x fewer)"
    )
    print(f"gzip's own CPU for one first visit (level {LEVEL}, in this process): {gzip_cpu_ms(paths):.1f} ms")
    rtts = (import_depth() + 1) * SLOW_LINK_RTT_SECONDS  # index.html, then each level of modules
    print(
        f"on a 1 Mbit/s, {SLOW_LINK_RTT_SECONDS * 1000:.0f} ms link (worked out, not measured): bodies take "
        f"{plain / SLOW_LINK_BYTES_PER_SECOND:.1f} s plain, {packed_wire / SLOW_LINK_BYTES_PER_SECOND:.1f} s "
        f"gzipped, plus at least {rtts:.1f} s of round trips (index.html, then {import_depth()} levels of modules), "
        f"which a repeat visit pays again to revalidate"
    )
    if slow is None:
        print("chromium is not installed (make test-tools): the emulated phone link was not measured")
        return
    served = release.build(STATIC)
    print(f"the gateway serves: {'the esbuild bundle (static/dist)' if served and served.bundled else 'the modules'}")
    print(
        f"chromium on an emulated {PHONE_LINK['downloadThroughput'] * 8 / 1000:.0f} kbit/s, "
        f"{PHONE_LINK['latency']} ms link, 390x844, {BROWSER_ROUNDS} rounds (targets: cold home <= 2000 ms, "
        f"warm reload <= 1000 ms, to the heading)"
    )
    print(f"{'load':<14}{'frame median ms':>17}{'heading median ms':>19}{'heading max ms':>16}")
    for name, runs in slow.items():
        print(
            f"{name:<14}{statistics.median(f for f, _ in runs):>17.0f}{statistics.median(h for _, h in runs):>19.0f}"
            f"{max(h for _, h in runs):>16.0f}"
        )


if __name__ == "__main__":
    asyncio.run(main())
