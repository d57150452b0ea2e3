"""Each request's context: its id (in and out), one log line, its metrics, a last-resort 500; and the
dependencies routes take it by (`RequestId`, `ClientIp`)."""

from __future__ import annotations

import time
import uuid
from typing import Annotated

import structlog
from fastapi import Depends, Request
from motcua.common.problems import PROBLEM_JSON
from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = structlog.get_logger(__name__)

_UNLOGGED = ("/healthz", "/readyz", "/metrics")


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
                await _internal_error(send_with_id, request_id)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", "unmatched")
            elapsed = time.perf_counter() - began
            self.requests.labels(scope["method"], template, str(status)).inc()
            self.latency.labels(scope["method"], template).observe(elapsed)
            if template not in _UNLOGGED:
                log.info("request", method=scope["method"], route=template, status=status, ms=round(elapsed * 1000, 1))


async def _internal_error(send: Send, request_id: str) -> None:
    """The 500 of a request that failed before it answered: problem details, never a stack trace."""
    body = (
        b'{"type":"urn:motcua:problem:internal-error","title":"Internal error","status":500,'
        b'"detail":"Something went wrong on our side; it has been logged.","request_id":"' + request_id.encode() + b'"}'
    )
    headers = [(b"content-type", PROBLEM_JSON.encode()), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 500, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def request_id(request: Request) -> str | None:
    """The id `RequestContext` gave this request (pass it to `Outbox.add`)."""
    found: str | None = getattr(request.state, "request_id", None)
    return found


async def client_ip(request: Request) -> str:
    """The caller's address (uvicorn's proxy_headers put the gateway's X-Forwarded-For here)."""
    return request.client.host if request.client else "unknown"


RequestId = Annotated[str | None, Depends(request_id)]
ClientIp = Annotated[str, Depends(client_ip)]
