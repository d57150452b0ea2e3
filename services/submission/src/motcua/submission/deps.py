"""The dependencies routes ask for, named once."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from motcua.common.outbox import Outbox
from motcua.common.web import runtime_of
from motcua.submission.settings import Settings
from motcua.submission.store import Store


async def _store(request: Request) -> Store:
    store: Store = runtime_of(request).extras["store"]
    return store


async def _outbox(request: Request) -> Outbox:
    return runtime_of(request).outbox


async def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def request_id(request: Request) -> str | None:
    found: str | None = getattr(request.state, "request_id", None)
    return found


async def client_ip(request: Request) -> str:
    """The caller's address (uvicorn puts the forwarded one here when the proxy is trusted)."""
    return request.client.host if request.client else "unknown"


StoreDep = Annotated[Store, Depends(_store)]
OutboxDep = Annotated[Outbox, Depends(_outbox)]
SettingsDep = Annotated[Settings, Depends(_settings)]
RequestId = Annotated[str | None, Depends(request_id)]
ClientIp = Annotated[str, Depends(client_ip)]
