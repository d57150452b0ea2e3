"""Gzip for text answers, so the portal and the API cost a citizen's phone connection less.

The gzip framing is Starlette's `GZipMiddleware`: it compresses a streamed answer chunk by chunk
(a sync flush after each), so a proxied answer goes out compressed as it arrives and is never held
whole. Starlette can only exclude content types, not list the ones to compress, and knows nothing
of our routes; so `Compression` decides, and hands an answer to gzip only when all of these hold:

- the request: not `HEAD`, and not to the identity service (BREACH, below);
- the answer: a text type (`COMPRESSIBLE`), not already encoded, not a download (no
  `Content-Disposition`), a status with a whole body (not 204, 206 or 304), not declared
  smaller than `MINIMUM_SIZE`, and — from a service — without a strong `ETag`.

A service's strong ETag is a version the client sends back in `If-Match` (autosave of a draft), which
compares strongly: a gzipped answer may only carry a weak tag (RFC 9110 §8.8.1), and `W/"…"` never
matches in `If-Match`, so every save would be refused 412. Such answers go out uncompressed, their
validator exact. The portal's own files keep compression: their ETag is the gateway's, only ever used
in `If-None-Match` (weak comparison), and is weakened when gzipped.

Everything else bypasses gzip untouched. Requests without `Accept-Encoding: gzip` still pass
through Starlette's identity responder, which puts `Vary: Accept-Encoding` on the text answers it
would have compressed, so a shared cache keeps the two forms apart.

BREACH: a compressed answer's length leaks whether attacker-chosen input matches a secret in the
same body. The identity service's answers carry exactly such secrets (access, refresh and
two-factor tokens, the TOTP secret and its URI, recovery codes) next to what the request sent, so
none of its answers is compressed; they are small JSON, so little is lost. The other services are
called with a bearer token in a header that another site's page cannot make a browser send, and
their bodies carry no credentials.
"""

from __future__ import annotations

from motcua.gateway import routes
from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

COMPRESSIBLE = frozenset(
    {
        "text/html",
        "text/css",
        "text/javascript",
        "application/javascript",
        "image/svg+xml",
        "application/json",
        "application/problem+json",
    }
)
# Below this a gzip header and trailer (18 bytes) and the lost chance of a one-packet answer eat the gain.
MINIMUM_SIZE = 1024
# zlib's default: within a few per cent of level 9 on text, at a fraction of the CPU (two shared cores).
LEVEL = 6
# Statuses whose body is not the whole representation, or is empty by definition.
PARTIAL_OR_EMPTY = frozenset({204, 206, 304})
# Services whose answers hold secrets next to echoed input: never compressed (BREACH).
SECRET_BEARING_SERVICES = frozenset({"identity"})


def accepts_gzip(accept_encoding: str) -> bool:
    """Whether `Accept-Encoding` names gzip (or `x-gzip`) with a weight above zero (RFC 9110 §12.5.3).
    Starlette only looks for the letters "gzip", so `gzip;q=0` — "anything but gzip" — would get gzip.
    A bare `*` gets the answer as it is, which it also accepts."""
    weights: dict[str, float] = {}
    for item in accept_encoding.split(","):
        coding, _, params = item.strip().partition(";")
        weight = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        if coding:
            weights[coding.strip().lower()] = weight
    for name in ("gzip", "x-gzip"):
        if name in weights:
            return weights[name] > 0
    return False


def may_compress_request(scope: Scope) -> bool:
    """Whether this request's answer may be compressed at all (before looking at the answer)."""
    if scope["method"] == "HEAD":
        return False
    return routes.service_for(scope["path"]) not in SECRET_BEARING_SERVICES


def may_compress_answer(start: Message, *, from_a_service: bool) -> bool:
    """Whether an answer is text worth compressing, judged by its status and headers."""
    if start["status"] in PARTIAL_OR_EMPTY or start["status"] < 200:
        return False
    headers = Headers(raw=start.get("headers", []))
    if "content-encoding" in headers or "content-disposition" in headers:
        return False
    etag = headers.get("etag", "")
    if from_a_service and etag and not etag.startswith("W/"):
        return False  # the client's next If-Match needs this exact strong validator
    media_type = headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type not in COMPRESSIBLE:
        return False
    declared = headers.get("content-length", "")
    return not (declared.isdigit() and int(declared) < MINIMUM_SIZE)


def _weaken_etag(message: Message) -> None:
    """A gzipped body is another representation: its ETag may only be weak (RFC 9110 §8.8.1)."""
    headers = MutableHeaders(raw=message["headers"])
    etag = headers.get("etag")
    if headers.get("content-encoding") and etag and not etag.startswith("W/"):
        headers["etag"] = "W/" + etag


class Compression:
    """Pure ASGI middleware: Starlette's gzip for the answers the rules above allow, bypass for the rest."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not may_compress_request(scope):
            await self.app(scope, receive, send)
            return

        from_a_service = routes.service_for(scope["path"]) is not None
        if not accepts_gzip(Headers(scope=scope).get("accept-encoding", "")):

            async def plain(message: Message) -> None:
                # what gzip would have compressed still says it varies, so a shared cache keeps the forms apart
                start = message["type"] == "http.response.start"
                if start and may_compress_answer(message, from_a_service=from_a_service):
                    MutableHeaders(raw=message["headers"]).add_vary_header("Accept-Encoding")
                await send(message)

            await self.app(scope, receive, plain)
            return

        async def choose(scope: Scope, receive: Receive, send_to_gzip: Send) -> None:
            bypass = False

            async def route_message(message: Message) -> None:
                # Starlette's gzip holds the start message until it has seen the body; an answer that
                # bypasses it goes straight out, so gzip never sees any of its messages.
                nonlocal bypass
                if message["type"] == "http.response.start":
                    bypass = not may_compress_answer(message, from_a_service=from_a_service)
                await (send if bypass else send_to_gzip)(message)

            await self.app(scope, receive, route_message)

        async def send_out(message: Message) -> None:
            if message["type"] == "http.response.start":
                _weaken_etag(message)
            await send(message)

        gzip = GZipMiddleware(choose, minimum_size=MINIMUM_SIZE, compresslevel=LEVEL, exclude_content_types=())
        await gzip(scope, receive, send_out)
