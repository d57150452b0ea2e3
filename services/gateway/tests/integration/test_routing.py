"""Through the gateway, each prefix reaches its service, and nothing else does."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import urlsplit

import httpx
from motcua.gateway.routes import ROUTES

StartGateway = Callable[..., Any]

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; frame-src 'self' blob:; "
    "connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)


def assert_security_headers(response: httpx.Response) -> None:
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-security-policy"] == CSP
    assert response.headers["referrer-policy"] in ("no-referrer", "strict-origin-when-cross-origin")
    assert response.headers["x-frame-options"] == "DENY"


def header(echo: dict[str, Any], name: str) -> list[str]:
    return [v for k, v in echo["headers"] if k == name]


async def raw_get(base: str, target: str) -> tuple[int, bytes]:
    """A GET with the request target exactly as written: no client-side normalisation of dot segments."""
    where = urlsplit(base)
    reader, writer = await asyncio.open_connection(where.hostname, where.port)
    writer.write(f"GET {target} HTTP/1.1\r\nHost: {where.netloc}\r\nConnection: close\r\n\r\n".encode())
    await writer.drain()
    answer = await reader.read()
    writer.close()
    status = int(answer.split(b" ", 2)[1])
    return status, answer


async def test_each_prefix_reaches_its_service_with_who_and_which_request_it_is(
    start_gateway: StartGateway,
) -> None:
    async with start_gateway() as gateway, httpx.AsyncClient(base_url=gateway) as client:
        for prefix, service in ROUTES:
            answer = await client.get(f"{prefix}/x%20y/z", params={"q": "khai sinh", "page": "2"})
            assert answer.status_code == 200, (prefix, answer.text)
            echo = answer.json()
            assert echo["service"] == service
            assert echo["raw_path"] == f"{prefix}/x%20y/z"
            assert echo["query"] == "q=khai+sinh&page=2"
            assert_security_headers(answer)
            assert "strict-transport-security" not in answer.headers
        bare = await client.get("/v1/notifications")
        assert bare.json() == {**bare.json(), "service": "notification", "path": "/v1/notifications"}

        echo = (
            await client.post(
                "/v1/auth/login",
                json={"username": "a@b.vn", "password": "x"},
                headers={
                    "X-Request-ID": "req-from-client-1",
                    "X-Forwarded-Host": "evil.example",
                    "X-Real-IP": "6.6.6.6",
                    "Connection": "keep-alive, X-Private",
                    "X-Private": "hop only",
                    "Authorization": "Bearer abc",
                },
            )
        ).json()
        assert echo["method"] == "POST"
        assert header(echo, "x-request-id") != ["req-from-client-1"]
        assert header(echo, "x-client-request-id") == ["req-from-client-1"]
        assert header(echo, "x-forwarded-for") == ["127.0.0.1"]
        assert header(echo, "x-forwarded-proto") == ["http"]
        assert header(echo, "x-forwarded-host") == [urlsplit(gateway).netloc]
        assert header(echo, "authorization") == ["Bearer abc"]
        assert header(echo, "x-real-ip") == header(echo, "x-private") == []
        assert "x-private" not in " ".join(header(echo, "connection")).lower()
        assert echo["size"] == len(b'{"username":"a@b.vn","password":"x"}')

        fresh = await client.get("/v1/procedures/HT-KS-01")
        request_id = fresh.headers["x-request-id"]
        assert len(request_id) >= 16
        assert header(fresh.json(), "x-request-id") == [request_id]

        over_tls = await client.get("/v1/agencies", headers={"X-Forwarded-Proto": "https"})
        assert over_tls.headers["strict-transport-security"].startswith("max-age=")


async def test_the_services_answer_passes_back_unchanged_but_for_edge_headers(
    start_gateway: StartGateway,
) -> None:
    async with start_gateway() as gateway, httpx.AsyncClient(base_url=gateway) as client:
        answer = await client.get("/v1/accounts/cookies", headers={"X-Request-ID": "mine"})
        assert answer.status_code == 201
        assert answer.json() == {"ok": True}
        assert answer.headers.get_list("set-cookie") == ["a=1; Path=/; SameSite=lax", "b=2; Path=/; SameSite=lax"]
        assert answer.headers.get_list("x-client-request-id") == ["mine"]
        assert len(answer.headers.get_list("x-request-id")) == 1
        assert answer.headers["x-request-id"] not in ("mine", "set-by-upstream")
        assert answer.headers.get_list("content-security-policy") == [CSP]
        assert len(answer.headers.get_list("server")) <= 1
        assert len(answer.headers.get_list("date")) == 1

        head = await client.head("/v1/procedures/download", params={"size": 1000})
        assert head.status_code == 200
        assert head.content == b""


async def test_nothing_outside_the_route_table_is_forwarded(
    start_gateway: StartGateway,
) -> None:
    async with start_gateway() as gateway, httpx.AsyncClient(base_url=gateway) as client:
        for path in (
            "/internal/accounts",
            "/v1",
            "/v1/",
            "/v1/internal/x",
            "/docs/oauth2-redirect",
            "/v2/accounts",
            "/v1/accountsX",
        ):
            for method in ("GET", "POST", "DELETE"):
                answer = await client.request(method, path, headers={"Accept": "application/json"})
                assert answer.status_code == 404, (method, path)
                assert answer.headers["content-type"] == "application/problem+json"
                assert_security_headers(answer)
                assert "service" not in answer.text
        # the gateway's own metrics are not the service's, and refused to what came through a proxy
        own = await client.get("/metrics")
        assert own.status_code == 200
        assert "_internal_metric" not in own.text
        assert "gateway_upstream_responses_total" in own.text
        assert (await client.get("/metrics", headers={"X-Forwarded-For": "1.2.3.4"})).status_code == 404
        for target in (
            "/v1/accounts/../../metrics",
            "/v1/accounts/%2e%2e/%2e%2e/metrics",
            "/v1/accounts/..%2f..%2fmetrics",
            "/v1/accounts//metrics",
            "/v1/applications/./x",
            "/v1/accounts/..",
            "/v1/accounts/%5c..%5cmetrics",
        ):
            status, body = await raw_get(gateway, target)
            assert status in (400, 404), (target, body)
            assert b"_internal_metric" not in body
            assert b'"service"' not in body


async def test_uploads_and_downloads_stream_through_intact(
    start_gateway: StartGateway,
) -> None:
    size = 24 * 1024 * 1024
    block = hashlib.sha256(b"seed").digest() * 2048  # 64 KiB
    expected = hashlib.sha256(block * (size // len(block))).hexdigest()

    async def body() -> AsyncIterator[bytes]:
        for _ in range(size // len(block)):
            yield block

    async with start_gateway() as gateway, httpx.AsyncClient(base_url=gateway) as client:
        echo: dict[str, Any] = (await client.post("/v1/applications/a1/documents", content=body(), timeout=60)).json()
        assert (echo["size"], echo["sha256"]) == (size, expected)
        assert header(echo, "transfer-encoding") == ["chunked"]

        got = 0
        digest = hashlib.sha256()
        async with client.stream("GET", "/v1/procedures/download", params={"size": size}, timeout=60) as answer:
            assert answer.status_code == 200
            async for chunk in answer.aiter_raw():
                got += len(chunk)
                digest.update(chunk)
        reference = hashlib.sha256((bytes(range(256)) * 256) * (size // 65536)).hexdigest()
        assert got == size
        assert digest.hexdigest() == reference


async def test_the_gateway_mints_every_request_id_and_keeps_the_callers_own_apart(
    start_gateway: StartGateway,
) -> None:
    # A caller choosing the id would write it into other people's logs and events (or reuse a victim's id
    # to muddle an investigation); the platform's id is always its own.
    async with start_gateway() as gateway, httpx.AsyncClient(base_url=gateway) as client:
        chosen = {"X-Request-ID": "0123456789abcdef0123456789abcdef"}
        first = await client.get("/v1/agencies", headers=chosen)
        second = await client.get("/v1/agencies", headers=chosen)
        ids = {first.headers["x-request-id"], second.headers["x-request-id"]}
        assert len(ids) == 2
        assert chosen["X-Request-ID"] not in ids
        for answer in (first, second):
            assert header(answer.json(), "x-request-id") == [answer.headers["x-request-id"]]
            assert header(answer.json(), "x-client-request-id") == [chosen["X-Request-ID"]]
            assert answer.headers["x-client-request-id"] == chosen["X-Request-ID"]

        # the caller's own id is kept only when short and printable, and never reaches a service otherwise
        for unfit in ("x" * 65, "id with\ttab"):
            answer = await client.get("/v1/agencies", headers={"X-Request-ID": unfit, "X-Client-Request-ID": "forged"})
            assert "x-client-request-id" not in answer.headers
            assert header(answer.json(), "x-client-request-id") == []
