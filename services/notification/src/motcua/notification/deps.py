"""What the notification service is made of (`Notification`), and the dependency that hands its store to routes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from motcua.common.outbox import Outbox
from motcua.common.runtime import parts_of
from motcua.notification.dispatcher import Dispatcher
from motcua.notification.events import Desk
from motcua.notification.settings import Settings
from motcua.notification.store import Store


@dataclass(frozen=True)
class Notification:
    """The running service's parts, built once in app.py's lifespan: where events arrive (`desk`) and
    what sends the deliveries they record (`dispatcher`)."""

    settings: Settings
    store: Store
    outbox: Outbox
    desk: Desk
    dispatcher: Dispatcher


async def _notification(request: Request) -> Notification:
    return parts_of(request, Notification)


NotificationDep = Annotated[Notification, Depends(_notification)]


async def _store(notification: NotificationDep) -> Store:
    return notification.store


StoreDep = Annotated[Store, Depends(_store)]
