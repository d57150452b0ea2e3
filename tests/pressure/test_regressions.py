"""Failures the pressure tests found, each kept as a test of its own so it stays fixed.

A test marked `xfail(strict=True)` is a bug reported to the owner of the code and not fixed yet: it
must fail today, and once the fix lands the run fails on the unexpected pass, as a reminder to drop
the marker.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import httpx
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
