"""Guards around every request: a deadline on its database work, and a cap on its body.

The shared client allows an operation 15 s (`timeoutMS`), and server selection then waits that long
too: a citizen would wait 15 s for a 503. Each request here gets `CATALOGUE_REQUEST_DB_SECONDS`
(PyMongo's `timeout` block), and a database that times out answers 503 like one that is down.
A body announced larger than the cap is refused with 413 before it is read (the router's own limit
catches bodies sent without a length).
"""

from __future__ import annotations

import pymongo
import structlog
from fastapi import FastAPI, Request
from fastapi.responses import Response
from motcua.common.web import problem
from pymongo.errors import PyMongoError
from starlette.middleware import Middleware
from starlette.types import ASGIApp, Receive, Scope, Send

log = structlog.get_logger(__name__)


class RequestGuards:
    """Pure ASGI middleware, innermost (inside the request-id middleware, so answers carry the id)."""

    def __init__(self, app: ASGIApp, *, db_seconds: float, max_body_bytes: int) -> None:
        self.app = app
        self.db_seconds = db_seconds
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers", [])).get(b"content-length", b"0")
        if length.isdigit() and int(length) > self.max_body_bytes:
            request = Request(scope)
            refused = problem(
                413, "Payload too large", f"A request body here is at most {self.max_body_bytes} bytes.",
                request=request,
            )
            await refused(scope, receive, send)
            return
        with pymongo.timeout(self.db_seconds):
            await self.app(scope, receive, send)


async def _too_slow(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, PyMongoError) or not exc.timeout:
        raise exc
    log.warning("database_too_slow", error=str(exc))
    return problem(
        503,
        "Service unavailable",
        "The service's database did not answer in time; nothing was saved. Try again shortly.",
        request=request,
        headers={"Retry-After": "5"},
    )


def install(app: FastAPI, *, db_seconds: float, max_body_bytes: int) -> None:
    app.user_middleware.append(Middleware(RequestGuards, db_seconds=db_seconds, max_body_bytes=max_body_bytes))
    app.add_exception_handler(PyMongoError, _too_slow)
