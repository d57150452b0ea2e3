"""Small upstream apps served over real HTTP, standing where the four services stand, and a gateway in front."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from motcua.devtools.devservers import free_port
from motcua.devtools.testing import running_app
from motcua.gateway.app import build_app
from motcua.gateway.settings import Settings

SERVICES = ("identity", "catalogue", "submission", "notification", "webhooks")


@dataclass
class Upstream:
    """What one upstream app saw: the sizes of the bodies it read to the end."""

    name: str
    url: str = ""
    completed_bodies: list[int] = field(default_factory=list)
    # set by a test: /v1/procedures/export sends its first part, then waits for this before the rest
    gate: asyncio.Event | None = None
    export_finished: bool = False


def export_parts() -> tuple[bytes, bytes]:
    """The body of /v1/procedures/export: about 100 KB before the gate, about 4 MB after it."""

    def items(start: int, stop: int) -> bytes:
        return b",".join(
            b'{"code":"HT-KS-%05d","name":"\xc4\x90\xc4\x83ng k\xc3\xbd khai sinh","agency":"UBND x\xc3\xa3"}' % n
            for n in range(start, stop)
        )

    return b"[" + items(0, 1_000), b"," + items(1_000, 41_000) + b"]"


def add_compression_routes(app: FastAPI, seen: Upstream) -> None:
    """A long JSON answer streamed in two parts (a gate between them), and a document download."""

    @app.get("/v1/procedures/export")
    async def export() -> StreamingResponse:
        first, rest = export_parts()

        async def chunks() -> AsyncIterator[bytes]:
            seen.export_finished = False
            yield first
            if seen.gate is not None:
                await seen.gate.wait()
            for start in range(0, len(rest), 64 * 1024):
                yield rest[start : start + 64 * 1024]
            seen.export_finished = True

        return StreamingResponse(chunks(), media_type="application/json")

    @app.get("/v1/applications/{application_id}")
    async def draft(application_id: str) -> Response:
        # a long draft, versioned by a strong ETag its owner sends back in If-Match when saving
        body = json.dumps({"id": application_id, "status": "draft", "data": {"notes": "Ghi chú. " * 300}})
        return Response(body, media_type="application/json", headers={"ETag": '"draft-v7"'})

    @app.get("/v1/applications/{application_id}/documents/{document_id}")
    async def document(application_id: str, document_id: str) -> Response:
        # a text-heavy PDF compresses well, which is why only its type can keep it out of gzip
        pdf = b"%PDF-1.4\n" + b"BT /F1 12 Tf (Giay khai sinh) Tj ET\n" * 1000 + b"%%EOF\n"
        return Response(
            pdf, media_type="application/pdf", headers={"Content-Disposition": 'attachment; filename="khai-sinh.pdf"'}
        )


def upstream_app(seen: Upstream) -> FastAPI:
    app = FastAPI(title=f"fake {seen.name}")
    add_compression_routes(app, seen)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/metrics")
    async def metrics() -> Response:
        return Response(f"{seen.name}_internal_metric 1\n", media_type="text/plain")

    @app.get("/v1/agencies/slow")
    async def slow(seconds: float = 1.0) -> dict[str, str]:
        await asyncio.sleep(seconds)
        return {"status": "late"}

    @app.get("/v1/procedures/download")
    async def download(size: int) -> StreamingResponse:
        async def chunks() -> AsyncIterator[bytes]:
            block = bytes(range(256)) * 256  # 64 KiB
            left = size
            while left > 0:
                yield block[: min(left, len(block))]
                left -= len(block)

        return StreamingResponse(chunks(), media_type="application/octet-stream")

    @app.get("/v1/accounts/cookies")
    async def cookies() -> Response:
        response = JSONResponse({"ok": True}, status_code=201)
        response.set_cookie("a", "1")
        response.set_cookie("b", "2")
        response.headers["X-Request-ID"] = "set-by-upstream"
        response.headers["Content-Security-Policy"] = "default-src *"
        return response

    @app.api_route(
        "/{path:path}", methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"], include_in_schema=False
    )
    async def echo(request: Request, path: str) -> JSONResponse:
        digest = hashlib.sha256()
        size = 0
        async for chunk in request.stream():
            digest.update(chunk)
            size += len(chunk)
        seen.completed_bodies.append(size)
        return JSONResponse(
            {
                "service": seen.name,
                "method": request.method,
                "path": request.url.path,
                "raw_path": request.scope["raw_path"].decode("latin-1"),
                "query": request.scope["query_string"].decode("latin-1"),
                "headers": [[k.decode("latin-1"), v.decode("latin-1")] for k, v in request.scope["headers"]],
                "size": size,
                "sha256": digest.hexdigest(),
            }
        )

    return app


@pytest.fixture(scope="module")
async def upstreams() -> AsyncIterator[dict[str, Upstream]]:
    async with AsyncExitStack() as stack:
        found: dict[str, Upstream] = {}
        for name in SERVICES:
            seen = Upstream(name)
            seen.url = await stack.enter_async_context(running_app(upstream_app(seen)))
            found[name] = seen
        yield found


@pytest.fixture
def gateway_settings(upstreams: dict[str, Upstream], tmp_path: Path) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "identity_url": upstreams["identity"].url,
            "catalogue_url": upstreams["catalogue"].url,
            "submission_url": upstreams["submission"].url,
            "notification_url": upstreams["notification"].url,
            "webhooks_url": upstreams["webhooks"].url,
            "gateway_static_dir": tmp_path / "static",
            "log_format": "console",
            **overrides,
        }
        return Settings(**values)

    return make


@pytest.fixture
def start_gateway(gateway_settings: Callable[..., Settings]) -> Callable[..., Any]:
    """`async with start_gateway(**settings) as url`: a gateway over real HTTP in front of the upstreams."""

    @asynccontextmanager
    async def start(**overrides: Any) -> AsyncIterator[str]:
        async with running_app(build_app(gateway_settings(**overrides))) as url:
            yield url

    return start


@pytest.fixture
def export_body() -> tuple[bytes, bytes]:
    """What /v1/procedures/export sends before and after its gate."""
    return export_parts()


@pytest.fixture
def dead_url() -> str:
    """An address where nothing listens."""
    return f"http://127.0.0.1:{free_port()}"
