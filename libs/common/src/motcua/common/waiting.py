"""Waiting for a signal with a deadline, without losing a cancellation.

`asyncio.wait_for` on Python 3.11 returns the awaited result when the task is cancelled in the same
step as the result arrives, and the cancellation is lost (python/cpython#86296, mended in 3.12). A
loop that waits that way ignores the `cancel()` meant to end it; `await task` then waits forever.
`asyncio.timeout` keeps the cancellation apart from its own deadline.
"""

from __future__ import annotations

import asyncio


async def set_within(event: asyncio.Event, seconds: float) -> bool:
    """Wait up to `seconds` for `event`; True when it is set. A cancellation always propagates."""
    try:
        async with asyncio.timeout(seconds):
            await event.wait()
    except TimeoutError:
        return False
    return True
