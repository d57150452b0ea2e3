"""MongoDB client, start-up schema and transactions (PyMongo's async API)."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import pymongo
import structlog
from pymongo import AsyncMongoClient, IndexModel, monitoring
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import CollectionInvalid, ConnectionFailure, PyMongoError
from pymongo.read_concern import ReadConcern
from pymongo.write_concern import WriteConcern

log = structlog.get_logger(__name__)

Document = dict[str, Any]
Client = AsyncMongoClient[Document]
Database = AsyncDatabase[Document]
Collection = AsyncCollection[Document]
Session = AsyncClientSession
T = TypeVar("T")


class CommandCounts(monitoring.CommandListener):
    """The database commands this process sends, by command name and collection ("" for none, as `ping`):
    what a request or an event costs, and where."""

    def __init__(self) -> None:
        self.counts: Counter[tuple[str, str]] = Counter()

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        target = event.command.get(event.command_name)
        self.counts[event.command_name, target if isinstance(target, str) else ""] += 1

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


_counting: CommandCounts | None = None
_watchers: list[monitoring.CommandListener] = []


def count_commands() -> CommandCounts:
    """Count the commands of every client this process connects from now on (`MONGODB_COMMAND_COUNTS`)."""
    global _counting
    if _counting is None:
        _counting = CommandCounts()
        watch_commands(_counting)
    return _counting


def watch_commands(listener: monitoring.CommandListener) -> None:
    """Tell `listener` of the commands of every client this process connects from now on (measurement only)."""
    _watchers.append(listener)


def connect(
    uri: str,
    *,
    operation_timeout: bool = True,
    listeners: Sequence[monitoring.CommandListener] = (),
    max_pool_size: int = 100,
) -> Client:
    """A client that connects lazily; requests fail fast (503) rather than hang when the server is down.

    `operation_timeout=False` leaves out the 5 s per-operation limit (`timeoutMS`): PyMongo then writes
    a command to the socket in the same step it announces it to `listeners`, with nothing awaited in
    between (notification's hand-over mark relies on it); the caller bounds the wait for the answer.
    `max_pool_size`: connections at most (a service's is sized by `motcua.common.admission.pool_size`).
    """
    return AsyncMongoClient(
        uri,
        tz_aware=True,
        serverSelectionTimeoutMS=3000,
        connectTimeoutMS=3000,
        timeoutMS=5000 if operation_timeout else None,
        retryWrites=True,
        maxPoolSize=max_pool_size,
        uuidRepresentation="standard",
        event_listeners=[*listeners, *_watchers],
    )


async def wait_until_ready(client: Client, *, attempts: int | None = None, delay: float = 0.5) -> None:
    """Retry `ping` until the server answers, so services start in any order."""
    n = 0
    while True:
        try:
            await client.admin.command("ping")
            return
        except PyMongoError as exc:
            n += 1
            if attempts is not None and n >= attempts:
                raise
            log.warning("mongodb_not_ready", error=str(exc), attempt=n)
            await asyncio.sleep(min(delay * n, 5.0))


async def ensure_collections(db: Database, indexes: dict[str, Sequence[IndexModel]]) -> None:
    """Create collections and indexes at start-up, never implicitly inside a transaction."""
    existing = set(await db.list_collection_names())
    for name, models in indexes.items():
        if name not in existing:
            try:
                await db.create_collection(name)
            except CollectionInvalid:
                pass  # another replica created it first
        if models:
            await db[name].create_indexes(list(models))


async def in_transaction(client: Client, work: Callable[[Session], Awaitable[T]], *, seconds: float = 10.0) -> T:
    """Run `work` in one transaction, retried on transient errors as MongoDB requires, for at most `seconds`.

    `with_transaction` alone retries for 120 s whatever the client's timeout; bounding it makes a
    request during a database outage fail promptly (503) instead of outliving every caller's patience.
    """
    with pymongo.timeout(seconds):
        async with client.start_session() as session:
            return await session.with_transaction(
                work,
                read_concern=ReadConcern("snapshot"),
                write_concern=WriteConcern("majority"),
            )


async def ping(client: Client, timeout: float = 2.0) -> bool:
    """True when the server answers within `timeout` seconds."""
    try:
        async with asyncio.timeout(timeout):  # not `wait_for`: see motcua.common.waiting
            await client.admin.command("ping")
        return True
    except (TimeoutError, PyMongoError):
        return False


__all__ = [
    "Client",
    "Collection",
    "ConnectionFailure",
    "Database",
    "Document",
    "Session",
    "connect",
    "ensure_collections",
    "in_transaction",
    "ping",
    "wait_until_ready",
]
