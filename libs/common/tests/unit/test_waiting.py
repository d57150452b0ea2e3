"""A deadline wait answers set or not, and never swallows the cancellation meant to end its loop."""

from __future__ import annotations

import asyncio

import pytest
from motcua.common.waiting import set_within


async def test_an_event_set_in_time_is_reported_and_one_never_set_is_not() -> None:
    event = asyncio.Event()
    asyncio.get_running_loop().call_later(0.01, event.set)
    assert await set_within(event, 5.0) is True
    assert await set_within(asyncio.Event(), 0.01) is False


async def test_a_cancellation_arriving_as_the_event_is_set_still_cancels() -> None:
    # the relay's shutdown hang: `asyncio.wait_for` on 3.11 returns True here and the loop runs on
    event = asyncio.Event()
    waiting = asyncio.create_task(set_within(event, 5.0))
    await asyncio.sleep(0)  # the task is now waiting on the event
    event.set()
    waiting.cancel()  # in the same step, before the task sees the event
    with pytest.raises(asyncio.CancelledError):
        await waiting
