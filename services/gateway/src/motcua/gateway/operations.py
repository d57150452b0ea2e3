"""The gateway's own routes: alive, ready (every service answers), metrics, the platform's API document."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse
from motcua.common.errors import NotFound
from motcua.gateway import api_docs_page, routes
from motcua.gateway.forwarding import Forwarder
from motcua.gateway.openapi import ApiDocs
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest


def _came_through_proxy(request: Request) -> bool:
    return "x-forwarded-for" in request.headers or "forwarded" in request.headers


def operations_router(
    forwarder: Forwarder, docs: ApiDocs, registry: CollectorRegistry, *, readiness_timeout: float
) -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", summary="Alive")
    async def healthz() -> dict[str, str]:
        """Answers while the process runs."""
        return {"status": "ok"}

    @router.get("/readyz", summary="Ready to serve")
    async def readyz() -> JSONResponse:
        """200 only when every routed service answers its /healthz."""

        async def alive(url: str) -> bool:
            try:
                answer = await forwarder.client.get(f"{url}/healthz", timeout=readiness_timeout)
            except httpx.HTTPError:
                return False
            return answer.status_code == 200

        results = await asyncio.gather(*(alive(forwarder.urls[s]) for s in routes.SERVICES))
        checks = dict(zip(routes.SERVICES, results, strict=True))
        ready = all(checks.values())
        return JSONResponse(
            {"status": "ready" if ready else "not_ready", "checks": checks}, status_code=200 if ready else 503
        )

    @router.get("/metrics", summary="Prometheus metrics")
    async def metrics(request: Request) -> Response:
        """For the scraper inside the cluster; refused to what came in through a proxy (the Ingress)."""
        if _came_through_proxy(request):
            raise NotFound("There is nothing at this address.")
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    @router.get("/openapi.json", summary="The platform's API")
    async def openapi() -> dict[str, Any]:
        """The services' OpenAPI documents merged: every path the gateway routes."""
        return await docs.document()

    @router.get("/docs", include_in_schema=False)
    async def docs_page() -> HTMLResponse:
        """Every operation of the merged document, as one page a browser reads (no script needed)."""
        return HTMLResponse(api_docs_page.render(await docs.document()), headers={"Cache-Control": "no-cache"})

    @router.get("/docs.css", include_in_schema=False)
    async def docs_stylesheet() -> Response:
        """The page's stylesheet (a file of its own: the CSP allows no inline style)."""
        return Response(
            api_docs_page.STYLESHEET, media_type="text/css", headers={"Cache-Control": "public, max-age=3600"}
        )

    return router
