"""A dossier's real events reach an agency's webhook: submission → Kafka → webhooks → the agency's endpoint,
through the platform as `make run` starts it (a development deployment, so a plain-http receiver on this
machine is allowed), signed with the secret the API showed once, in workflow order."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import pytest
import uvicorn
from motcua.devtools.devservers import free_port
from motcua.devtools.testing import eventually
from standardwebhooks.webhooks import Webhook
from starlette.requests import Request
from starlette.responses import Response

if TYPE_CHECKING:
    from tests.pressure.conftest import Pressure


class Endpoint:
    """An agency's endpoint: keeps each delivery's raw body and headers, answers 204."""

    def __init__(self) -> None:
        self.port = free_port()
        self.deliveries: list[tuple[bytes, dict[str, str]]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        self.deliveries.append((await request.body(), dict(request.headers)))
        await Response(status_code=204)(scope, receive, send)


@pytest.fixture
async def endpoint() -> AsyncIterator[Endpoint]:
    found = Endpoint()
    server = uvicorn.Server(
        uvicorn.Config(found, host="127.0.0.1", port=found.port, log_config=None, lifespan="off", access_log=False)
    )
    task = asyncio.create_task(server.serve())

    async def started() -> bool:
        return bool(server.started)

    await eventually(started, timeout=10, interval=0.02)
    yield found
    server.should_exit = True
    await task


async def test_an_agencys_webhook_gets_its_dossiers_real_events_signed_and_in_order(
    pressure: Pressure, endpoint: Endpoint
) -> None:
    async with pressure.client() as client:
        admin = await pressure.admin(client)
        procedure = (await client.get(f"/v1/procedures/{pressure.dossier.procedure}")).json()
        agency = procedure["agency_code"]
        created = await client.post(
            "/v1/webhooks",
            headers=admin.headers,
            json={
                "url": f"http://127.0.0.1:{endpoint.port}/motcua",
                "agency_code": agency,
                "event_types": [
                    "motcua.submission.ApplicationReceived.v1",
                    "motcua.submission.ApplicationStatusChanged.v1",
                ],
            },
        )
        assert created.status_code == 201, created.text
        hook = created.json()
        citizen = await pressure.citizen(client)
        officer = await pressure.officer(client, admin, agency)
        await asyncio.sleep(3)  # every replica's lanes know the webhook (WEBHOOKS_REFRESH_SECONDS)

        dossier, auth = pressure.dossier, citizen.headers
        draft = await client.post("/v1/applications", json={"procedure_code": dossier.procedure}, headers=auth)
        app_id = draft.json()["id"]
        saved = await client.patch(
            f"/v1/applications/{app_id}",
            content=json.dumps({"data": dossier.form}),
            headers={**auth, "If-Match": draft.headers["etag"], "Content-Type": "application/merge-patch+json"},
        )
        assert saved.status_code == 200, saved.text
        uploaded = await client.post(
            f"/v1/applications/{app_id}/documents",
            headers=auth,
            data={"document_key": dossier.document_key},
            files={"file": ("giay-chung-sinh.pdf", dossier.pdf, "application/pdf")},
        )
        assert uploaded.status_code == 201, uploaded.text
        submitted = await client.post(
            f"/v1/applications/{app_id}/submit", headers={**auth, "Idempotency-Key": uuid.uuid4().hex}
        )
        assert submitted.status_code == 200, submitted.text
        accepted = await client.post(
            f"/v1/agency/applications/{app_id}/actions",
            headers=officer.headers,
            json={"action": "accept", "comment": ""},
        )
        assert accepted.status_code == 200, accepted.text

        async def both() -> bool:
            return len(endpoint.deliveries) >= 2

        await eventually(both, timeout=60, interval=0.2)
    verifier = Webhook(hook["secret"])
    events = [verifier.verify(body, headers) for body, headers in endpoint.deliveries]
    assert [e["type"] for e in events] == [
        "motcua.submission.ApplicationReceived.v1",
        "motcua.submission.ApplicationStatusChanged.v1",
    ]
    assert {e["subject"] for e in events} == {app_id}
    assert events[0]["data"]["tracking_code"] == submitted.json()["tracking_code"]
    assert (events[1]["data"]["from"], events[1]["data"]["to"]) == ("submitted", "processing")
    assert [h["webhook-id"] for _, h in endpoint.deliveries] == [e["id"] for e in events]
