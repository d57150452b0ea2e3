"""Build the webhooks app: the API, the consumer that queues dossier events per subscriber, the dispatcher.

Webhooks is a service of its own, not a part of notification: a flood of retries to dead agency endpoints
must never touch the email and SMS path citizens wait on, and it reads the dossier topic with its own
consumer group, as any agency does (docs/webhooks.md, "Where it runs").
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable

import structlog
from fastapi import FastAPI
from motcua.common.auth import TokenVerifier
from motcua.common.consumer import Consumer
from motcua.common.runtime import Background, Runtime
from motcua.common.web import create_app
from motcua.webhooks import api, events
from motcua.webhooks.deps import Webhooks
from motcua.webhooks.dispatcher import Dispatcher
from motcua.webhooks.sealing import Sealer
from motcua.webhooks.settings import Settings
from motcua.webhooks.store import INDEXES, Store

log = structlog.get_logger(__name__)

DESCRIPTION = """Agencies without Kafka: dossier events pushed to their HTTPS endpoints, signed (Standard
Webhooks), in order per dossier, retried with backoff for up to 24 h, then kept on a dead-letter shelf
that can be re-driven; replay from the event log."""


def build_app(
    settings: Settings | None = None,
    *,
    verifier: TokenVerifier | None = None,
    rand: Callable[[], float] = random.random,
) -> FastAPI:
    """The webhooks service; nothing connects until it starts. `rand` draws the retries' jitter."""
    settings = settings or Settings()
    sealer = Sealer.configured(settings.webhooks_secret_keys.get_secret_value())
    app: FastAPI

    def parts(runtime: Runtime) -> Webhooks:
        store = Store(runtime.client, runtime.db)
        dispatcher = Dispatcher(store, settings, sealer, registry=app.state.metrics_registry, rand=rand)
        return Webhooks(settings=settings, store=store, sealer=sealer, dispatcher=dispatcher)

    async def on_startup(webhooks: Webhooks) -> None:
        if settings.development:
            log.warning(
                "webhooks_development_mode",
                detail="plain http and private addresses allowed; secrets sealed with the development key",
            )

    def background(webhooks: Webhooks) -> Background:
        return {"webhook-dispatcher": webhooks.dispatcher.run()}

    def consumers(webhooks: Webhooks) -> list[Consumer]:
        fan_out = events.FanOut(webhooks.store, webhooks.dispatcher.wake)
        return [
            Consumer(
                client=webhooks.store.client,
                db=webhooks.store.db,
                settings=settings,
                group=events.GROUP,
                topic_names=events.CONSUMED_TOPICS,
                handlers=fan_out.handlers(),
                after_commit=fan_out.after_commit,
            )
        ]

    async def on_shutdown(webhooks: Webhooks) -> None:
        for task in list(webhooks.background):
            task.cancel()
        await asyncio.gather(*webhooks.background, return_exceptions=True)
        await webhooks.dispatcher.stop()

    async def readiness(webhooks: Webhooks) -> dict[str, bool]:
        return {"dispatcher": webhooks.dispatcher.healthy}

    app = create_app(
        settings,
        title="Mot Cua — webhooks",
        description=DESCRIPTION,
        routers=[api.router],
        indexes=INDEXES,
        emits_events=False,
        parts=parts,
        on_startup=on_startup,
        background=background,
        consumers=consumers,
        on_shutdown=on_shutdown,
        readiness=readiness,
        verifier=verifier,
    )
    return app
