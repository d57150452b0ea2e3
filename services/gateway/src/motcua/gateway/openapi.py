"""One OpenAPI document for the whole platform: the services' documents merged, on demand, cached.

Only the paths the gateway routes are listed (each service's own /healthz, /metrics… are not). A
schema name two services use for different shapes is renamed `<service>.<name>` in the second.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import structlog
from motcua.gateway import routes

log = structlog.get_logger(__name__)

_REF = "#/components/schemas/"


def _rename_refs(node: Any, renames: dict[str, str]) -> Any:
    if isinstance(node, dict):
        out = {k: _rename_refs(v, renames) for k, v in node.items()}
        ref = out.get("$ref")
        if isinstance(ref, str) and ref.startswith(_REF) and ref[len(_REF) :] in renames:
            out["$ref"] = _REF + renames[ref[len(_REF) :]]
        return out
    if isinstance(node, list):
        return [_rename_refs(v, renames) for v in node]
    return node


def merge(documents: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The union of the routed paths of each service's document, with their schemas."""
    schemas: dict[str, Any] = {}
    security: dict[str, Any] = {}
    paths: dict[str, Any] = {}
    tags: list[dict[str, Any]] = []
    for service, document in documents.items():
        own = document.get("components", {}).get("schemas", {})
        renames = {n: f"{service}.{n}" for n, s in own.items() if n in schemas and schemas[n] != s}
        document = _rename_refs(document, renames)
        for name, schema in document.get("components", {}).get("schemas", {}).items():
            schemas.setdefault(renames.get(name, name), schema)
        security.update(document.get("components", {}).get("securitySchemes", {}))
        paths.update({p: item for p, item in document.get("paths", {}).items() if routes.service_for(p) == service})
        tags += [t for t in document.get("tags", []) if t not in tags]
    merged: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "Mot Cua",
            "version": "1.0.0",
            "description": "The platform's public API, through the gateway: "
            + ", ".join(documents)
            + (
                " (unavailable now: " + ", ".join(s for s in routes.SERVICES if s not in documents) + ")"
                if len(documents) < len(routes.SERVICES)
                else ""
            ),
        },
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": dict(sorted(schemas.items())), "securitySchemes": security},
    }
    if tags:
        merged["tags"] = tags
    return merged


class ApiDocs:
    """Fetches each service's /openapi.json at most once per `cache_seconds`."""

    def __init__(self, client: httpx.AsyncClient, urls: dict[str, str], cache_seconds: float) -> None:
        self.client = client
        self.urls = urls
        self.cache_seconds = cache_seconds
        self._cached: dict[str, Any] | None = None
        self._at = 0.0
        self._lock = asyncio.Lock()

    async def _fetch(self, service: str) -> dict[str, Any] | None:
        try:
            response = await self.client.get(f"{self.urls[service]}/openapi.json", timeout=5.0)
            response.raise_for_status()
            document: dict[str, Any] = response.json()
            return document
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("openapi_unavailable", upstream=service, error=type(exc).__name__)
            return None

    async def document(self) -> dict[str, Any]:
        async with self._lock:
            if self._cached is not None and time.monotonic() - self._at < self.cache_seconds:
                return self._cached
            found = await asyncio.gather(*(self._fetch(s) for s in routes.SERVICES))
            documents = {s: d for s, d in zip(routes.SERVICES, found, strict=True) if d is not None}
            merged = merge(documents)
            if len(documents) == len(routes.SERVICES):
                self._cached, self._at = merged, time.monotonic()
            return merged
