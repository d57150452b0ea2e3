"""Guards around every request: a deadline on its database work (bodies are capped for every service by
motcua.common.body_limit, 64 KiB).

The shared client allows an operation 15 s (`timeoutMS`), and server selection then waits that long
too: a citizen would wait 15 s for a 503. Each request here gets `CATALOGUE_REQUEST_DB_SECONDS`
(PyMongo's `timeout` block); a database that times out then answers 503 like one that is down
(motcua.common.web maps a timed-out operation to 503).
"""

from __future__ import annotations

import pymongo
from fastapi import FastAPI
from starlette.middleware import Middleware
from starlette.types import ASGIApp, Receive, Scope, Send


class RequestGuards:
    """Pure ASGI middleware, innermost (inside the request-id middleware, so answers carry the id)."""

    def __init__(self, app: ASGIApp, *, db_seconds: float) -> None:
        self.app = app
        self.db_seconds = db_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        with pymongo.timeout(self.db_seconds):
            await self.app(scope, receive, send)


def install(app: FastAPI, *, db_seconds: float) -> None:
    app.user_middleware.append(Middleware(RequestGuards, db_seconds=db_seconds))
