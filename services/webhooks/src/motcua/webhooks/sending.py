"""One delivery attempt over HTTPS: Standard Webhooks headers, a client per subscriber that connects only
to checked addresses and never follows a redirect, a 10 s bound, and at most 1 KiB kept of a failure."""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Sequence
from datetime import UTC, datetime

import httpcore
import httpx
from motcua.webhooks.addresses import PinnedBackend, Policy, RefusedAddress, Unresolvable
from motcua.webhooks.model import MAX_FAILED_BODY_BYTES, Attempt, failed_body
from standardwebhooks.webhooks import Webhook

MAX_DRAINED_BYTES = 64 * 1024
USER_AGENT = "MotCua-Webhooks/1.0 (+https://github.com/standard-webhooks/standard-webhooks)"


def signature_headers(msg_id: str, body: str, secrets: Sequence[str], at: datetime) -> dict[str, str]:
    """`webhook-id`, `webhook-timestamp` and `webhook-signature` (one `v1,…` per secret in use)."""
    signatures = " ".join(Webhook(s).sign(msg_id, at, body) for s in secrets)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signatures,
    }


def ssl_context(ca_file: str) -> ssl.SSLContext:
    """The system's trusted authorities, and the operator's extra ones (WEBHOOKS_CA_FILE) when given."""
    context = ssl.create_default_context()
    if ca_file:
        context.load_verify_locations(cafile=ca_file)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


class _PinnedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport over a pool whose connections go through `PinnedBackend`."""

    def __init__(self, *, policy: Policy, context: ssl.SSLContext, connections: int) -> None:
        super().__init__(verify=context, trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=context,
            max_connections=connections,
            max_keepalive_connections=connections,
            keepalive_expiry=30.0,
            network_backend=PinnedBackend(policy),
        )


def client(*, policy: Policy, context: ssl.SSLContext, connections: int, timeout: float) -> httpx.AsyncClient:
    """A subscriber's own client (its own connection pool: a slow host cannot hold another's connections)."""
    return httpx.AsyncClient(
        transport=_PinnedTransport(policy=policy, context=context, connections=connections),
        follow_redirects=False,
        trust_env=False,
        timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0), pool=timeout),
        headers={"user-agent": USER_AGENT, "content-type": "application/json"},
    )


async def attempt(http: httpx.AsyncClient, url: str, body: str, headers: dict[str, str], timeout: float) -> Attempt:
    """POST the body; a 2xx answer (headers) within `timeout` seconds is a success."""
    at = datetime.now(UTC)
    began = time.perf_counter()

    def took() -> float:
        return round((time.perf_counter() - began) * 1000, 1)

    try:
        async with asyncio.timeout(timeout):
            async with http.stream("POST", url, content=body.encode(), headers=headers) as response:
                ok = 200 <= response.status_code < 300
                if ok:
                    answered = took()  # the answer counts from its status line; the body is only drained
                kept = b""
                async for chunk in response.aiter_raw():
                    kept += chunk
                    # a short body is read to its end, so the connection goes back to the pool
                    if len(kept) > MAX_DRAINED_BYTES or (not ok and len(kept) >= MAX_FAILED_BODY_BYTES):
                        break
                if ok:
                    return Attempt(at, "delivered", answered, response.status_code)
                return Attempt(at, "failed", took(), response.status_code, response_body=failed_body(kept))
    except (TimeoutError, httpx.TimeoutException):
        return Attempt(at, "timeout", took(), error=f"no answer within {timeout:g} s")
    except httpx.HTTPError as exc:
        cause = exc.__cause__
        if isinstance(cause, RefusedAddress | Unresolvable):
            return Attempt(at, "refused" if isinstance(cause, RefusedAddress) else "error", took(), error=str(cause))
        return Attempt(at, "error", took(), error=f"{type(exc).__name__}: {exc}"[:300])
    except ssl.SSLError as exc:
        return Attempt(at, "error", took(), error=f"TLS: {exc}"[:300])
