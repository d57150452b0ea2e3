"""What the dispatcher sends through: a provider adapter (`Sender`) per channel, and the hand-over call
(`HandOver`) with which an adapter says the message is about to leave for the provider."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Protocol

from motcua.notification.deliveries import Delivery

HandOver = Callable[[], Awaitable[None]]


class Sender(Protocol):
    """A provider adapter: answers what the provider said, or raises a classified SendError.

    It calls `hand_over()` once, immediately before the step after which the provider may have the
    message (nothing awaited in between), and not at all when it fails earlier. If `hand_over()`
    raises, the sender abandons the message so the provider never gets it, and lets the error through.
    """

    channel: str
    concurrency: int

    async def send(self, delivery: Delivery, *, now: datetime, hand_over: HandOver) -> str: ...

    async def close(self) -> None: ...
