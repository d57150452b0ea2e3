"""Build the notification app: the API, the consumer of identity and submission events, the dispatcher."""

from __future__ import annotations

import structlog
from fastapi import FastAPI
from motcua.common import topics
from motcua.common.auth import TokenVerifier
from motcua.common.consumer import Consumer
from motcua.common.web import Runtime, create_app
from motcua.notification import api, store
from motcua.notification.dispatcher import Dispatcher, Sender
from motcua.notification.events import Desk
from motcua.notification.mail import Mailer
from motcua.notification.messages import Composer
from motcua.notification.settings import Settings
from motcua.notification.sms import LogSms, WebhookSms

log = structlog.get_logger(__name__)

CONSUMER_GROUP = "notification"
CONSUMED_TOPICS = (topics.IDENTITY_ACCOUNT, topics.SUBMISSION_APPLICATION)


def _senders(settings: Settings) -> list[Sender]:
    sms: Sender = WebhookSms(settings) if settings.sms_provider == "webhook" else LogSms()
    return [Mailer(settings), sms]


def build_app(settings: Settings | None = None, *, verifier: TokenVerifier | None = None) -> FastAPI:
    """The notification service; nothing connects until it starts."""
    settings = settings or Settings()
    composer = Composer(
        public_base_url=settings.public_base_url, sms_without_diacritics=settings.sms_strip_diacritics
    )

    def dispatcher_of(runtime: Runtime) -> Dispatcher:
        dispatcher: Dispatcher = runtime.extras["dispatcher"]
        return dispatcher

    async def on_startup(runtime: Runtime) -> None:
        if settings.sms_provider == "log":
            log.warning("sms_provider_log_is_for_development", detail="SMS texts, codes included, go to this log")
        hand_overs = store.HandOvers(settings.mongodb_uri, settings.database_name)
        dispatcher = Dispatcher(runtime.client, runtime.db, runtime.outbox, settings, _senders(settings), hand_overs)
        runtime.extras["dispatcher"] = dispatcher
        runtime.spawn(dispatcher.run(), "dispatcher")

    def consumers(runtime: Runtime) -> list[Consumer]:
        dispatcher = dispatcher_of(runtime)

        def after_commit() -> None:
            runtime.outbox.notify()
            dispatcher.wake()

        desk = Desk(runtime.db, runtime.outbox, composer, settings)
        return [
            Consumer(
                client=runtime.client,
                db=runtime.db,
                settings=settings,
                group=CONSUMER_GROUP,
                topic_names=CONSUMED_TOPICS,
                handlers=desk.handlers(),
                after_commit=after_commit,
            )
        ]

    async def on_shutdown(runtime: Runtime) -> None:
        if "dispatcher" in runtime.extras:
            await dispatcher_of(runtime).stop()

    async def readiness(runtime: Runtime) -> dict[str, bool]:
        dispatcher = runtime.extras.get("dispatcher")
        return {"dispatcher": dispatcher is not None and dispatcher.healthy}

    return create_app(
        settings,
        title="Mot Cua — notification",
        description="Email, SMS and in-app messages caused by identity and submission events, each at most once.",
        routers=[api.router],
        indexes=store.INDEXES,
        emits_events=True,
        consumers=consumers,
        on_startup=on_startup,
        on_shutdown=on_shutdown,
        verifier=verifier,
        readiness=readiness,
    )
