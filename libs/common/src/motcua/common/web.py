"""The app factory every service uses: request ids, JSON logs, problem details, health, metrics, shutdown.

A service hands `create_app` its routers, its collections' indexes, the consumers it runs and a
start-up hook; the factory owns the lifecycle: connect (retrying, so services start in any order),
create collections and indexes, start the outbox relay and consumers, and on shutdown stop
consuming, flush the relay and close the clients.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import structlog
import uvicorn
from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from motcua.common import admission, errors, kafka, mongo
from motcua.common import consumer as consumer_module
from motcua.common import outbox as outbox_module
from motcua.common.auth import TokenVerifier
from motcua.common.logging import configure as configure_logging
from motcua.common.settings import ServiceSettings
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from pymongo import IndexModel
from pymongo.errors import ConnectionFailure, PyMongoError, ServerSelectionTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = structlog.get_logger(__name__)

REQUEST_ID = "X-Request-ID"
PROBLEM_JSON = "application/problem+json"

_STATUS: list[tuple[type[errors.DomainError], int]] = [
    (errors.InvalidInput, 422),
    (errors.NotFound, 404),
    (errors.Conflict, 409),
    (errors.Forbidden, 403),
    (errors.Unauthenticated, 401),
    (errors.PreconditionFailed, 412),
    (errors.PreconditionRequired, 428),
    (errors.PayloadTooLarge, 413),
    (errors.UnsupportedMediaType, 415),
    (errors.Gone, 410),
    (errors.TooManyRequests, 429),
    (errors.Unavailable, 503),
]


def _slug(title: str) -> str:
    return "-".join(title.lower().split())


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    request: Request | None = None,
    problems: Sequence[errors.FieldProblem] | Sequence[dict[str, str]] = (),
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """An RFC 9457 problem-details response, with the request id and never a stack trace."""
    body: dict[str, Any] = {
        "type": f"urn:motcua:problem:{_slug(title)}",
        "title": title,
        "status": status,
        "detail": detail,
    }
    if request is not None:
        body["instance"] = request.url.path
        body["request_id"] = getattr(request.state, "request_id", None)
    if problems:
        body["errors"] = [
            {"pointer": p.pointer, "message": p.message} if isinstance(p, errors.FieldProblem) else p
            for p in problems
        ]
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem details: what went wrong, for people and for programs.",
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "description": "urn:motcua:problem:<slug of the title>"},
        "title": {"type": "string"},
        "status": {"type": "integer", "description": "the HTTP status"},
        "detail": {"type": "string", "description": "what to do about it, for the person using the service"},
        "instance": {"type": "string", "description": "the path asked for"},
        "request_id": {"type": ["string", "null"], "description": "quote it when reporting a problem"},
        "errors": {
            "type": "array",
            "description": "each invalid field: a JSON pointer into `location` (body, query, path, header)",
            "items": {
                "type": "object",
                "properties": {
                    "pointer": {"type": "string"},
                    "location": {"type": "string"},
                    "message": {"type": "string"},
                },
            },
        },
    },
}
_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})


def declare_problems(app: FastAPI) -> None:
    """Say in the OpenAPI document what every error is: problem details, as each operation's `default`
    answer and as its 422 (FastAPI would declare its own validation-error shape as plain JSON)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = build()
        shape = {"schema": {"$ref": "#/components/schemas/Problem"}}
        content = {PROBLEM_JSON: shape}
        for item in document.get("paths", {}).values():
            for method, operation in item.items():
                if method not in _METHODS:
                    continue
                responses = operation.setdefault("responses", {})
                if "422" in responses:
                    responses["422"] = {"description": "Invalid input: `errors` names each field", "content": content}
                responses.setdefault("default", {"description": "Any other error, as problem details",
                                                 "content": content})
                for response in responses.values():  # errors a route declared without their shape
                    if response.get("content", {}).get(PROBLEM_JSON) == {}:
                        response["content"][PROBLEM_JSON] = shape
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        schemas["Problem"] = PROBLEM_SCHEMA
        for unused in ("HTTPValidationError", "ValidationError"):  # FastAPI's, replaced above
            if f'"#/components/schemas/{unused}"' not in json.dumps(document):
                schemas.pop(unused, None)
        return document

    app.openapi = openapi  # type: ignore[method-assign]


def _pointer(loc: Sequence[int | str]) -> dict[str, str]:
    where = str(loc[0]) if loc else "body"
    path = [str(p) for p in loc[1:]]
    return {"pointer": "/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in path), "location": where}


_UNPARSABLE_BODY = "There was an error parsing the body"


def install_error_handlers(app: FastAPI) -> None:
    """Map domain errors, bad input, missing routes and database outages to problem details."""

    async def domain_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, errors.DomainError)
        status = next((code for cls, code in _STATUS if isinstance(exc, cls)), 400)
        headers: dict[str, str] = {}
        if isinstance(exc, errors.TooManyRequests):
            headers["Retry-After"] = str(exc.retry_after)
        if isinstance(exc, errors.Unavailable):
            headers["Retry-After"] = "5"
        if isinstance(exc, errors.Unauthenticated):
            headers["WWW-Authenticate"] = 'Bearer realm="motcua"'
        found = exc.problems if isinstance(exc, errors.InvalidInput) else ()
        return problem(status, exc.title, exc.detail, request=request, problems=found, headers=headers)

    async def validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        found = []
        for e in exc.errors():
            entry = _pointer(e.get("loc", ()))
            entry["message"] = str(e.get("msg", "invalid"))
            found.append(entry)
        fields = ", ".join(f["pointer"] or f["location"] for f in found)
        return problem(422, "Invalid input", f"Check these fields: {fields}", request=request, problems=found)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 400 and exc.detail == _UNPARSABLE_BODY:  # FastAPI's: not UTF-8, or nested too deep
            unreadable = "not readable as JSON: not UTF-8, or nested too deep"
            found = [{"pointer": "/", "location": "body", "message": unreadable}]
            return problem(422, "Invalid input", "Check these fields: the body (not readable as JSON)",
                           request=request, problems=found)
        title = {404: "Not found", 405: "Method not allowed"}.get(exc.status_code, "Request refused")
        return problem(
            exc.status_code, title, str(exc.detail), request=request, headers=dict(exc.headers or {})
        )

    async def database_down(request: Request, exc: Exception) -> Response:
        log.warning("database_unavailable", error=str(exc))
        return problem(
            503,
            "Service unavailable",
            "The service cannot reach its database just now; nothing was saved. Try again shortly.",
            request=request,
            headers={"Retry-After": "5"},
        )

    app.add_exception_handler(errors.DomainError, domain_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    async def database_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, PyMongoError)
        if exc.timeout:
            return await database_down(request, exc)
        log.error("database_error", error=str(exc))
        return problem(500, "Internal error", "Something went wrong on our side; it has been logged.", request=request)

    app.add_exception_handler(ConnectionFailure, database_down)
    app.add_exception_handler(ServerSelectionTimeoutError, database_down)
    app.add_exception_handler(PyMongoError, database_error)


class RequestContext:
    """Pure ASGI middleware: request id in and out, one log line per request, metrics, last-resort 500."""

    def __init__(self, app: ASGIApp, *, registry: CollectorRegistry, service: str) -> None:
        self.app = app
        self.service = service
        self.requests = Counter(
            "http_requests_total", "HTTP requests", ["method", "route", "status"], registry=registry
        )
        self.latency = Histogram(
            "http_request_duration_seconds", "HTTP request latency", ["method", "route"], registry=registry
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope.get("headers", [])).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if incoming and len(incoming) <= 128 and incoming.isprintable() else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        status = 500
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                started = True
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        began = time.perf_counter()
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(service=self.service, request_id=request_id)
        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            log.exception("request_failed", method=scope["method"], path=scope["path"])
            if not started:
                body = (
                    b'{"type":"urn:motcua:problem:internal-error","title":"Internal error","status":500,'
                    b'"detail":"Something went wrong on our side; it has been logged.","request_id":"'
                    + request_id.encode()
                    + b'"}'
                )
                await send_with_id(
                    {
                        "type": "http.response.start",
                        "status": 500,
                        "headers": [
                            (b"content-type", PROBLEM_JSON.encode()),
                            (b"content-length", str(len(body)).encode()),
                        ],
                    }
                )
                await send_with_id({"type": "http.response.body", "body": body})
        finally:
            route = scope.get("route")
            template = getattr(route, "path", "unmatched")
            elapsed = time.perf_counter() - began
            self.requests.labels(scope["method"], template, str(status)).inc()
            self.latency.labels(scope["method"], template).observe(elapsed)
            if template not in ("/healthz", "/readyz", "/metrics"):
                log.info(
                    "request", method=scope["method"], route=template, status=status, ms=round(elapsed * 1000, 1)
                )


@dataclass
class Runtime:
    """What a running service holds: its clients, outbox, relay and consumers."""

    settings: ServiceSettings
    client: mongo.Client
    db: mongo.Database
    outbox: outbox_module.Outbox
    relay: outbox_module.Relay | None = None
    consumers: list[consumer_module.Consumer] = field(default_factory=list)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    started: asyncio.Event = field(default_factory=asyncio.Event)
    extras: dict[str, Any] = field(default_factory=dict)

    def spawn(self, coro: Awaitable[None], name: str) -> None:
        """Run a background task for the service's lifetime; a crash is logged, not swallowed."""

        async def guarded() -> None:
            try:
                await coro
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("background_task_crashed", task=name)

        self.tasks.append(asyncio.create_task(guarded(), name=name))

    async def boot(
        self,
        *,
        indexes: dict[str, list[IndexModel]],
        emits_events: bool,
        consumers: ConsumerFactory | None,
        on_startup: StartupHook | None,
    ) -> None:
        """Wait for the database, create the schema, then start the relay and the consumers."""
        await mongo.wait_until_ready(self.client)
        schema: dict[str, Sequence[IndexModel]] = {**outbox_module.INDEXES, **consumer_module.INDEXES, **indexes}
        while True:
            try:
                await mongo.ensure_collections(self.db, schema)
                break
            except PyMongoError as exc:
                log.warning("schema_not_ready", error=str(exc))
                await asyncio.sleep(1.0)
        while on_startup is not None:
            try:
                await on_startup(self)
                break
            except PyMongoError as exc:
                log.warning("startup_waiting_for_database", error=str(exc))
                await asyncio.sleep(1.0)
        if emits_events:
            self.relay = outbox_module.Relay(self.db, self.settings, self.outbox)
            self.spawn(self.relay.run(), "relay")
        if consumers is not None:
            self.consumers = consumers(self)
            for c in self.consumers:
                self.spawn(c.run(), f"consumer-{c.group}")
        self.started.set()
        log.info("service_started", port=self.settings.port)

    async def shutdown(self, on_shutdown: StartupHook | None) -> None:
        """Stop consuming, run the service's hook, flush the relay, let loops finish, close the client."""
        for c in self.consumers:
            await c.stop()
        if on_shutdown is not None:
            try:
                await on_shutdown(self)
            except Exception:
                log.exception("shutdown_hook_failed")
        if self.relay is not None:
            await self.relay.stop()
        # the loops told to stop finish their record or batch; other background tasks are cancelled
        running = [t for t in self.tasks if not t.done() and t.get_name().startswith(("relay", "consumer-"))]
        if running:
            await asyncio.wait(running, timeout=5)
        await asyncio.sleep(0)
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.client.close()
        log.info("service_stopped")


StartupHook = Callable[[Runtime], Awaitable[None]]
ConsumerFactory = Callable[[Runtime], list[consumer_module.Consumer]]



def create_app(
    settings: ServiceSettings,
    *,
    title: str,
    description: str = "",
    routers: Sequence[APIRouter] = (),
    indexes: dict[str, list[IndexModel]] | None = None,
    emits_events: bool = True,
    consumers: ConsumerFactory | None = None,
    on_startup: StartupHook | None = None,
    on_shutdown: StartupHook | None = None,
    verifier: TokenVerifier | None = None,
    readiness: Callable[[Runtime], Awaitable[dict[str, bool]]] | None = None,
) -> FastAPI:
    """Build a service's FastAPI app; nothing connects until the app starts."""
    configure_logging(service=settings.service_name, fmt=settings.log_format, level=settings.log_level)
    registry = CollectorRegistry()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        client = mongo.connect(settings.mongodb_uri, max_pool_size=admission.pool_size(settings))
        db = client[settings.database_name]
        runtime = Runtime(settings=settings, client=client, db=db, outbox=outbox_module.Outbox(db, settings))
        app.state.runtime = runtime
        runtime.spawn(
            runtime.boot(indexes=indexes or {}, emits_events=emits_events, consumers=consumers, on_startup=on_startup),
            "startup",
        )
        try:
            yield
        finally:
            await runtime.shutdown(on_shutdown)

    app = FastAPI(title=title, description=description, version="1.0.0", lifespan=lifespan)
    app.state.token_verifier = verifier or TokenVerifier(
        issuer=settings.issuer,
        audience=settings.token_audience,
        jwks_url=f"{settings.identity_url.rstrip('/')}/.well-known/jwks.json",
    )
    app.state.settings = settings
    app.state.metrics_registry = registry  # services add their own metrics here
    install_error_handlers(app)
    admission.install(app, settings, registry)
    app.add_middleware(RequestContext, registry=registry, service=settings.service_name)

    @app.get("/healthz", tags=["operations"], summary="Alive")
    async def healthz() -> dict[str, str]:
        """Answers while the process runs."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["operations"], summary="Ready to serve")
    async def readyz(request: Request) -> JSONResponse:
        """200 only when the database and the broker answer and the background loops are alive."""
        runtime: Runtime = request.app.state.runtime
        mongo_ok, kafka_ok = await asyncio.gather(
            mongo.ping(runtime.client),
            kafka.ping(settings.kafka_bootstrap_servers, **kafka.client_options(settings)),
        )
        checks = {"started": runtime.started.is_set(), "mongodb": mongo_ok, "kafka": kafka_ok}
        for c in runtime.consumers:
            checks[f"consumer:{c.group}"] = c.healthy
        if readiness is not None:
            checks.update(await readiness(runtime))
        ready = all(checks.values())
        return JSONResponse(
            {"status": "ready" if ready else "not_ready", "checks": checks}, status_code=200 if ready else 503
        )

    @app.get("/metrics", tags=["operations"], summary="Prometheus metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    for router in routers:
        app.include_router(router)
    declare_problems(app)
    return app


def runtime_of(request: Request) -> Runtime:
    """The running service's clients, for routes."""
    runtime: Runtime = request.app.state.runtime
    return runtime


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
        proxy_headers=True,
    )
