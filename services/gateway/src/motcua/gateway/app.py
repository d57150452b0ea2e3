"""Build the gateway: its own health, readiness, metrics and API document, the routed prefixes, the portal.

The gateway holds no database or broker, so it does not use `create_app`'s lifespan: its lifespan
only opens and closes the shared upstream client. Middleware, outermost first: security headers,
gzip for text answers (`Compression`), request ids and request metrics (`RequestContext`), the
per-client rate limit, admission control (a slot of the service's concurrency limit, or 503 at once).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from motcua.common.errors import NotFound
from motcua.common.logging import configure as configure_logging
from motcua.common.problems import install_error_handlers
from motcua.common.request_context import RequestContext
from motcua.gateway import admission, routes
from motcua.gateway.compression import Compression
from motcua.gateway.forwarding import Forwarder
from motcua.gateway.headers import SecurityHeaders
from motcua.gateway.openapi import ApiDocs
from motcua.gateway.operations import operations_router
from motcua.gateway.portal import Portal
from motcua.gateway.settings import Settings
from motcua.gateway.throttle import RateLimit, TokenBuckets
from prometheus_client import CollectorRegistry
from starlette.routing import Route

PROXY_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def build_app(settings: Settings | None = None) -> FastAPI:
    """The gateway app; the upstream client opens when the app starts."""
    settings = settings or Settings()
    configure_logging(service=settings.service_name, fmt=settings.log_format, level=settings.log_level)
    registry = CollectorRegistry()
    forwarder = Forwarder(settings, registry)
    docs = ApiDocs(forwarder.client, forwarder.urls, settings.gateway_openapi_cache_seconds)
    portal = Portal(settings.static_dir)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await forwarder.close()

    app = FastAPI(
        title="Mot Cua gateway",
        description="The one public entrance: routes to the services, edge checks, the web portal.",
        version="1.0.0",
        lifespan=lifespan,
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    install_error_handlers(app)
    app.add_middleware(admission.Admission, limiters=admission.limiters(settings), registry=registry)
    app.add_middleware(
        RateLimit,
        buckets=TokenBuckets(
            rate=settings.gateway_rate_limit_per_second,
            burst=settings.gateway_rate_limit_burst,
            max_keys=settings.gateway_rate_limit_max_clients,
        ),
        portal_buckets=TokenBuckets(
            rate=settings.gateway_portal_rate_limit_per_second,
            burst=settings.gateway_portal_rate_limit_burst,
            max_keys=settings.gateway_rate_limit_max_clients,
        ),
        registry=registry,
    )
    app.add_middleware(
        RequestContext,
        registry=registry,
        service=settings.service_name,
        trusted_proxies=settings.trusted_proxies,
        edge=True,
    )
    app.add_middleware(Compression)
    app.add_middleware(SecurityHeaders)

    app.include_router(
        operations_router(forwarder, docs, registry, readiness_timeout=settings.gateway_readiness_timeout_seconds)
    )

    for prefix, service in routes.ROUTES:

        async def forward(request: Request, service: str = service) -> Response:
            if not routes.is_safe(request.scope["path"]):
                raise NotFound("There is nothing at this address.")
            return await forwarder.forward(request, service)

        for path in (prefix, prefix + "/{rest:path}"):
            app.router.routes.append(Route(path, forward, methods=PROXY_METHODS, include_in_schema=False))

    app.router.routes.append(Route("/{path:path}", portal.serve, methods=PROXY_METHODS, include_in_schema=False))
    return app
