"""The app factory every service uses: request ids, JSON logs, problem details, health, metrics, shutdown.

A service hands `create_app` its routers, its collections' indexes and how to build its parts (one
typed object: store, outbox, use-case objects), with what to do with them at start, in the background,
as consumers and at shutdown. The factory owns the lifecycle (`runtime.Runtime`): connect (retrying, so
services start in any order), create collections and indexes, run the start-up work, start background
tasks, the outbox relay and the consumers; on shutdown stop consuming, flush the relay, close the clients.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import asynccontextmanager
from functools import partial
from typing import TypeVar

import uvicorn
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from motcua.common import admission, kafka, mongo
from motcua.common import consumer as consumer_module
from motcua.common import outbox as outbox_module
from motcua.common.auth import TokenVerifier
from motcua.common.body_limit import BodyLimit, LargerBody
from motcua.common.logging import configure as configure_logging
from motcua.common.problems import declare_problems, install_error_handlers
from motcua.common.request_context import RequestContext
from motcua.common.revocation import DenyList, RevocationFeed
from motcua.common.runtime import Background, Hooks, Runtime
from motcua.common.settings import ServiceSettings
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector
from pymongo import IndexModel

P = TypeVar("P")


def create_app(
    settings: ServiceSettings,
    *,
    title: str,
    description: str = "",
    routers: Sequence[APIRouter] = (),
    indexes: dict[str, list[IndexModel]] | None = None,
    emits_events: bool = True,
    parts: Callable[[Runtime], P] | None = None,
    on_startup: Callable[[P], Awaitable[None]] | None = None,
    background: Callable[[P], Background] | None = None,
    consumers: Callable[[P], list[consumer_module.Consumer]] | None = None,
    on_shutdown: Callable[[P], Awaitable[None]] | None = None,
    readiness: Callable[[P], Awaitable[dict[str, bool]]] | None = None,
    verifier: TokenVerifier | None = None,
    revocations: bool = True,
    larger_bodies: Sequence[LargerBody] = (),
) -> FastAPI:
    """Build a service's FastAPI app; nothing connects until the app starts.

    In the lifespan, `parts(runtime)` builds the service's parts (no I/O: clients connect lazily); once
    the database answers and the schema exists, `on_startup(parts)` runs (retried while the database is
    away), then the tasks `background(parts)` names, the relay, and the consumers `consumers(parts)`.
    Routes get the parts through `runtime.parts_of` (503 until then). With `revocations` (the default), the
    process reads identity's ended sessions into a deny list that `auth.current_principal` consults
    (motcua.common.revocation), and is not ready until it has caught up. Every request body is at most
    `REQUEST_MAX_BODY_BYTES` (64 KiB), but on the routes `larger_bodies` names (document uploads)."""
    if parts is None and any(h is not None for h in (on_startup, background, consumers, on_shutdown, readiness)):
        raise ValueError("the lifecycle hooks work on the service's parts: give `parts` too")
    configure_logging(service=settings.service_name, fmt=settings.log_format, level=settings.log_level)
    registry = CollectorRegistry()
    if settings.mongodb_command_counts:
        registry.register(_CommandCollector(mongo.count_commands()))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        client = mongo.connect(settings.mongodb_uri, max_pool_size=admission.pool_size(settings))
        db = client[settings.database_name]
        runtime = Runtime(settings=settings, client=client, db=db, outbox=outbox_module.Outbox(db, settings))
        if parts is not None:
            built = parts(runtime)
            app.state.parts = built
            runtime.hooks = Hooks(
                start=partial(on_startup, built) if on_startup else None,
                background=partial(background, built) if background else None,
                consumers=partial(consumers, built) if consumers else None,
                stop=partial(on_shutdown, built) if on_shutdown else None,
                readiness=partial(readiness, built) if readiness else None,
            )
        app.state.runtime = runtime
        if revocations:
            runtime.revocations = RevocationFeed(settings, app.state.deny_list)
            runtime.spawn(runtime.revocations.run(), "revocations")
        runtime.spawn(runtime.boot(indexes=indexes or {}, emits_events=emits_events), "startup")
        try:
            yield
        finally:
            await runtime.shutdown()

    app = FastAPI(title=title, description=description, version="1.0.0", lifespan=lifespan)
    app.state.token_verifier = verifier or TokenVerifier(
        issuer=settings.issuer,
        audience=settings.token_audience,
        jwks_url=f"{settings.identity_url.rstrip('/')}/.well-known/jwks.json",
    )
    if revocations:
        app.state.deny_list = DenyList()
    install_error_handlers(app)
    app.state.metrics_registry = registry  # a service's own metrics join /metrics here
    admission.install(app, settings, registry)
    app.add_middleware(BodyLimit, max_bytes=settings.request_max_body_bytes, larger=larger_bodies)
    app.add_middleware(
        RequestContext, registry=registry, service=settings.service_name, trusted_proxies=settings.trusted_proxies
    )
    app.include_router(_operations(settings, registry))
    for router in routers:
        app.include_router(router)
    declare_problems(app)
    return app


def _operations(settings: ServiceSettings, registry: CollectorRegistry) -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", summary="Alive")
    async def healthz() -> dict[str, str]:
        """Answers while the process runs."""
        return {"status": "ok"}

    @router.get("/readyz", summary="Ready to serve")
    async def readyz(request: Request) -> JSONResponse:
        """200 only when the database and the broker answer and the background loops are alive."""
        runtime: Runtime = request.app.state.runtime
        mongo_ok, kafka_ok = await asyncio.gather(
            mongo.ping(runtime.client),
            kafka.ping(settings.kafka_bootstrap_servers, **kafka.client_options(settings)),
        )
        service = await runtime.readiness()
        checks = {"started": service.pop("started"), "mongodb": mongo_ok, "kafka": kafka_ok, **service}
        ready = all(checks.values())
        return JSONResponse(
            {"status": "ready" if ready else "not_ready", "checks": checks}, status_code=200 if ready else 503
        )

    @router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return router


class _CommandCollector(Collector):
    """`motcua_mongodb_commands_total{command=...,collection=...}`: the commands every client of this process
    sent."""

    def __init__(self, counting: mongo.CommandCounts) -> None:
        self._counting = counting

    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily(
            "motcua_mongodb_commands", "MongoDB commands sent, by name and collection", labels=["command", "collection"]
        )
        for (name, collection), count in sorted(self._counting.counts.items()):
            family.add_metric([name, collection], count)
        yield family


def serve(app: FastAPI, settings: ServiceSettings) -> None:
    """Run the app with uvicorn; SIGTERM or Ctrl-C shuts it down gracefully."""
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=10,
        timeout_keep_alive=75,  # longer than clients' idle pools, so the client always closes first
        # RequestContext believes X-Forwarded-For from FORWARDED_ALLOW_IPS only; uvicorn's own reading stays off
        proxy_headers=False,
    )
