"""Request bodies are capped while they are read: 413 problem details, whether or not a length was sent."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
from fastapi import FastAPI, Request
from motcua.common.body_limit import BodyLimit, LargerBody
from motcua.common.problems import install_error_handlers
from motcua.common.request_context import RequestContext
from motcua.devtools.testing import running_app
from prometheus_client import CollectorRegistry
from pydantic import BaseModel

KIB = 1024
JSON = {"Content-Type": "application/json"}


class Login(BaseModel):
    username: str
    password: str


def service() -> tuple[FastAPI, list[int]]:
    """A service with a JSON route and a document route, as create_app builds its middleware."""
    app = FastAPI()
    install_error_handlers(app)
    parsed: list[int] = []

    @app.post("/v1/auth/login")
    async def login(body: Login) -> dict[str, int]:
        parsed.append(len(body.password))
        return {"length": len(body.password)}

    @app.post("/v1/applications/{application_id}/documents")
    async def upload(application_id: str, request: Request) -> dict[str, Any]:
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
        return {"application_id": application_id, "size": size}

    app.add_middleware(
        BodyLimit,
        max_bytes=64 * KIB,
        larger=[LargerBody("POST", "/v1/applications/{application_id}/documents", 1024 * KIB)],
    )
    app.add_middleware(RequestContext, registry=CollectorRegistry(), service="test")
    return app, parsed


def login(size: int) -> bytes:
    return b'{"username": "lan@example.vn", "password": "' + b"x" * size + b'"}'


async def chunks(body: bytes, size: int = 8 * KIB) -> AsyncIterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


def assert_too_large(answer: httpx.Response, limit: str) -> None:
    assert answer.status_code == 413, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert problem["status"] == 413
    assert limit in problem["detail"]
    assert problem["request_id"] == answer.headers["x-request-id"]


async def test_a_json_body_over_the_limit_is_refused_and_never_parsed() -> None:
    app, parsed = service()
    async with running_app(app) as url, httpx.AsyncClient(base_url=url) as client:
        declared = await client.post("/v1/auth/login", content=login(5 * 1024 * KIB), headers=JSON)
        assert_too_large(declared, "64 KiB")
        # without a Content-Length: counted as it arrives, refused once it passes the limit
        streamed = await client.post("/v1/auth/login", content=chunks(login(5 * 1024 * KIB)), headers=JSON)
        assert_too_large(streamed, "64 KiB")
        assert parsed == []
        # the connection still serves the next request, and a body under the limit is read as before
        fits = await client.post("/v1/auth/login", content=login(60 * KIB), headers=JSON)
        assert fits.status_code == 200
        assert fits.json() == {"length": 60 * KIB}
        assert parsed == [60 * KIB]


async def test_a_document_route_keeps_its_own_larger_limit() -> None:
    app, _ = service()
    async with running_app(app) as url, httpx.AsyncClient(base_url=url) as client:
        document = b"%PDF-1.4\n" + b"0" * (900 * KIB)
        accepted = await client.post("/v1/applications/a1/documents", content=chunks(document))
        assert accepted.status_code == 200
        assert accepted.json() == {"application_id": "a1", "size": len(document)}
        over = await client.post("/v1/applications/a1/documents", content=chunks(b"0" * (1100 * KIB)))
        assert_too_large(over, "1 MiB")
        # the larger limit is that route's alone: not another method, not a longer path
        assert_too_large(await client.put("/v1/applications/a1/documents", content=document), "64 KiB")
        assert_too_large(await client.post("/v1/applications/a1/documents/x", content=document), "64 KiB")
