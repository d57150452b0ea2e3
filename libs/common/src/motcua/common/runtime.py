"""What a running service holds (`Runtime`: clients, outbox, relay, consumers, background tasks) and its
lifecycle: boot once the database answers, shut down gracefully. A service's own parts (its store,
use-case objects, providers) are one typed object beside it, served to routes by `parts_of`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import structlog
from fastapi import Request
from motcua.common import consumer as consumer_module
from motcua.common import mongo
from motcua.common import outbox as outbox_module
from motcua.common.errors import Unavailable
from motcua.common.revocation import RevocationFeed
from motcua.common.settings import ServiceSettings
from pymongo import IndexModel
from pymongo.errors import PyMongoError

log = structlog.get_logger(__name__)

P = TypeVar("P")
Background = Mapping[str, Coroutine[Any, Any, object]]


@dataclass(frozen=True)
class Hooks:
    """A service's part in the lifecycle, bound to its parts (see `web.create_app`)."""

    start: Callable[[], Awaitable[None]] | None = None
    background: Callable[[], Background] | None = None
    consumers: Callable[[], list[consumer_module.Consumer]] | None = None
    stop: Callable[[], Awaitable[None]] | None = None
    readiness: Callable[[], Awaitable[dict[str, bool]]] | None = None


@dataclass
class Runtime:
    """What a running service holds: its clients, outbox, relay, consumers and background tasks."""

    settings: ServiceSettings
    client: mongo.Client
    db: mongo.Database
    outbox: outbox_module.Outbox
    hooks: Hooks = field(default_factory=Hooks)
    relay: outbox_module.Relay | None = None
    consumers: list[consumer_module.Consumer] = field(default_factory=list)
    revocations: RevocationFeed | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    started: asyncio.Event = field(default_factory=asyncio.Event)

    def spawn(self, coro: Awaitable[object], name: str) -> None:
        """Run a background task for the service's lifetime; a crash is logged, not swallowed."""

        async def guarded() -> None:
            try:
                await coro
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("background_task_crashed", task=name)

        self.tasks.append(asyncio.create_task(guarded(), name=name))

    async def boot(self, *, indexes: Mapping[str, Sequence[IndexModel]], emits_events: bool) -> None:
        """Wait for the database, create the schema, run the service's start-up work, then start its
        background tasks, the relay and the consumers."""
        await mongo.wait_until_ready(self.client)
        schema: dict[str, Sequence[IndexModel]] = {**outbox_module.INDEXES, **consumer_module.INDEXES, **indexes}
        while True:
            try:
                await mongo.ensure_collections(self.db, schema)
                break
            except PyMongoError as exc:
                log.warning("schema_not_ready", error=str(exc))
                await asyncio.sleep(1.0)
        while self.hooks.start is not None:
            try:
                await self.hooks.start()
                break
            except PyMongoError as exc:
                log.warning("startup_waiting_for_database", error=str(exc))
                await asyncio.sleep(1.0)
        if self.hooks.background is not None:
            for name, coro in self.hooks.background().items():
                self.spawn(coro, name)
        if emits_events:
            self.relay = outbox_module.Relay(self.db, self.settings, self.outbox)
            self.spawn(self.relay.run(), "relay")
        if self.hooks.consumers is not None:
            self.consumers = self.hooks.consumers()
            for c in self.consumers:
                self.spawn(c.run(), f"consumer-{c.group}")
        self.started.set()
        log.info("service_started", port=self.settings.port)

    async def readiness(self) -> dict[str, bool]:
        """Whether it started, and how its consumers and the service's own loops are."""
        checks = {"started": self.started.is_set()}
        for c in self.consumers:
            checks[f"consumer:{c.group}"] = c.healthy
        if self.revocations is not None:
            checks["revocations"] = self.revocations.healthy
        if self.hooks.readiness is not None:
            checks.update(await self.hooks.readiness())
        return checks

    async def shutdown(self) -> None:
        """Stop consuming, run the service's stop hook, flush the relay, let loops finish, close the client."""
        for c in self.consumers:
            await c.stop()
        if self.hooks.stop is not None:
            try:
                await self.hooks.stop()
            except Exception:
                log.exception("shutdown_hook_failed")
        if self.relay is not None:
            await self.relay.stop()
        # the loops told to stop finish their record or batch; other background tasks are cancelled
        running = [t for t in self.tasks if not t.done() and t.get_name().startswith(("relay", "consumer-"))]
        if running:
            await asyncio.wait(running, timeout=5)
        await asyncio.sleep(0)
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.client.close()
        log.info("service_stopped")


def parts_of(request: Request, kind: type[P]) -> P:
    """The running service's parts, for its `deps` module; 503 until the service has started, so nothing
    is answered from a half-made schema or before its start-up work is done."""
    runtime: Runtime | None = getattr(request.app.state, "runtime", None)
    parts = getattr(request.app.state, "parts", None)
    if runtime is None or not runtime.started.is_set() or parts is None:
        raise Unavailable("The service is starting; try again in a few seconds.")
    if not isinstance(parts, kind):
        raise TypeError(f"this app's parts are {type(parts).__name__}, not {kind.__name__}")
    return parts
