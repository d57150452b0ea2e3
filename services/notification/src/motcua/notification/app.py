"""Build the notification app: the API, the consumer of identity and submission events, the dispatcher."""

from __future__ import annotations

import structlog
from fastapi import FastAPI
from motcua.common import topics
from motcua.common.auth import TokenVerifier
from motcua.common.consumer import Consumer
from motcua.common.runtime import Background, Runtime
from motcua.common.sealing import EventSealer
from motcua.common.web import create_app
from motcua.notification import api
from motcua.notification.deps import Notification
from motcua.notification.dispatcher import Dispatcher
from motcua.notification.events import Desk
from motcua.notification.mail import Mailer
from motcua.notification.messages import Composer
from motcua.notification.senders import Sender
from motcua.notification.settings import Settings
from motcua.notification.sms import LogSms, WebhookSms, development_file
from motcua.notification.store import INDEXES, HandOvers, Store

log = structlog.get_logger(__name__)

CONSUMER_GROUP = "notification"
CONSUMED_TOPICS = (topics.IDENTITY_ACCOUNT, topics.IDENTITY_DIRECTORY, topics.SUBMISSION_APPLICATION)


def _senders(settings: Settings) -> list[Sender]:
    sms: Sender = WebhookSms(settings) if settings.sms_provider == "webhook" else LogSms(development_file(settings))
    return [Mailer(settings), sms]


def build_app(settings: Settings | None = None, *, verifier: TokenVerifier | None = None) -> FastAPI:
    """The notification service; nothing connects until it starts."""
    settings = settings or Settings()
    composer = Composer(
        public_base_url=settings.public_base_url,
        secrets=EventSealer.configured(settings.event_secret_keys.get_secret_value()),
        sms_without_diacritics=settings.sms_strip_diacritics,
    )

    def parts(runtime: Runtime) -> Notification:
        store = Store(runtime.client, runtime.db)
        hand_overs = HandOvers(settings.mongodb_uri, settings.database_name)
        dispatcher = Dispatcher(store, runtime.outbox, settings, _senders(settings), hand_overs)
        desk = Desk(store, runtime.outbox, composer, settings)
        return Notification(settings, store, runtime.outbox, desk, dispatcher)

    async def on_startup(notification: Notification) -> None:
        if settings.sms_provider == "log":
            log.warning(
                "sms_provider_log_is_for_development",
                detail="SMS texts, codes included, go to this file",
                file=str(development_file(settings)),
            )

    def background(notification: Notification) -> Background:
        return {"dispatcher": notification.dispatcher.run()}

    def consumers(notification: Notification) -> list[Consumer]:
        def after_commit() -> None:
            notification.outbox.notify()
            notification.dispatcher.wake()

        return [
            Consumer(
                client=notification.store.client,
                db=notification.store.db,
                settings=settings,
                group=CONSUMER_GROUP,
                topic_names=CONSUMED_TOPICS,
                handlers=notification.desk.handlers(),
                after_commit=after_commit,
                staging=notification.store.staging,
                prepare=notification.desk.prepare,
            )
        ]

    async def on_shutdown(notification: Notification) -> None:
        await notification.dispatcher.stop()

    async def readiness(notification: Notification) -> dict[str, bool]:
        return {"dispatcher": notification.dispatcher.healthy}

    return create_app(
        settings,
        title="Mot Cua — notification",
        description="Email, SMS and in-app messages caused by identity and submission events, each at most once.",
        routers=[api.router],
        indexes=INDEXES,
        emits_events=True,
        parts=parts,
        on_startup=on_startup,
        background=background,
        consumers=consumers,
        on_shutdown=on_shutdown,
        readiness=readiness,
        verifier=verifier,
    )
