"""How long the web portal's files take to load through the gateway, beside a bare static file server.

Run: `.venv/bin/python bench/portal.py` (no database or broker: the portal is static files). A first
visit fetches index.html, the stylesheet, the icon and every ES module the entry imports (found by
following the `import … from` lines, as the browser does); a repeat visit revalidates each with its
ETag (304). Both run through the gateway app (security headers, request ids, metrics, rate limit,
the portal's fallback) and through a bare Starlette `StaticFiles` app on the same folder, each
served by uvicorn in this process, with six connections at a time as a browser uses.
"""

from __future__ import annotations

import asyncio
import gzip
import re
import statistics
import time
from pathlib import Path

import httpx
from fastapi import FastAPI
from motcua.common.testing import running_app
from motcua.gateway.app import build_app
from motcua.gateway.settings import Settings
from starlette.staticfiles import StaticFiles

STATIC = Path(__file__).parents[1] / "services/gateway/src/motcua/gateway/static"
ROUNDS = 30
CONNECTIONS = 6  # what a browser opens to one host over HTTP/1.1


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


async def load(client: httpx.AsyncClient, paths: list[str], etags: dict[str, str] | None) -> float:
    """One page load: every path fetched over CONNECTIONS connections; the wall time in ms."""
    queue: asyncio.Queue[str] = asyncio.Queue()
    for path in paths:
        queue.put_nowait(path)

    async def worker() -> None:
        while not queue.empty():
            path = queue.get_nowait()
            headers = {"Accept": "text/html"} if path == "/" else {}
            if etags is not None and path in etags:
                headers["If-None-Match"] = etags[path]
            answer = await client.get(path, headers=headers)
            assert answer.status_code in (200, 304), (path, answer.status_code)

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONNECTIONS)))
    return (time.perf_counter() - began) * 1000


async def measure(base_url: str, paths: list[str]) -> dict[str, list[float]]:
    limits = httpx.Limits(max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=30) as client:
        etags = {}
        for path in paths:
            answer = await client.get(path, headers={"Accept": "text/html"} if path == "/" else {})
            etags[path] = answer.headers.get("etag", "")
        for _ in range(5):  # warm up
            await load(client, paths, None)
        first = [await load(client, paths, None) for _ in range(ROUNDS)]
        repeat = [await load(client, paths, etags) for _ in range(ROUNDS)]
    return {"first visit": first, "repeat visit (304)": repeat}


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def main() -> None:
    paths = first_visit_files()
    size = sum((STATIC / ("index.html" if p == "/" else p.lstrip("/"))).stat().st_size for p in paths)
    packed = sum(len(gzip.compress((STATIC / ("index.html" if p == "/" else p.lstrip("/"))).read_bytes()))
                 for p in paths)
    bare = FastAPI()
    bare.mount("/", StaticFiles(directory=STATIC, html=True))
    gateway = build_app(Settings(gateway_rate_limit_per_second=1e6, gateway_rate_limit_burst=1_000_000,
                                 log_format="console", log_level="WARNING"))
    async with running_app(bare, wait_started=False) as bare_url:
        baseline = await measure(bare_url, paths)
    async with running_app(gateway, wait_started=False) as gateway_url:
        through = await measure(gateway_url, paths)
    print(f"portal first visit: {len(paths)} files, {size / 1024:.0f} KiB ({packed / 1024:.0f} KiB if gzipped); "
          f"{ROUNDS} page loads each, {CONNECTIONS} connections")
    print(f"{'scenario':<22}{'server':<10}{'median ms':>10}{'p95 ms':>9}{'ratio':>8}")
    for scenario, times in through.items():
        base = statistics.median(baseline[scenario])
        print(f"{scenario:<22}{'bare':<10}{base:>10.1f}{percentile(baseline[scenario], 0.95):>9.1f}{'1.00':>8}")
        mid = statistics.median(times)
        print(f"{'':<22}{'gateway':<10}{mid:>10.1f}{percentile(times, 0.95):>9.1f}{mid / base:>8.2f}")


if __name__ == "__main__":
    asyncio.run(main())
