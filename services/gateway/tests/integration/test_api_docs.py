"""`/docs`: the combined API documentation as a page (no script, under the gateway's CSP), every operation listed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from motcua.gateway import api_docs_page

StartGateway = Callable[..., Any]


async def test_docs_lists_every_operation_of_the_combined_document_as_html(start_gateway: StartGateway) -> None:
    async with start_gateway() as gateway, httpx.AsyncClient(base_url=gateway) as client:
        document = (await client.get("/openapi.json")).json()
        page = await client.get("/docs", headers={"Accept": "text/html"})
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert page.headers["x-content-type-options"] == "nosniff"
        html = page.text
        assert "<script" not in html
        assert "style=" not in html
        listed = api_docs_page.operations(document)
        assert len(listed) >= 3
        for _, method, path, _ in listed:
            assert f'<span class="method method-{method}">{method.upper()}</span> <code>{path}</code>' in html
        assert 'href="/openapi.json"' in html
        assert "/healthz" not in html
        assert (await client.get("/docs.css")).status_code == 200


def test_text_from_a_service_is_escaped() -> None:
    document = {
        "info": {"title": "<b>x</b>", "version": "1"},
        "paths": {"/v1/x/{id}": {"get": {"summary": "<script>alert(1)</script>", "tags": ["a&b"]}}},
    }
    html = api_docs_page.render(document)
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    assert "<b>x</b>" not in html
    assert "a&amp;b" in html
