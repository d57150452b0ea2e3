"""Edge checks: body size, rate limit, a service down or slow, readiness."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx

StartGateway = Callable[..., Any]
MB = 1024 * 1024


def assert_problem(answer: httpx.Response, status: int) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["x-request-id"]
    body: dict[str, Any] = answer.json()
    assert body["status"] == status
    assert "Traceback" not in answer.text
    return body


async def test_a_body_over_the_limit_is_refused_and_never_reaches_the_service(
    start_gateway: StartGateway, upstreams: dict[str, Any]
) -> None:
    submission = upstreams["submission"]
    async with start_gateway(gateway_max_body_bytes=1 * MB) as gateway, httpx.AsyncClient(base_url=gateway) as client:
        before = list(submission.completed_bodies)

        declared = await client.post("/v1/applications/a/documents", content=os.urandom(1 * MB + 1))
        assert "1 MB" in assert_problem(declared, 413)["detail"]

        async def undeclared() -> AsyncIterator[bytes]:
            for _ in range(40):
                yield b"x" * (64 * 1024)  # 2.5 MB in all, without Content-Length

        streamed = await client.post("/v1/applications/a/documents", content=undeclared())
        assert_problem(streamed, 413)
        assert submission.completed_bodies == before

        exactly = await client.put("/v1/applications/a", content=b"y" * MB)
        assert exactly.status_code == 200
        assert exactly.json()["size"] == MB
        assert submission.completed_bodies == [*before, MB]


async def test_a_client_over_its_rate_gets_429_with_retry_after_and_others_do_not(
    start_gateway: StartGateway,
) -> None:
    async with (
        start_gateway(
            gateway_rate_limit_per_second=0.2, gateway_rate_limit_burst=3, gateway_trusted_proxies="127.0.0.1"
        ) as gateway,
        httpx.AsyncClient(base_url=gateway) as client,
    ):
        # the test's client stands for the Ingress controller, so each header is a client
        one = {"X-Forwarded-For": "203.0.113.7"}
        for _ in range(3):
            assert (await client.get("/v1/agencies", headers=one)).status_code == 200
        refused = await client.get("/v1/agencies", headers=one)
        body = assert_problem(refused, 429)
        assert body["title"] == "Too many requests"
        assert 1 <= int(refused.headers["retry-after"]) <= 5
        assert (await client.get("/", headers=one)).status_code == 200  # the portal has its own bucket

        other = {"X-Forwarded-For": "203.0.113.8"}
        assert (await client.get("/v1/agencies", headers=other)).status_code == 200
        for probe in ("/healthz", "/readyz", "/metrics"):
            assert (await client.get(probe, headers={**one})).status_code in (200, 404)
        assert (await client.get("/healthz", headers=one)).status_code == 200
        assert "gateway_rate_limited_total 1.0" in (await client.get("/metrics")).text


async def test_a_service_down_is_502_and_a_slow_one_504(start_gateway: StartGateway, dead_url: str) -> None:
    async with (
        start_gateway(submission_url=dead_url, gateway_read_timeout_seconds=0.3) as gateway,
        httpx.AsyncClient(base_url=gateway) as client,
    ):
        down = await client.post("/v1/applications", json={"procedure_code": "HT-KS-01"})
        body = assert_problem(down, 502)
        assert "submission" in body["detail"]
        assert down.headers["retry-after"]

        slow = await client.get("/v1/agencies/slow", params={"seconds": 1.0})
        assert "catalogue" in assert_problem(slow, 504)["detail"]

        assert (await client.get("/v1/agencies/slow", params={"seconds": 0.01})).status_code == 200

        ready = await client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"] == {
            "identity": True,
            "catalogue": True,
            "submission": False,
            "notification": True,
            "webhooks": True,
        }
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        metrics = (await client.get("/metrics")).text
        assert 'gateway_upstream_responses_total{outcome="unreachable",service="submission"} 1.0' in metrics
        assert 'gateway_upstream_responses_total{outcome="timeout",service="catalogue"} 1.0' in metrics


async def test_ready_when_every_service_answers(start_gateway: StartGateway) -> None:
    async with start_gateway() as gateway, httpx.AsyncClient(base_url=gateway) as client:
        ready = await client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json() == {
            "status": "ready",
            "checks": {"identity": True, "catalogue": True, "submission": True, "notification": True, "webhooks": True},
        }


async def test_a_reset_connection_is_retried_once_for_a_safe_request_only(start_gateway: StartGateway) -> None:
    """A service that hangs up without answering: GET is resent once, POST is never resent (502)."""
    connections = 0

    async def hang_up_every_other(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        await reader.readuntil(b"\r\n\r\n")
        if connections % 2 == 1:
            writer.close()
            return
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n"
            b'Connection: close\r\n\r\n{"ok":true}'
        )
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(hang_up_every_other, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with (
        server,
        start_gateway(notification_url=f"http://127.0.0.1:{port}") as gateway,
        httpx.AsyncClient(base_url=gateway) as client,
    ):
        answer = await client.get("/v1/notifications")
        assert answer.status_code == 200
        assert answer.json() == {"ok": True}
        assert connections == 2
        posted = await client.post("/v1/notifications/n1/read")
        assert_problem(posted, 502)
        assert connections == 3
