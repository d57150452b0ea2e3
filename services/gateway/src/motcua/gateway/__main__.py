"""`python -m motcua.gateway`: serve the gateway with settings from the environment."""

import uvicorn
from motcua.common.settings import load
from motcua.gateway.app import build_app
from motcua.gateway.settings import Settings


def main() -> None:
    settings = load(Settings)
    uvicorn.run(
        build_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=10,
        # Overload is answered by admission control with problem details: uvicorn's own limit
        # (limit_concurrency, a plain-text 503) stays off, and its backlog holds a crowd's connections
        # until they are accepted instead of the kernel refusing them.
        backlog=settings.gateway_backlog,
        timeout_keep_alive=int(settings.gateway_client_keepalive_seconds),
        # asyncio's own loop, not uvloop: while its loop is busy, uvloop accepts about one connection per
        # iteration, so under a crowd new connections waited seconds in the kernel's queue before the gateway
        # could even refuse them (measured: ~60 accepts/s against all 1,500 at once, docs/gateway.md).
        loop="asyncio",
        # X-Forwarded-For / -Proto are read by RequestContext, from GATEWAY_TRUSTED_PROXIES only.
        proxy_headers=False,
    )


if __name__ == "__main__":
    main()
