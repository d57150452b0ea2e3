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


async def test_the_portal_files_are_versioned_by_release_and_cached_immutable(
    start_gateway: StartGateway, tmp_path: Path
) -> None:
    """index.html stays `no-cache` and names the release; its files, at `/_/<release>/…`, are cached for a year."""
    import re

    from motcua.gateway import release

    static = tmp_path / "portal"
    (static / "js").mkdir(parents=True)
    (static / "index.html").write_text(
        '<!doctype html><head>\n  <link rel="stylesheet" href="/portal.css">\n'
        '  <script type="module" src="/js/main.js"></script>\n</head>'
    )
    (static / "portal.css").write_text("body { margin: 0 }")
    (static / "js" / "main.js").write_text("import { a } from './a.js';\nconsole.log(a);\n")
    (static / "js" / "a.js").write_text("export const a = 1;\n")
    async with start_gateway(gateway_static_dir=static) as gateway, httpx.AsyncClient(base_url=gateway) as client:
        home = await client.get("/", headers=HTML)
        assert home.headers["cache-control"] == "no-cache"
        version = re.search(r'href="/_/([0-9a-f]{16})/portal.css"', home.text)
        assert version is not None, home.text
        prefix = f"/_/{version.group(1)}"
        # not bundled: every module is announced at once, so the browser does not walk the imports
        assert f'<link rel="modulepreload" href="{prefix}/js/main.js">' in home.text
        assert f'<link rel="modulepreload" href="{prefix}/js/a.js">' in home.text
        assert f'src="{prefix}/js/main.js"' in home.text
        again = await client.get("/applications/1", headers={**HTML, "If-None-Match": home.headers["etag"]})
        assert again.status_code == 304
        assert (await client.get("/index.html")).text == home.text

        for path in ("/portal.css", "/js/a.js"):
            versioned = await client.get(prefix + path)
            assert versioned.status_code == 200, path
            assert versioned.headers["cache-control"] == "public, max-age=31536000, immutable"
            plain = await client.get(path)
            assert plain.headers["cache-control"] == "no-cache"
            assert plain.content == versioned.content
        for missing in (f"{prefix}/index.html", f"{prefix}/js/none.js", "/_/", f"{prefix}/"):
            assert (await client.get(missing)).status_code == 404, missing

        # a new release is a new address; the old one still answers, but is never cached under the old name
        (static / "js" / "a.js").write_text("export const a = 2;\n")
        changed = await client.get("/", headers=HTML)
        assert prefix not in changed.text
        old = await client.get(prefix + "/js/a.js")
        assert old.headers["cache-control"] == "no-cache"
        assert "a = 2" in old.text

        # a bundle built from these very sources is used instead of the modules; a stale one is not
        (static / "dist").mkdir()
        (static / "dist" / "main.js").write_text("console.log(2);\n")
        (static / "dist" / "sources.sha256").write_text(release.sources_digest(static) + "\n")
        bundled = await client.get("/", headers=HTML)
        assert re.search(r'src="/_/[0-9a-f]{16}/dist/main.js"', bundled.text), bundled.text
        assert "modulepreload" not in bundled.text
        (static / "js" / "a.js").write_text("export const a = 3;\n")
        stale = await client.get("/", headers=HTML)
        assert re.search(r'src="/_/[0-9a-f]{16}/js/main.js"', stale.text), stale.text
