"""Gzip at the gateway: text answers compressed (streaming too), everything that must not be left alone;
and the portal's own rate-limit bucket."""

from __future__ import annotations

import asyncio
import gzip
import json
import zlib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import httpx

StartGateway = Callable[..., Any]
GZIP: dict[str, str] = {"Accept-Encoding": "gzip, deflate, br"}
NONE: dict[str, str | None] = {"Accept-Encoding": "identity"}


def portal_folder(tmp_path: Path) -> Path:
    """A portal with files big enough to be worth compressing, and a few that never are."""
    static = tmp_path / "portal"
    (static / "js").mkdir(parents=True)
    (static / "index.html").write_text(
        "<!doctype html>\n<html lang='vi'><head><link rel='stylesheet' href='/portal.css'>"
        "<script type='module' src='/js/main.js'></script></head><body>\n"
        + "<p>Một Cửa — cổng dịch vụ công trực tuyến.</p>\n" * 40
        + "</body></html>\n"
    )
    (static / "js" / "main.js").write_text(
        "".join(f"export function step{n}(form) {{ return form.querySelector('#field-{n}'); }}\n" for n in range(200))
    )
    (static / "portal.css").write_text("".join(f".block-{n} {{ margin: {n}px; color: #123; }}\n" for n in range(300)))
    (static / "favicon.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"><circle r="4"/></svg>')
    (static / "guide.pdf").write_bytes(b"%PDF-1.4\n" + b"BT (huong dan) Tj ET\n" * 500)
    return static


async def fetch_raw(client: httpx.AsyncClient, path: str, headers: Mapping[str, str | None]) -> httpx.Response:
    """GET keeping the body as sent (httpx would decode gzip); a header given as None is not sent at all."""
    request = client.build_request("GET", path, headers={k: v for k, v in headers.items() if v is not None})
    for name in [k for k, v in headers.items() if v is None]:
        del request.headers[name]  # httpx sends Accept-Encoding of its own otherwise
    answer = await client.send(request, stream=True)
    try:
        answer.wire = b"".join([chunk async for chunk in answer.aiter_raw()])  # type: ignore[attr-defined]
    finally:
        await answer.aclose()
    return answer


def wire(answer: httpx.Response) -> bytes:
    sent: bytes = answer.wire  # type: ignore[attr-defined]
    return sent


async def test_the_portals_text_files_and_a_json_answer_are_gzipped_and_decode_to_the_same_bytes(
    start_gateway: StartGateway, tmp_path: Path
) -> None:
    static = portal_folder(tmp_path)
    async with start_gateway(gateway_static_dir=static) as gateway, httpx.AsyncClient(base_url=gateway) as client:
        for path, file, kind in (
            ("/js/main.js", "js/main.js", "javascript"),
            ("/portal.css", "portal.css", "text/css"),
            ("/", "index.html", "text/html"),
            ("/applications/123", "index.html", "text/html"),
        ):
            packed = await fetch_raw(client, path, {**GZIP, "Accept": "text/html"})
            assert packed.status_code == 200, path
            assert kind in packed.headers["content-type"]
            assert packed.headers["content-encoding"] == "gzip", path
            assert "accept-encoding" in packed.headers["vary"].lower()
            assert packed.headers["etag"].startswith('W/"'), "another representation, so a weak validator"
            assert packed.headers["x-content-type-options"] == "nosniff"
            original = (static / file).read_bytes()
            assert gzip.decompress(wire(packed)) == original, path
            assert len(wire(packed)) < len(original) / 3
            assert int(packed.headers["content-length"]) == len(wire(packed))

            plain = await fetch_raw(client, path, {**NONE, "Accept": "text/html"})
            assert "content-encoding" not in plain.headers
            assert "accept-encoding" in plain.headers["vary"].lower()
            assert wire(plain) == original
            plain_again = await fetch_raw(client, path, {"Accept": "text/html", "Accept-Encoding": None})
            assert "content-encoding" not in plain_again.headers
            assert wire(plain_again) == original

        # the weak validator a gzip answer gave still revalidates, and the 304 is not "compressed"
        packed = await fetch_raw(client, "/js/main.js", GZIP)
        not_modified = await fetch_raw(client, "/js/main.js", {**GZIP, "If-None-Match": packed.headers["etag"]})
        assert not_modified.status_code == 304
        assert "content-encoding" not in not_modified.headers
        assert wire(not_modified) == b""

        # a range is part of the file as stored, never of a gzip stream
        ranged = await fetch_raw(client, "/js/main.js", {**GZIP, "Range": "bytes=0-99"})
        assert ranged.status_code == 206
        assert "content-encoding" not in ranged.headers
        assert wire(ranged) == (static / "js" / "main.js").read_bytes()[:100]

        # "anything but gzip" is honoured, whatever letters it contains
        for refusal in ("gzip;q=0", "gzip; q=0.0, identity", "br, *;q=0"):
            plain = await fetch_raw(client, "/portal.css", {"Accept-Encoding": refusal})
            assert "content-encoding" not in plain.headers, refusal
            assert wire(plain) == (static / "portal.css").read_bytes()
        weighed = await fetch_raw(client, "/portal.css", {"Accept-Encoding": "br;q=1, gzip;q=0.5"})
        assert weighed.headers["content-encoding"] == "gzip"
        assert "accept-encoding" in weighed.headers["vary"].lower()

        # HEAD says what GET would send uncompressed, and sends no body
        head = await client.head("/portal.css", headers=GZIP)
        assert head.status_code == 200
        assert "content-encoding" not in head.headers

        # binary and tiny files are left alone
        pdf = await fetch_raw(client, "/guide.pdf", GZIP)
        assert "content-encoding" not in pdf.headers
        assert wire(pdf) == (static / "guide.pdf").read_bytes()
        icon = await fetch_raw(client, "/favicon.svg", GZIP)
        assert "content-encoding" not in icon.headers  # SVG is text, but 60 bytes gain nothing

        # a JSON answer of a service, through the proxy
        answer = await fetch_raw(client, "/v1/procedures?q=" + "khai+sinh+" * 150, GZIP)
        assert answer.status_code == 200
        assert answer.headers["content-type"] == "application/json"
        assert answer.headers["content-encoding"] == "gzip"
        assert "content-length" not in answer.headers  # streamed: its compressed length is not known up front
        echoed = json.loads(gzip.decompress(wire(answer)))
        assert echoed["service"] == "catalogue"
        assert echoed["query"] == "q=" + "khai+sinh+" * 150
        assert dict(echoed["headers"])["accept-encoding"] == GZIP["Accept-Encoding"]

        # a problem answer of the gateway's own (404) is JSON too; small ones stay plain
        missing = await fetch_raw(client, "/js/missing.js", GZIP)
        assert missing.status_code == 404
        assert "content-encoding" not in missing.headers
        assert json.loads(wire(missing))["status"] == 404


async def test_downloads_and_the_identity_services_secrets_are_never_compressed(
    start_gateway: StartGateway,
) -> None:
    async with start_gateway() as gateway, httpx.AsyncClient(base_url=gateway) as client:
        document = await fetch_raw(client, "/v1/applications/a/documents/d", GZIP)
        assert document.status_code == 200
        assert document.headers["content-type"] == "application/pdf"
        assert "content-encoding" not in document.headers
        assert wire(document).startswith(b"%PDF-1.4")
        assert len(wire(document)) == int(document.headers["content-length"])

        # a service's strong ETag comes back in If-Match (autosave): a gzipped answer could only carry a
        # weak one, which If-Match never matches, so such answers stay plain with their validator exact
        draft = await fetch_raw(client, "/v1/applications/a1", GZIP)
        assert draft.status_code == 200
        assert "content-encoding" not in draft.headers
        assert draft.headers["etag"] == '"draft-v7"'
        assert json.loads(wire(draft))["status"] == "draft"

        pad = "?state=" + "x" * 2000  # echoed back: what an attacker would reflect beside the secret
        compressed_elsewhere = await client.post("/v1/notifications/abc/read" + pad, headers=GZIP)
        assert compressed_elsewhere.headers["content-encoding"] == "gzip"  # the same answer off identity is
        for path in (
            "/v1/auth/login",
            "/v1/auth/mfa",
            "/v1/auth/refresh",
            "/v1/auth/password-reset/confirm",
            "/v1/accounts/me/mfa/totp",
            "/v1/accounts/me/mfa/totp/confirm",
            "/v1/accounts",
            "/v1/admin/officers",
        ):
            async with client.stream("POST", path + pad, headers=GZIP, json={"username": "an"}) as answer:
                sent = b"".join([chunk async for chunk in answer.aiter_raw()])
            assert answer.status_code == 200, path
            assert "content-encoding" not in answer.headers, path
            assert json.loads(sent)["service"] == "identity"
            assert len(sent) > 2000


async def test_a_large_streamed_answer_is_compressed_as_it_arrives(
    start_gateway: StartGateway, upstreams: dict[str, Any], export_body: tuple[bytes, bytes]
) -> None:
    catalogue = upstreams["catalogue"]
    first, rest = export_body
    catalogue.gate = asyncio.Event()
    try:
        async with start_gateway() as gateway, httpx.AsyncClient(base_url=gateway) as client:
            async with client.stream("GET", "/v1/procedures/export", headers=GZIP) as answer:
                assert answer.status_code == 200
                assert answer.headers["content-encoding"] == "gzip"
                assert "content-length" not in answer.headers
                inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
                decoded = b""
                chunks = answer.aiter_raw()
                wire_bytes = 0
                # The upstream is held at its gate: what arrives now cannot be a whole buffered body.
                while len(decoded) < len(first):
                    chunk = await asyncio.wait_for(anext(chunks), 10)
                    wire_bytes += len(chunk)
                    decoded += inflate.decompress(chunk)
                assert decoded == first
                assert not catalogue.export_finished
                catalogue.gate.set()
                async for chunk in chunks:
                    wire_bytes += len(chunk)
                    decoded += inflate.decompress(chunk)
                decoded += inflate.flush()
            assert catalogue.export_finished
            assert decoded == first + rest
            assert wire_bytes < len(decoded) / 5
    finally:
        catalogue.gate.set()  # never leave the upstream waiting, whatever failed
        catalogue.gate = None


async def test_the_portals_files_do_not_spend_the_api_rate_limit(start_gateway: StartGateway, tmp_path: Path) -> None:
    static = portal_folder(tmp_path)
    async with (
        start_gateway(
            gateway_static_dir=static,
            gateway_rate_limit_per_second=0.01,
            gateway_rate_limit_burst=3,
            gateway_portal_rate_limit_per_second=0.01,
            gateway_portal_rate_limit_burst=60,
            gateway_trusted_proxies="127.0.0.1",  # the test's client stands for the Ingress controller
        ) as gateway,
        httpx.AsyncClient(base_url=gateway) as client,
    ):
        citizen = {"X-Forwarded-For": "203.0.113.20", "Accept": "text/html", **GZIP}
        for _ in range(2):  # two page loads of 25 files: 50 requests, far past the API's burst of 3
            for path in ["/", "/applications/1", "/portal.css", "/favicon.svg"] + ["/js/main.js"] * 21:
                assert (await client.get(path, headers=citizen)).status_code == 200, path
        for _ in range(3):
            assert (await client.get("/v1/agencies", headers=citizen)).status_code == 200
        refused = await client.get("/v1/agencies", headers=citizen)
        assert refused.status_code == 429
        assert refused.headers["retry-after"]

        # the portal's own bucket is generous, not endless: 10 more reads, then 429 as well
        for _ in range(10):
            assert (await client.get("/portal.css", headers=citizen)).status_code == 200
        assert (await client.get("/portal.css", headers=citizen)).status_code == 429
        # a write to a portal address is no portal read: it spends the API's bucket
        other = {"X-Forwarded-For": "203.0.113.21"}
        for _ in range(3):
            assert (await client.post("/portal.css", headers=other)).status_code == 404
        assert (await client.post("/portal.css", headers=other)).status_code == 429
