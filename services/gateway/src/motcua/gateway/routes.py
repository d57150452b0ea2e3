"""The route table: which path prefixes go to which service. Nothing outside it is forwarded.

The services' own /healthz, /readyz, /metrics, /docs and /openapi.json are not under any prefix, so
they are never reachable through the gateway; paths with dot segments or empty segments are refused
before matching, so `/v1/accounts/../../metrics` cannot climb out of a prefix.
"""

from __future__ import annotations

ROUTES: tuple[tuple[str, str], ...] = (
    ("/v1/accounts", "identity"),
    ("/v1/auth", "identity"),
    ("/v1/admin", "identity"),
    ("/.well-known", "identity"),
    ("/v1/agencies", "catalogue"),
    ("/v1/procedures", "catalogue"),
    ("/v1/applications", "submission"),
    ("/v1/lookup", "submission"),
    ("/v1/agency", "submission"),
    ("/v1/notifications", "notification"),
    ("/v1/webhooks", "webhooks"),
    ("/v1/public", "submission"),
    ("/v1/verify", "submission"),  # the public verification of result documents (issue 20)
    ("/v1/wallet", "submission"),
    ("/v1/payments", "submission"),
)

SERVICES: tuple[str, ...] = ("identity", "catalogue", "submission", "notification", "webhooks")

# The gateway's own paths; everything else that is not routed belongs to the web portal.
API_PREFIXES = ("/v1", "/.well-known", "/healthz", "/readyz", "/metrics", "/openapi.json", "/docs")


def service_for(path: str) -> str | None:
    """The service a path belongs to, or None when no prefix of the table matches it."""
    for prefix, service in ROUTES:
        if path == prefix or path.startswith(prefix + "/"):
            return service
    return None


def is_api_path(path: str) -> bool:
    """Paths a browser's client-side router never owns: the API and the gateway's own."""
    return any(path == p or path.startswith(p + "/") for p in API_PREFIXES)


def is_portal_request(method: str, path: str) -> bool:
    """A read of the web portal (a file, or index.html for a client-side route): never forwarded."""
    return method in ("GET", "HEAD") and not is_api_path(path)


def is_safe(path: str) -> bool:
    """No `.` or `..` segment, no empty segment, no backslash or control character (after decoding)."""
    if not path.startswith("/") or "\\" in path or any(ord(c) < 0x20 or ord(c) == 0x7F for c in path):
        return False
    segments = path[1:].split("/")
    inner, last = segments[:-1], segments[-1]
    return all(s not in ("", ".", "..") for s in inner) and last not in (".", "..")
