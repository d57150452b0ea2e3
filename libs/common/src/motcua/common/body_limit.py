"""A cap on every request body, enforced while it is read: 413 problem details past it.

JSON bodies are small (the largest form of the catalogue is a few KiB), so every route takes at most
`REQUEST_MAX_BODY_BYTES` (64 KiB) unless the service names it as one that receives documents, with a
limit of its own. A `Content-Length` over the limit is refused before anything is read; a body without
one (chunked), or one longer than it claimed, is counted as it arrives and refused the moment it passes
the limit, so no route ever parses more than the limit (the server reads and drops the rest, so the
client, which may still be sending, gets the answer). Without this, identity and submission read and
parsed bodies up to the gateway's 60 MB before any field limit applied.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from motcua.common.problems import problem
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

JSON_BODY_BYTES = 64 * 1024


@dataclass(frozen=True)
class LargerBody:
    """A route that receives documents: `method` and `path` (a template: `/v1/applications/{id}/documents`)
    may take bodies up to `max_bytes`."""

    method: str
    path: str
    max_bytes: int
    pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        parts = re.split(r"\{[^/}]+\}", self.path)
        object.__setattr__(self, "pattern", re.compile("[^/]+".join(re.escape(p) for p in parts) + r"\Z"))

    def matches(self, method: str, path: str) -> bool:
        return method == self.method and self.pattern.match(path) is not None


class _TooLarge(Exception):
    """The body passed the limit while the app read it."""


def _size(amount: int) -> str:
    if amount % (1024 * 1024) == 0:
        return f"{amount // (1024 * 1024)} MiB"
    if amount % 1024 == 0:
        return f"{amount // 1024} KiB"
    return f"{amount} bytes"


class BodyLimit:
    """Pure ASGI middleware: each request's body is at most its route's limit, or 413 problem details."""

    def __init__(self, app: ASGIApp, *, max_bytes: int = JSON_BODY_BYTES, larger: Sequence[LargerBody] = ()) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.larger = tuple(larger)

    def limit(self, method: str, path: str) -> int:
        """The most bytes a body of this request may have."""
        return next((rule.max_bytes for rule in self.larger if rule.matches(method, path)), self.max_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit(scope["method"], scope["path"])
        declared = next((v for k, v in scope.get("headers", []) if k == b"content-length"), b"")
        if declared.strip().isdigit() and int(declared) > limit:
            await self._refuse(scope, receive, send, limit)
            return
        received = 0
        tripped = False
        started = False

        async def counted() -> Message:
            nonlocal received, tripped
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    tripped = True
                    raise _TooLarge
            return message

        async def answer(message: Message) -> None:
            nonlocal started
            if tripped:
                return  # whatever the route made of its broken read, the answer is the 413 below
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, answer)
        except Exception:
            if not tripped:
                raise
        if tripped and not started:
            await self._refuse(scope, receive, send, limit)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        refused = problem(
            413,
            "Payload too large",
            f"The request body is larger than the {_size(limit)} this address accepts.",
            request=Request(scope),
        )
        await refused(scope, receive, send)
