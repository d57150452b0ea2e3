"""The gateway's overhead: the same requests through the gateway and straight to the service, in one run.

Run: `.venv/bin/python bench/gateway.py` (starts its own MongoDB- and Kafka-protocol servers and stops
them). The catalogue (with its shipped seed) and the gateway run in this process with `running_app`,
beside a bare upstream app that answers a constant, which shows the proxy's own cost. Everything
shares one event loop on one core, so the gateway's work is paid in full on the client's clock;
with the gateway in its own process (as deployed) the added latency is smaller.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from motcua.catalogue.app import build_app as build_catalogue
from motcua.catalogue.settings import Settings as CatalogueSettings
from motcua.devtools.testing import running_app, start_local_stack
from motcua.gateway.app import build_app as build_gateway
from motcua.gateway.settings import Settings as GatewaySettings

ROUNDS = 100
CONCURRENCY = 16
LOAD_SECONDS = 1.0
CASES = [
    ("catalogue", "/v1/procedures", {"q": "khai sinh"}),
    ("catalogue", "/v1/procedures/HT-KS-01", {}),
    ("bare", "/v1/notifications/ping", {}),
]


def bare_app() -> FastAPI:
    app = FastAPI()

    @app.get("/v1/notifications/ping")
    async def ping() -> dict[str, str]:
        return {"status": "ok"}

    return app


async def latencies(
    direct: Callable[[], Awaitable[httpx.Response]], via: Callable[[], Awaitable[httpx.Response]], rounds: int
) -> tuple[list[float], list[float]]:
    """Alternate the two, one request each per round, so both see the same machine load."""
    for _ in range(10):
        (await direct()).raise_for_status()
        (await via()).raise_for_status()
    found: tuple[list[float], list[float]] = ([], [])
    for _ in range(rounds):
        for get, into in ((direct, found[0]), (via, found[1])):
            began = time.perf_counter()
            (await get()).raise_for_status()
            into.append((time.perf_counter() - began) * 1000)
    return found


async def throughput(get: Callable[[], Awaitable[httpx.Response]]) -> float:
    done = 0
    deadline = time.perf_counter() + LOAD_SECONDS

    async def worker() -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            (await get()).raise_for_status()
            done += 1

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return done / (time.perf_counter() - began)


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        stack = start_local_stack(Path(tmp) / "servers")
        try:
            catalogue = build_catalogue(
                CatalogueSettings(
                    mongodb_uri=stack.mongodb_uri,
                    mongodb_db="bench_gateway_catalogue",
                    kafka_bootstrap_servers=stack.kafka_bootstrap,
                    log_level="WARNING",
                    log_format="console",
                )
            )
            began = time.perf_counter()
            async with running_app(catalogue) as catalogue_url, running_app(bare_app()) as bare_url:
                print(f"servers and catalogue (seeded) up in {time.perf_counter() - began:.1f} s")
                gateway = build_gateway(
                    GatewaySettings(
                        catalogue_url=catalogue_url,
                        notification_url=bare_url,
                        log_level="WARNING",
                        log_format="console",
                        gateway_rate_limit_per_second=1e6,
                        gateway_rate_limit_burst=10**6,
                    )
                )
                async with running_app(gateway) as gateway_url:
                    await measure({"catalogue": catalogue_url, "bare": bare_url}, gateway_url)
                    print(f"measured in {time.perf_counter() - began:.1f} s")
        finally:
            stack.stop()


async def measure(direct_urls: dict[str, str], gateway_url: str) -> None:
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with httpx.AsyncClient(limits=limits, timeout=30) as http:
        print(
            f"{ROUNDS} sequential requests per row (latency), then {CONCURRENCY} concurrent for "
            f"{LOAD_SECONDS:.1f} s (req/s); client, gateway and services share one event loop; "
            f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
        )
        print(f"{'request':<34} {'path':<9} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'req/s':>7}")
        for upstream, path, params in CASES:

            def direct(base: str = direct_urls[upstream], path: str = path, params: dict[str, str] = params) -> Any:
                return http.get(base + path, params=params)

            def via(path: str = path, params: dict[str, str] = params) -> Any:
                return http.get(gateway_url + path, params=params)

            both = await latencies(direct, via, ROUNDS)
            rates = (await throughput(direct), await throughput(via))
            query = "?q=" + params["q"] if params else ""
            for label, ms, rate in zip(("direct", "gateway"), both, rates, strict=True):
                cuts = statistics.quantiles(ms, n=100)
                print(
                    f"{path + query:<34} {label:<9} {statistics.median(ms):>7.2f} {cuts[94]:>7.2f} "
                    f"{cuts[98]:>7.2f} {rate:>7.0f}"
                )
            direct_ms, via_ms = statistics.median(both[0]), statistics.median(both[1])
            print(
                f"{'':<34} {'ratio':<9} {via_ms / direct_ms:>7.2f}x latency (+{via_ms - direct_ms:.2f} ms), "
                f"{rates[1] / rates[0]:.2f}x req/s"
            )


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
