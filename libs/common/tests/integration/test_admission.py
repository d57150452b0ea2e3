"""A service process protects itself: a bounded number of requests at once, a short queue, then 503 at once."""

from __future__ import annotations

import asyncio
import re

import httpx
from fastapi import APIRouter, FastAPI
from motcua.common import admission
from motcua.common.settings import ServiceSettings
from motcua.common.web import create_app
from motcua.devtools.testing import Isolation, Stack, eventually, running_app


def held_app(stack: Stack, isolation: Isolation, gate: asyncio.Event, arrived: list[str], **limits: float) -> FastAPI:
    router = APIRouter()

    @router.post("/demo/work/{n}")
    async def work(n: str) -> dict[str, str]:
        arrived.append(n)
        await gate.wait()
        return {"done": n}

    settings = ServiceSettings.model_validate(
        {
            "service_name": "demo",
            "mongodb_uri": stack.mongodb_uri,
            "mongodb_db": isolation.db_name,
            "kafka_bootstrap_servers": stack.kafka_bootstrap,
            "kafka_topic_prefix": isolation.topic_prefix,
            **limits,
        }
    )
    return create_app(settings, title="demo", routers=[router])


async def test_past_its_concurrency_and_queue_a_process_answers_503_at_once_and_probes_still_answer(
    stack: Stack, isolation: Isolation
) -> None:
    gate, arrived = asyncio.Event(), list[str]()
    app = held_app(
        stack, isolation, gate, arrived, request_concurrency=2, request_queue_size=1, request_queue_timeout_seconds=60
    )
    async with running_app(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
        served = [asyncio.create_task(http.post(f"/demo/work/{n}", json={"n": n})) for n in range(2)]

        async def two_arrived() -> bool:
            return len(arrived) == 2

        await eventually(two_arrived)
        queued = asyncio.create_task(http.post("/demo/work/queued"))

        async def one_queued() -> bool:
            return "http_requests_queued 1.0" in (await http.get("/metrics")).text

        await eventually(one_queued)  # it waits in the queue, not in the route
        assert sorted(arrived) == ["0", "1"]

        refused = await http.post("/demo/work/refused", json={"a": "body that is never read"})
        assert refused.status_code == 503
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.headers["retry-after"] == str(admission.RETRY_AFTER_SECONDS)
        assert refused.headers["x-request-id"]
        body = refused.json()
        assert body["type"] == "urn:motcua:problem:service-busy"
        assert body["status"] == 503
        assert "nothing was done" in body["detail"]
        assert "refused" not in arrived

        assert (await http.get("/healthz")).status_code == 200
        metrics = (await http.get("/metrics")).text
        assert "http_requests_in_flight 2.0" in metrics
        assert "http_requests_queued 1.0" in metrics
        assert re.search(r"http_requests_shed_total 1\.0", metrics)

        gate.set()
        assert [r.status_code for r in await asyncio.gather(*served, queued)] == [200, 200, 200]
        assert "queued" in arrived


async def test_a_request_waits_no_longer_than_the_queue_allows(stack: Stack, isolation: Isolation) -> None:
    gate, arrived = asyncio.Event(), list[str]()
    app = held_app(
        stack, isolation, gate, arrived, request_concurrency=1, request_queue_size=4, request_queue_timeout_seconds=0.05
    )
    async with running_app(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
        held = asyncio.create_task(http.post("/demo/work/held"))

        async def one_arrived() -> bool:
            return len(arrived) == 1

        await eventually(one_arrived)
        late = await http.post("/demo/work/late")
        assert late.status_code == 503
        assert "late" not in arrived
        gate.set()
        assert (await held).status_code == 200
        assert (await http.post("/demo/work/after")).status_code == 200  # the slot came back


def test_the_database_pool_holds_a_connection_for_every_admitted_request() -> None:
    settings = ServiceSettings(request_concurrency=40)
    assert admission.pool_size(settings) == 40 + admission.BACKGROUND_CONNECTIONS
