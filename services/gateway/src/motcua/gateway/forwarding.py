"""Forward a request to its service and stream the answer back; neither body is held whole in memory.

One `httpx.AsyncClient` (pooled connections, timeouts from settings) serves every request. The
request body is counted while it streams, so a body over the limit is refused with 413 whatever
`Content-Length` claimed; the service then sees the connection drop and writes nothing.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import httpx
import structlog
from fastapi import Request, Response
from motcua.common.problems import problem
from motcua.gateway.settings import Settings
from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.background import BackgroundTask
from starlette.requests import ClientDisconnect
from starlette.responses import StreamingResponse

log = structlog.get_logger(__name__)

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
    }
)
# The gateway says who the client is and which request this is; a client cannot.
NOT_FORWARDED = HOP_BY_HOP | {
    "host",
    "expect",
    "forwarded",
    "x-forwarded-for",
    "x-forwarded-proto",
    "x-forwarded-host",
    "x-forwarded-port",
    "x-forwarded-prefix",
    "x-real-ip",
    "x-request-id",
    "x-client-request-id",
}
# The gateway's own server adds these (and the request id) to every answer.
NOT_RETURNED = HOP_BY_HOP | {"server", "date", "x-request-id", "x-client-request-id"}
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class BodyTooLarge(Exception):
    """The request body passed the gateway's limit while streaming."""


def _connection_listed(headers: list[tuple[bytes, bytes]]) -> set[str]:
    listed: set[str] = set()
    for name, value in headers:
        if name.lower() == b"connection":
            listed |= {token.strip().lower() for token in value.decode("latin-1").split(",")}
    return listed


def _kept(headers: list[tuple[bytes, bytes]], dropped: frozenset[str]) -> list[tuple[bytes, bytes]]:
    listed = _connection_listed(headers)
    return [
        (name, value)
        for name, value in headers
        if (lowered := name.decode("latin-1").lower()) not in dropped and lowered not in listed
    ]


class Forwarder:
    """The shared upstream client and the forwarding of one request."""

    def __init__(self, settings: Settings, registry: CollectorRegistry) -> None:
        self.urls = settings.upstream_urls()
        self.max_body = settings.gateway_max_body_bytes
        self.client = httpx.AsyncClient(
            timeout=httpx.Timeout(
                connect=settings.gateway_connect_timeout_seconds,
                read=settings.gateway_read_timeout_seconds,
                write=settings.gateway_write_timeout_seconds,
                pool=settings.gateway_pool_timeout_seconds,
            ),
            limits=httpx.Limits(
                max_connections=settings.gateway_max_connections,
                max_keepalive_connections=settings.gateway_max_keepalive_connections,
                keepalive_expiry=settings.gateway_keepalive_expiry_seconds,
            ),
            follow_redirects=False,
            trust_env=False,
        )
        self.answers = Counter(
            "gateway_upstream_responses_total",
            "Answers from the services, or the gateway's own when a service failed",
            ["service", "outcome"],
            registry=registry,
        )
        self.latency = Histogram(
            "gateway_upstream_seconds", "Time until a service's response headers", ["service"], registry=registry
        )

    async def close(self) -> None:
        await self.client.aclose()

    def _headers(self, request: Request) -> list[tuple[bytes, bytes]]:
        # HTTP ignores whitespace around a field value (RFC 9110 §5.5) and httpx refuses to send it
        headers = [(name, value.strip()) for name, value in _kept(list(request.scope["headers"]), NOT_FORWARDED)]
        client = request.client.host if request.client else "unknown"
        headers += [
            (b"x-forwarded-for", client.encode("latin-1")),
            (b"x-forwarded-proto", request.url.scheme.encode("latin-1")),
            (b"x-request-id", str(request.state.request_id).encode("latin-1")),
        ]
        if client_request_id := request.state.client_request_id:
            headers.append((b"x-client-request-id", client_request_id.encode("latin-1")))
        if host := request.headers.get("host"):
            headers.append((b"x-forwarded-host", host.encode("latin-1")))
        return headers

    async def _limited(self, request: Request) -> AsyncIterator[bytes]:
        seen = 0
        async for chunk in request.stream():
            seen += len(chunk)
            if seen > self.max_body:
                raise BodyTooLarge
            if chunk:
                yield chunk

    def _content(self, request: Request) -> AsyncIterator[bytes] | bytes | None:
        declared = request.headers.get("content-length")
        if declared is None and "transfer-encoding" not in request.headers:
            return None
        if declared is not None and declared.strip() == "0":
            return b""
        return self._limited(request)

    async def forward(self, request: Request, service: str) -> Response:
        """Send `request` to `service` as it streams in; stream the service's answer out."""
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body:
            return self._too_large(request, service)
        raw_path = request.scope.get("raw_path") or request.scope["path"].encode()
        url = self.urls[service] + raw_path.decode("latin-1")
        if query := request.scope.get("query_string", b""):
            url += "?" + query.decode("latin-1")
        content = self._content(request)
        outgoing = self.client.build_request(request.method, url, headers=self._headers(request), content=content)
        began = time.perf_counter()
        try:
            upstream = await self._send(outgoing, replayable=content is None and request.method in SAFE_METHODS)
        except BodyTooLarge:
            return self._too_large(request, service)
        except ClientDisconnect:
            log.info("client_went_away", service=service)
            return Response(status_code=400)
        except httpx.HTTPError as exc:
            return self._failed(request, service, exc)
        finally:
            self.latency.labels(service).observe(time.perf_counter() - began)
        self.answers.labels(service, str(upstream.status_code)).inc()
        response = StreamingResponse(
            _relay(upstream, service), status_code=upstream.status_code, background=BackgroundTask(upstream.aclose)
        )
        response.raw_headers = _kept(list(upstream.headers.raw), NOT_RETURNED)
        return response

    async def _send(self, outgoing: httpx.Request, *, replayable: bool) -> httpx.Response:
        try:
            return await self.client.send(outgoing, stream=True)
        except httpx.RemoteProtocolError:
            # A pooled connection the service closed as we reused it: once more on a fresh one, but
            # only for a request that has no body and changes nothing.
            if not replayable:
                raise
            log.info("upstream_connection_reset_retried")
            return await self.client.send(outgoing, stream=True)

    def _too_large(self, request: Request, service: str) -> Response:
        self.answers.labels(service, "body_too_large").inc()
        return problem(
            413,
            "Payload too large",
            f"The request body is larger than the {self.max_body // (1024 * 1024)} MB the platform accepts.",
            request=request,
        )

    def _failed(self, request: Request, service: str, exc: httpx.HTTPError) -> Response:
        if isinstance(exc, httpx.PoolTimeout):
            status, outcome = 503, "busy"
            detail = "The platform is busy just now; nothing was forwarded. Try again shortly."
        elif isinstance(exc, httpx.TimeoutException):
            status, outcome = 504, "timeout"
            detail = f"The {service} service did not answer in time. Check the result before trying again."
        else:
            status, outcome = 502, "unreachable"
            detail = f"The {service} service cannot be reached just now. Try again shortly."
        self.answers.labels(service, outcome).inc()
        log.warning("upstream_failed", service=service, outcome=outcome, error=type(exc).__name__)
        title = {502: "Bad gateway", 503: "Service unavailable", 504: "Gateway timeout"}[status]
        return problem(status, title, detail, request=request, headers={"Retry-After": "5"})


async def _relay(upstream: httpx.Response, service: str) -> AsyncIterator[bytes]:
    """The service's body as it arrives, unchanged (still compressed if it was)."""
    try:
        async for chunk in upstream.aiter_raw():
            yield chunk
    except httpx.HTTPError as exc:
        # Headers are gone already: the only honest signal left is to break the connection.
        log.warning("upstream_broke_mid_answer", service=service, error=type(exc).__name__)
        raise
    finally:
        await upstream.aclose()
