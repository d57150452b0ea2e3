"""Guards around every request: a deadline on its database work, and a cap on its body.

The shared client allows an operation 15 s (`timeoutMS`), and server selection then waits that long
too: a citizen would wait 15 s for a 503. Each request here gets `CATALOGUE_REQUEST_DB_SECONDS`
(PyMongo's `timeout` block); a database that times out then answers 503 like one that is down
(motcua.common.web maps a timed-out operation to 503).
A body announced larger than the cap is refused with 413 before it is read (the router's own limit
catches bodies sent without a length).
"""

from __future__ import annotations

import pymongo
from fastapi import FastAPI, Request
from motcua.common.problems import problem
from starlette.middleware import Middleware
from starlette.types import ASGIApp, Receive, Scope, Send


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
                413,
                "Payload too large",
                f"A request body here is at most {self.max_body_bytes} bytes.",
                request=request,
            )
            await refused(scope, receive, send)
            return
        with pymongo.timeout(self.db_seconds):
            await self.app(scope, receive, send)


def install(app: FastAPI, *, db_seconds: float, max_body_bytes: int) -> None:
    app.user_middleware.append(Middleware(RequestGuards, db_seconds=db_seconds, max_body_bytes=max_body_bytes))
