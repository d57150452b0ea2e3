"""Each request's context: who the client is, its id (in and out), one log line, its metrics, a last-resort
500; and the dependencies routes take it by (`RequestId`, `ClientIp`).

Who the client is: the connection's peer, unless the peer is one of the trusted proxies (the Ingress
controller before the gateway, the gateway before a service); then the right-most hop of
`X-Forwarded-For` that no trusted proxy added. Everything left of it was written by the client, who
could otherwise choose a fresh address for every per-address limit. This is done here, not by uvicorn's
`proxy_headers`, so that an app believes the same callers whichever server runs it.
"""

from __future__ import annotations

import ipaddress
import time
import uuid
from collections.abc import Iterable, Sequence
from typing import Annotated

import structlog
from fastapi import Depends, Request
from motcua.common.problems import PROBLEM_JSON
from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = structlog.get_logger(__name__)

_UNLOGGED = ("/healthz", "/readyz", "/metrics")
# A caller's own request id is kept beside the one the platform mints, this long at most.
CLIENT_REQUEST_ID_MAX = 64
CLIENT_REQUEST_ID_HEADER = b"x-client-request-id"

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def trusted_networks(value: str, *, variable: str) -> tuple[Network, ...]:
    """The proxies named by a comma-separated list of addresses and CIDRs (`10.0.0.0/8, 127.0.0.1`).

    `*` is refused: believing anyone's `X-Forwarded-For` lets every caller choose its own address."""
    networks: list[Network] = []
    for part in (p.strip() for p in value.split(",")):
        if not part:
            continue
        if part == "*":
            raise ValueError(
                f"{variable}: '*' would believe any caller's X-Forwarded-For; name the proxies' addresses or CIDRs"
            )
        try:
            networks.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ValueError(f"{variable}: {part!r} is not an address or CIDR") from None
    return tuple(networks)


def _address(hop: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address of one `X-Forwarded-For` hop (`1.2.3.4`, `1.2.3.4:5678`, `[2001:db8::1]:80`, `2001:db8::1`)."""
    hop = hop.strip()
    if hop.startswith("["):
        hop = hop[1 : hop.find("]")] if "]" in hop else hop
    elif hop.count(":") == 1:
        hop = hop.split(":", 1)[0]
    try:
        return ipaddress.ip_address(hop)
    except ValueError:
        return None


def _trusted(address: ipaddress.IPv4Address | ipaddress.IPv6Address | None, networks: Iterable[Network]) -> bool:
    if address is None:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address.version == n.version and address in n for n in networks)


def is_trusted(peer: str, networks: Sequence[Network]) -> bool:
    """Whether the connection's peer is one of the trusted proxies."""
    return _trusted(_address(peer), networks)


def client_address(peer: str, forwarded_for: Sequence[str], networks: Sequence[Network]) -> str:
    """The client of a request the connection's `peer` sent with these `X-Forwarded-For` values.

    A peer that is no trusted proxy is the client. From a trusted one, the hops are read from the right
    (the latest proxy's) and the first one that is not itself a trusted proxy is the client; when every
    hop is trusted, the left-most."""
    if not is_trusted(peer, networks):
        return peer
    hops = [hop.strip() for value in forwarded_for for hop in value.split(",") if hop.strip()]
    for hop in reversed(hops):
        address = _address(hop)
        if not _trusted(address, networks):
            return str(address) if address is not None else hop[:64]
    if hops:
        leftmost = _address(hops[0])
        return str(leftmost) if leftmost is not None else peer
    return peer


def _client_request_id(value: bytes) -> str | None:
    text = value.decode("latin-1").strip()
    if text and len(text) <= CLIENT_REQUEST_ID_MAX and text.isascii() and text.isprintable():
        return text
    return None


class RequestContext:
    """Pure ASGI middleware: the client's address, request id in and out, one log line per request, metrics,
    last-resort 500.

    `trusted_proxies`: the peers whose `X-Forwarded-For`, `X-Forwarded-Proto`, `X-Request-ID` and
    `X-Client-Request-ID` are believed. `edge` (the gateway): every request gets a new id whoever sent it;
    a caller's own `X-Request-ID` is kept only as `client_request_id` (at most 64 printable characters),
    in the logs and in `X-Client-Request-ID` on the answer."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        registry: CollectorRegistry,
        service: str,
        trusted_proxies: Sequence[Network] = (),
        edge: bool = False,
    ) -> None:
        self.app = app
        self.service = service
        self.trusted_proxies = tuple(trusted_proxies)
        self.edge = edge
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
        request_id, client_request_id = self._identify(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        scope["state"]["client_request_id"] = client_request_id
        status = 500
        started = False
        answered = [(b"x-request-id", request_id.encode())]
        if self.edge and client_request_id is not None:
            answered.append((CLIENT_REQUEST_ID_HEADER, client_request_id.encode()))

        async def send_with_id(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                started = True
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], *answered]
            await send(message)

        began = time.perf_counter()
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(service=self.service, request_id=request_id)
        if client_request_id is not None:
            structlog.contextvars.bind_contextvars(client_request_id=client_request_id)
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

    def _identify(self, scope: Scope) -> tuple[str, str | None]:
        """Settle the client's address (in `scope["client"]`, and its scheme) and the request's ids."""
        headers: list[tuple[bytes, bytes]] = scope.get("headers", [])
        peer = scope["client"][0] if scope.get("client") else "unknown"
        trusted = is_trusted(peer, self.trusted_proxies)
        if trusted:
            forwarded = [v.decode("latin-1") for k, v in headers if k == b"x-forwarded-for"]
            if forwarded:
                scope["client"] = (client_address(peer, forwarded, self.trusted_proxies), 0)
            proto = next((v.decode("latin-1").strip() for k, v in headers if k == b"x-forwarded-proto"), "")
            if proto in ("http", "https"):
                scope["scheme"] = proto
        incoming = {k: v for k, v in headers if k in (b"x-request-id", CLIENT_REQUEST_ID_HEADER)}
        if self.edge:
            return uuid.uuid4().hex, _client_request_id(incoming.get(b"x-request-id", b""))
        if not trusted:
            return uuid.uuid4().hex, None
        kept = incoming.get(b"x-request-id", b"").decode("latin-1")
        request_id = kept if kept and len(kept) <= 128 and kept.isprintable() else uuid.uuid4().hex
        return request_id, _client_request_id(incoming.get(CLIENT_REQUEST_ID_HEADER, b""))


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
    """The caller's address, as `RequestContext` settled it (a trusted proxy's X-Forwarded-For)."""
    return request.client.host if request.client else "unknown"


RequestId = Annotated[str | None, Depends(request_id)]
ClientIp = Annotated[str, Depends(client_ip)]
