"""Failures the pressure tests found, each kept as a test of its own so it stays fixed.

A test marked `xfail(strict=True)` is a bug reported to the owner of the code and not fixed yet: it
must fail today, and once the fix lands the run fails on the unexpected pass, as a reminder to drop
the marker.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import httpx
import pytest
from motcua.devtools.journeys import new_person

if TYPE_CHECKING:
    from tests.pressure.conftest import Pressure


async def raw_get(base_url: str, path: str, headers: list[tuple[str, str]]) -> tuple[int, dict[str, str], bytes]:
    """A GET sent byte for byte as written (HTTP clients refuse to send some header values, browsers do not)."""
    where = urlsplit(base_url)
    reader, writer = await asyncio.open_connection(where.hostname, where.port)
    lines = [
        f"GET {path} HTTP/1.1",
        f"Host: {where.netloc}",
        "Connection: close",
        *(f"{name}: {value}" for name, value in headers),
    ]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), 20)
    writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    found = {k.strip().lower(): v.strip() for k, v in (h.split(":", 1) for h in header_lines)}
    if found.get("transfer-encoding") == "chunked":
        body = dechunk(body)
    return int(status_line.split()[1]), found, body


def dechunk(data: bytes) -> bytes:
    out = b""
    while data:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out, data = out + data[:size], data[size + 2 :]
    return out


async def test_a_header_value_ending_in_a_space_is_not_a_bad_gateway(pressure: Pressure) -> None:
    status, _, _ = await raw_get(pressure.gateway, "/v1/agencies", [("Accept", "application/json ")])
    assert status == 200


async def test_an_empty_bearer_token_is_unauthenticated_not_a_bad_gateway(pressure: Pressure) -> None:
    status, headers, body = await raw_get(pressure.gateway, "/v1/accounts/me", [("Authorization", "Bearer ")])
    assert status == 401
    assert headers["content-type"] == "application/problem+json"
    assert json.loads(body)["status"] == 401


async def test_registrations_racing_from_one_new_address_are_never_a_500(pressure: Pressure) -> None:
    identity = pressure.platform.url("identity")
    statuses: list[int] = []
    async with httpx.AsyncClient(base_url=identity, timeout=30) as client:
        for _ in range(5):
            # straight to identity, which believes X-Forwarded-For from the gateway's address: a new client each round
            address = {"X-Forwarded-For": f"203.0.113.{secrets.randbelow(250) + 1}"}
            answers = await asyncio.gather(
                *(client.post("/v1/accounts", json=new_person(), headers=address) for _ in range(4))
            )
            statuses += [a.status_code for a in answers]
    assert 500 not in statuses, statuses


# Every service's JSON routes, through the gateway (which itself allows 60 MB for document uploads), and
# whether the route reads a body: one that does not (marking a notification read) never parses what it is
# sent, and the server drops a body sent without a length there unread.
JSON_ROUTES = [
    ("POST", "/v1/auth/login", True),  # identity
    ("POST", "/v1/accounts", True),  # identity
    ("POST", "/v1/procedures", True),  # catalogue
    ("POST", "/v1/applications", True),  # submission
    ("POST", "/v1/notifications/00000000000000000000000000000000/read", False),  # notification
    ("POST", "/v1/webhooks", True),  # webhooks
]
JSON_LIMIT = 64 * 1024


@pytest.mark.parametrize(("method", "path", "reads_body"), JSON_ROUTES)
async def test_a_json_body_over_64_kib_is_refused_with_413_before_it_is_parsed(
    pressure: Pressure, method: str, path: str, reads_body: bool
) -> None:
    # Ten such bodies of a few MB each used to be read and parsed whole by identity and submission.
    padding = "x" * (2 * 1024 * 1024)
    big = json.dumps({"username": "lan@example.vn", "password": padding, "procedure_code": padding}).encode()

    async def chunked() -> AsyncIterator[bytes]:
        for start in range(0, len(big), 16 * 1024):
            yield big[start : start + 16 * 1024]

    async with pressure.client(timeout=30) as client:
        # with a Content-Length, and without one
        for content in (big, chunked()) if reads_body else (big,):
            answer = await client.request(
                method, path, content=content, headers={"Content-Type": "application/json", **AUTH_NOT_NEEDED}
            )
            assert answer.status_code == 413, (path, answer.status_code, answer.text[:200])
            assert answer.headers["content-type"] == "application/problem+json"
            assert answer.json()["status"] == 413
            assert "64 KiB" in answer.json()["detail"]
        # just under the limit is read and judged on its fields as before (never a 413)
        small = json.dumps({"username": "lan@example.vn", "password": "x" * (JSON_LIMIT - 200)}).encode()
        assert len(small) < JSON_LIMIT
        answer = await client.request(method, path, content=small, headers={"Content-Type": "application/json"})
        assert answer.status_code != 413, (path, answer.text[:200])
        assert answer.status_code < 500, (path, answer.text[:200])


AUTH_NOT_NEEDED: dict[str, str] = {}  # the limit applies before authentication: an anonymous flood is the threat


async def test_a_document_larger_than_64_kib_is_still_uploaded(pressure: Pressure) -> None:
    async with pressure.client(timeout=60) as client:
        citizen = await pressure.citizen(client)
        draft = await client.post("/v1/applications", json={"procedure_code": "HT-KS-01"}, headers=citizen.headers)
        assert draft.status_code == 201, draft.text
        pdf = b"%PDF-1.4\n" + secrets.token_bytes(900 * 1024) + b"\n%%EOF\n"
        uploaded = await client.post(
            f"/v1/applications/{draft.json()['id']}/documents",
            data={"document_key": "birth_certificate_medical"},
            files={"file": ("giay-chung-sinh.pdf", pdf, "application/pdf")},
            headers=citizen.headers,
        )
        assert uploaded.status_code == 201, uploaded.text
        assert uploaded.json()["size"] == len(pdf)


# A page far down a list makes the database skip everything before it: page × page_size is capped.
DEEP = {"page": "10000", "page_size": "100"}


def assert_too_deep(answer: httpx.Response) -> None:
    assert answer.status_code == 422, answer.text[:300]
    assert answer.headers["content-type"] == "application/problem+json"
    assert [e["pointer"] for e in answer.json()["errors"]] == ["/page"]
    assert "10000" in answer.json()["errors"][0]["message"].replace(",", "")


async def test_a_page_deeper_than_ten_thousand_items_is_refused_in_every_list(pressure: Pressure) -> None:
    async with pressure.client(timeout=30) as client:
        citizen = await pressure.citizen(client)
        assert_too_deep(await client.get("/v1/procedures", params=DEEP))
        assert_too_deep(await client.get("/v1/applications", params=DEEP, headers=citizen.headers))
        assert_too_deep(await client.get("/v1/notifications", params=DEEP, headers=citizen.headers))
        # the last page within the cap is still served
        last = await client.get("/v1/procedures", params={"page": "100", "page_size": "100"})
        assert last.status_code == 200
        assert last.json()["items"] == []


async def test_a_page_deeper_than_ten_thousand_items_is_refused_to_officers_and_admins_too(
    pressure: Pressure,
) -> None:
    async with pressure.client(timeout=30) as client:
        admin = await pressure.admin(client)
        officer = await pressure.officer(client, admin, "UBND-HK")
        assert_too_deep(await client.get("/v1/agency/applications", params=DEEP, headers=officer.headers))
        hook = "0" * 32
        for path in (f"/v1/webhooks/{hook}/dead-letters", f"/v1/webhooks/{hook}/deliveries"):
            assert_too_deep(await client.get(path, params=DEEP, headers=admin.headers))
