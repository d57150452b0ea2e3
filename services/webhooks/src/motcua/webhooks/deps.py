"""What the webhooks service is made of (`Webhooks`), and the dependencies that hand its parts to routes."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Request
from motcua.common.auth import CurrentPrincipal
from motcua.common.errors import Unavailable
from motcua.webhooks.dispatcher import Dispatcher
from motcua.webhooks.model import Caller
from motcua.webhooks.sealing import Sealer
from motcua.webhooks.settings import Settings
from motcua.webhooks.store import Store


@dataclass
class Webhooks:
    """The running service's parts, built once in app.py's lifespan."""

    settings: Settings
    store: Store
    sealer: Sealer
    dispatcher: Dispatcher
    background: set[asyncio.Task[Any]] = field(default_factory=set)

    def spawn(self, work: Coroutine[Any, Any, Any], name: str) -> None:
        """Work that outlives the request that asked for it (a replay); cancelled at shutdown."""
        task = asyncio.create_task(work, name=name)
        self.background.add(task)
        task.add_done_callback(self.background.discard)


def parts_of(request: Request) -> Webhooks:
    """The parts, once the service has started; 503 before (nothing is answered from a half-made schema)."""
    runtime = getattr(request.app.state, "runtime", None)
    parts = getattr(request.app.state, "parts", None)
    if runtime is None or not runtime.started.is_set() or not isinstance(parts, Webhooks):
        raise Unavailable("The service is starting; try again in a few seconds.")
    return parts


async def _webhooks(request: Request) -> Webhooks:
    return parts_of(request)


WebhooksDep = Annotated[Webhooks, Depends(_webhooks)]


async def _store(webhooks: WebhooksDep) -> Store:
    return webhooks.store


async def _settings(webhooks: WebhooksDep) -> Settings:
    return webhooks.settings


async def _caller(principal: CurrentPrincipal) -> Caller:
    """Who calls, as the webhook rules see it; 403 unless an admin or an approver of their agency."""
    caller = Caller(
        admin=principal.has("admin"),
        agency=principal.agency if principal.has("officer") else None,
        approver=principal.has_agency_role("approver"),
    )
    caller.require_manager()
    return caller


StoreDep = Annotated[Store, Depends(_store)]
SettingsDep = Annotated[Settings, Depends(_settings)]
ManagerDep = Annotated[Caller, Depends(_caller)]
