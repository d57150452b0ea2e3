"""Who the client is, through a gateway process started as `python -m motcua.gateway` (as a pod runs it).

A caller picks what its `X-Forwarded-For` says; only the proxies the deployment names (the Ingress
controller's range) are believed, and of the chain they forward the right-most hop they did not add is the
client. Loopback has a whole /8, so a test connects from 127.0.0.2 as "the ingress" and from 127.0.0.1 as
anyone else.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import yaml
from motcua.devtools.devservers import ServerProcess, free_port

ROOT = Path(__file__).resolve().parents[4]
INGRESS = "127.0.0.2"


def manifest_setting(name: str) -> str:
    """A literal of the `motcua-config` ConfigMap every pod of the Kubernetes manifests reads."""
    kustomization = yaml.safe_load((ROOT / "deploy/k8s/base/kustomization.yaml").read_text(encoding="utf-8"))
    (config,) = (c for c in kustomization["configMapGenerator"] if c["name"] == "motcua-config")
    values = dict(literal.split("=", 1) for literal in config["literals"])
    return str(values[name])


@asynccontextmanager
async def caller_of_gateway(
    upstreams: dict[str, Any], tmp_path: Path, *, trusted: str, burst: int, caller: str
) -> AsyncIterator[httpx.AsyncClient]:
    """A client connecting from `caller` to a gateway process that believes `trusted` and lets each client
    address `burst` requests through (then 429: a token back every 10 s)."""
    port = free_port()
    process = ServerProcess(
        "gateway",
        [sys.executable, "-m", "motcua.gateway"],
        port,
        tmp_path / "gateway.log",
        env={
            "GATEWAY_PORT": str(port),
            **{f"{name.upper()}_URL": seen.url for name, seen in upstreams.items()},
            "GATEWAY_STATIC_DIR": str(tmp_path),
            "GATEWAY_TRUSTED_PROXIES": trusted,
            "GATEWAY_RATE_LIMIT_PER_SECOND": "0.1",
            "GATEWAY_RATE_LIMIT_BURST": str(burst),
            "LOG_FORMAT": "console",
        },
    )
    await asyncio.to_thread(process.start, 60.0)
    transport = httpx.AsyncHTTPTransport(local_address=caller)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", transport=transport) as client:
            yield client
    finally:
        await asyncio.to_thread(process.stop)


async def test_a_caller_inventing_a_fresh_x_forwarded_for_each_time_still_hits_its_limit(
    upstreams: dict[str, Any], tmp_path: Path
) -> None:
    # Deployed as the manifests deploy it; the caller is not the Ingress controller.
    trusted = manifest_setting("GATEWAY_TRUSTED_PROXIES")
    async with caller_of_gateway(upstreams, tmp_path, trusted=trusted, burst=3, caller="127.0.0.1") as attacker:
        statuses = [
            (await attacker.get("/v1/agencies", headers={"X-Forwarded-For": f"198.51.100.{n}"})).status_code
            for n in range(1, 7)
        ]
        assert statuses == [200, 200, 200, 429, 429, 429]


async def test_of_a_trusted_proxys_chain_the_right_most_hop_it_did_not_add_is_the_client(
    upstreams: dict[str, Any], tmp_path: Path
) -> None:
    # client → a load balancer at 10.1.1.1 → the Ingress controller → the gateway: both proxies are trusted
    trusted = f"{INGRESS}/32,10.0.0.0/8"
    async with caller_of_gateway(upstreams, tmp_path, trusted=trusted, burst=2, caller=INGRESS) as ingress:
        seen = []
        for spoofed in ("192.0.2.1", "192.0.2.2", "192.0.2.3"):
            # the client wrote the first hop itself; the load balancer appended the client, the Ingress the balancer
            chain = f"{spoofed}, 203.0.113.5, 10.1.1.1"
            answer = await ingress.get("/v1/agencies", headers={"X-Forwarded-For": chain})
            seen.append(answer.status_code)
            if answer.status_code == 200:
                forwarded = [v for k, v in answer.json()["headers"] if k == "x-forwarded-for"]
                assert forwarded == ["203.0.113.5"]
        assert seen == [200, 200, 429]
        # another client behind the same proxies has its own bucket
        other = await ingress.get("/v1/agencies", headers={"X-Forwarded-For": "203.0.113.6, 10.1.1.1"})
        assert other.status_code == 200
        # a chain of trusted hops only: the left-most is the client
        inner = await ingress.get("/v1/agencies", headers={"X-Forwarded-For": "10.9.9.9, 10.1.1.1"})
        assert [v for k, v in inner.json()["headers"] if k == "x-forwarded-for"] == ["10.9.9.9"]
