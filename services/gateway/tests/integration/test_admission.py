"""Admission control through real HTTP: searches shed while a submit goes through, at once and with Retry-After.

A catalogue and a submission stand in front of which requests can be held (an asyncio gate), so the
limits fill up for as long as a test needs; the gateway's limits are fixed in size (minimum =
maximum), so what is admitted and what is shed does not depend on how fast this machine is.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from motcua.devtools.testing import eventually, running_app

from .test_edge import assert_problem

StartGateway = Callable[..., Any]


@dataclass
class Held:
    """A stand-in service that holds the requests of chosen paths until `gate` opens."""

    gate: asyncio.Event = field(default_factory=asyncio.Event)
    arrived: list[str] = field(default_factory=list)  # method and path of every request that reached it
    busy_paths: set[str] = field(default_factory=set)  # answered 503 by the service itself

    def app(self, held: Callable[[str, str], bool]) -> FastAPI:
        app = FastAPI()

        @app.api_route("/{path:path}", methods=["GET", "POST", "PATCH"], include_in_schema=False)
        async def anything(request: Request, path: str) -> JSONResponse:
            async for _ in request.stream():
                pass
            self.arrived.append(f"{request.method} /{path}")
            if f"/{path}" in self.busy_paths:
                return JSONResponse(
                    {"type": "urn:motcua:problem:service-unavailable", "status": 503}, 503, headers={"Retry-After": "7"}
                )
            if held(request.method, f"/{path}"):
                await self.gate.wait()
            if path.endswith("/submit"):
                return JSONResponse({"status": "submitted", "tracking_code": "HS-2026-TEST"})
            return JSONResponse({"items": [], "total": 0})

        return app


def searches(method: str, path: str) -> bool:
    return path.startswith("/v1/procedures")


def lookups_and_autosaves(method: str, path: str) -> bool:
    return path.startswith("/v1/lookup") or method == "PATCH"


@asynccontextmanager
async def platform(start_gateway: StartGateway, **limits: Any) -> AsyncIterator[tuple[httpx.AsyncClient, Held, Held]]:
    catalogue, submission = Held(), Held()
    async with (
        running_app(catalogue.app(searches)) as catalogue_url,
        running_app(submission.app(lookups_and_autosaves)) as submission_url,
        start_gateway(
            catalogue_url=catalogue_url,
            submission_url=submission_url,
            gateway_rate_limit_per_second=1e6,
            gateway_rate_limit_burst=10**6,
            **limits,
        ) as gateway,
    ):
        pool = httpx.Limits(max_connections=100, max_keepalive_connections=100)
        async with httpx.AsyncClient(base_url=gateway, limits=pool, timeout=30) as client:
            try:
                yield client, catalogue, submission
            finally:
                catalogue.gate.set()
                submission.gate.set()


FIXED_TEN = {
    "gateway_admission_initial_limit": 10,
    "gateway_admission_min_limit": 10,
    "gateway_admission_max_limit": 10,
    "gateway_admission_queue_size": 2,
    "gateway_admission_queue_timeout_seconds": 60,
}


async def test_a_submit_succeeds_while_searches_and_lookups_are_being_shed(start_gateway: StartGateway) -> None:
    async with platform(start_gateway, **FIXED_TEN) as (client, catalogue, submission):
        # searches fill their share of the catalogue's limit (7 of 10) and its queue (2) ...
        crowd = [asyncio.create_task(client.get("/v1/procedures", params={"q": f"khai sinh {n}"})) for n in range(9)]
        await eventually(lambda: _true(len(catalogue.arrived) == 7))
        # ... and lookups half of the submission service's (5 of 10) and its queue
        lookers = [asyncio.create_task(client.get(f"/v1/lookup/HS-2026-{n:04d}")) for n in range(7)]
        await eventually(lambda: _true(len(submission.arrived) == 5))

        shed_search = await client.get("/v1/procedures", params={"q": "dang ky kinh doanh"})
        shed_lookup = await client.get("/v1/lookup/HS-2026-9999")
        for shed in (shed_search, shed_lookup):
            body = assert_problem(shed, 503)
            assert body["type"] == "urn:motcua:problem:service-busy"
            assert "nothing was done" in body["detail"]
            assert int(shed.headers["retry-after"]) >= 1

        submitted = await client.post("/v1/applications/a1/submit", headers={"Idempotency-Key": "k1"})
        assert submitted.status_code == 200, submitted.text
        assert submitted.json()["tracking_code"] == "HS-2026-TEST"
        assert "POST /v1/applications/a1/submit" in submission.arrived
        # what was shed never reached a service
        assert len(catalogue.arrived) == 7
        assert "GET /v1/lookup/HS-2026-9999" not in submission.arrived

        catalogue.gate.set()
        submission.gate.set()
        # the queued ones were served, not refused, once the services had room again
        assert [r.status_code for r in await asyncio.gather(*crowd)] == [200] * 9
        assert [r.status_code for r in await asyncio.gather(*lookers)] == [200] * 7

        metrics = (await client.get("/metrics")).text
        assert re.search(r'gateway_shed_total\{priority="4",reason="queue_full",service="catalogue"\} 1\.0', metrics)
        assert re.search(r'gateway_shed_total\{priority="5",reason="queue_full",service="submission"\} 1\.0', metrics)


async def test_an_autosave_takes_the_place_of_a_queued_lookup(start_gateway: StartGateway) -> None:
    async with platform(start_gateway, **FIXED_TEN) as (client, _, submission):
        lookers = [asyncio.create_task(client.get(f"/v1/lookup/HS-2026-{n:04d}")) for n in range(7)]
        await eventually(lambda: _true(len(submission.arrived) == 5))
        autosaves = [
            asyncio.create_task(client.patch(f"/v1/applications/a{n}", json={"data": {"n": n}})) for n in range(5)
        ]  # the other five slots: only a dossier's work may use them
        await eventually(lambda: _true(len(submission.arrived) == 10))

        saved = asyncio.create_task(client.patch("/v1/applications/mine", json={"data": {"child_full_name": "An"}}))
        # of the two lookups queued, the newer gives its place to the autosave and is answered at once
        done, _ = await asyncio.wait(lookers[5:], timeout=10, return_when=asyncio.FIRST_COMPLETED)
        assert [t.result().status_code for t in done] == [503]
        assert done == {lookers[6]}
        submission.gate.set()
        assert (await saved).status_code == 200
        assert "PATCH /v1/applications/mine" in submission.arrived
        assert all(r.status_code == 200 for r in await asyncio.gather(*lookers[:6], *autosaves))


async def test_an_upload_shed_reads_its_503_not_a_reset(start_gateway: StartGateway) -> None:
    no_queue = {**FIXED_TEN, "gateway_admission_queue_size": 0}
    async with platform(start_gateway, **no_queue) as (client, _, submission):
        autosaves = [asyncio.create_task(client.patch(f"/v1/applications/a{n}", json={"data": {}})) for n in range(10)]
        await eventually(lambda: _true(len(submission.arrived) == 10))
        upload = await client.post(
            "/v1/applications/a1/documents",
            data={"document_key": "birth_certificate_medical"},
            files={"file": ("big.pdf", b"%PDF-1.4\n" + os.urandom(4 * 1024 * 1024))},
        )
        assert_problem(upload, 503)
        assert int(upload.headers["retry-after"]) >= 1
        assert (await client.get("/healthz")).status_code == 200  # the same client, the connection still fine
        submission.gate.set()
        assert all(r.status_code == 200 for r in await asyncio.gather(*autosaves))


async def test_a_service_saying_it_is_overloaded_is_passed_on_and_cuts_the_limit(start_gateway: StartGateway) -> None:
    adaptive = {
        "gateway_admission_initial_limit": 40,
        "gateway_admission_min_limit": 4,
        "gateway_admission_max_limit": 40,
    }
    async with platform(start_gateway, **adaptive) as (client, catalogue, _):
        catalogue.busy_paths.add("/v1/agencies")
        busy = await client.get("/v1/agencies")
        assert busy.status_code == 503
        assert busy.headers["retry-after"] == "7"  # the service's own answer, unchanged
        metrics = (await client.get("/metrics")).text
        assert 'gateway_admission_limit{service="catalogue"} 36.0' in metrics
        assert 'gateway_admission_limit{service="submission"} 40.0' in metrics


@pytest.mark.parametrize(
    ("path", "status"), [("/healthz", 200), ("/metrics", 200), ("/", 200), ("/v1/not-routed", 404)]
)
async def test_probes_the_portal_and_unrouted_paths_never_wait_for_a_slot(
    start_gateway: StartGateway, path: str, status: int
) -> None:
    none_left = {
        "gateway_admission_initial_limit": 1,
        "gateway_admission_min_limit": 1,
        "gateway_admission_max_limit": 1,
        "gateway_admission_queue_size": 0,
    }
    async with platform(start_gateway, **none_left) as (client, catalogue, _):
        held = asyncio.create_task(client.get("/v1/procedures"))
        await eventually(lambda: _true(len(catalogue.arrived) == 1))
        assert (await client.get("/v1/procedures")).status_code == 503  # the catalogue's one slot is taken
        assert (await client.get(path, headers={"Accept": "text/html"})).status_code == status
        catalogue.gate.set()
        assert (await held).status_code == 200


async def _true(value: bool) -> bool:
    return value
