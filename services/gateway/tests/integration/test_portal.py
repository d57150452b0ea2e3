"""The web portal at /: its files, index.html for a browser's client-side routes, a placeholder until it exists."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

StartGateway = Callable[..., Any]
HTML = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


async def test_the_portal_files_and_its_client_side_routes_are_served(
    start_gateway: StartGateway, tmp_path: Path
) -> None:
    static = tmp_path / "portal"
    (static / "assets").mkdir(parents=True)
    (static / "index.html").write_text('<!doctype html><script src="/assets/app.js"></script>Một Cửa')
    (static / "assets" / "app.js").write_text("console.log('mot cua');")
    (static / "assets" / "app.css").write_text("body { margin: 0 }")
    (static / ".secret").write_text("not for anyone")
    (tmp_path / "outside.txt").write_text("outside")
    async with start_gateway(gateway_static_dir=static) as gateway, httpx.AsyncClient(base_url=gateway) as client:
        home = await client.get("/")
        assert home.status_code == 200
        assert home.headers["content-type"].startswith("text/html")
        assert "Một Cửa" in home.text
        assert "script-src 'self'" in home.headers["content-security-policy"]

        for route in ("/verify-email?token=abc", "/reset-password?token=x", "/applications/123", "/lookup/HS-ABC"):
            page = await client.get(route, headers=HTML)
            assert page.status_code == 200, route
            assert page.text == home.text

        script = await client.get("/assets/app.js")
        assert script.status_code == 200
        assert "javascript" in script.headers["content-type"]
        assert script.headers["x-content-type-options"] == "nosniff"
        again = await client.get("/assets/app.js", headers={"If-None-Match": script.headers["etag"]})
        assert again.status_code == 304
        assert (await client.head("/assets/app.css")).status_code == 200

        for missing, headers in (
            ("/assets/missing.js", HTML),
            ("/lookup/HS-ABC", {"Accept": "application/json"}),
            ("/.secret", HTML),
            ("/assets/../../outside.txt", {}),
            ("/v1/unknown", HTML),
            ("/healthz/x", HTML),
        ):
            answer = await client.get(missing, headers=headers)
            assert answer.status_code == 404, missing
            assert answer.headers["content-type"] == "application/problem+json"
            assert "not for anyone" not in answer.text
        posted = await client.post("/applications/123", headers=HTML)
        assert posted.status_code == 404


async def test_a_plain_page_names_the_platform_until_the_portal_is_built(
    start_gateway: StartGateway, tmp_path: Path
) -> None:
    async with (
        start_gateway(gateway_static_dir=tmp_path / "nothing") as gateway,
        httpx.AsyncClient(base_url=gateway) as client,
    ):
        page = await client.get("/", headers=HTML)
        assert page.status_code == 200
        assert "Một Cửa" in page.text
        assert 'href="/openapi.json"' in page.text
        assert "<script" not in page.text
        assert "style=" not in page.text


async def test_the_platform_api_document_lists_only_routed_paths(start_gateway: StartGateway, dead_url: str) -> None:
    async with start_gateway() as gateway, httpx.AsyncClient(base_url=gateway) as client:
        document = (await client.get("/openapi.json")).json()
        assert document["openapi"].startswith("3.")
        assert "/v1/agencies/slow" in document["paths"]
        assert "/v1/procedures/download" in document["paths"]
        assert "/v1/accounts/cookies" in document["paths"]
        assert "/healthz" not in document["paths"]
        assert "/metrics" not in document["paths"]
        assert "/{path}" not in document["paths"]
    async with start_gateway(notification_url=dead_url) as gateway, httpx.AsyncClient(base_url=gateway) as client:
        partial = await client.get("/openapi.json")
        assert partial.status_code == 200
        assert "unavailable now: notification" in partial.json()["info"]["description"]
