"""One dead subscriber never slows a live one: the live one's delivery lag is measured while two others
hang every request until the 10 s limit and a third refuses connections."""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any

from motcua.devtools.devservers import free_port
from motcua.devtools.testing import eventually

DOSSIERS = 30
PER_SECOND = 10.0
HANG_LIMIT = 10.0  # seconds a delivery to a hung subscriber waits before it is given up


async def test_a_dead_subscriber_does_not_delay_a_live_one(kit: Any) -> None:
    events = [e for _ in range(DOSSIERS) for e in kit.journey()]
    async with (
        kit.receiving() as live,
        kit.receiving(kit.hang) as stuck,
        kit.receiving(kit.hang) as stuck_too,
        kit.service(webhooks_timeout_seconds=HANG_LIMIT, webhooks_lease_seconds=30.0) as service,
    ):
        refused = f"https://127.0.0.1:{free_port()}/nobody-listens"
        for url in (stuck.url, refused, stuck_too.url, live.url):
            await service.subscribe(url, agency=None)
        # the service is running: its consumer has its partitions, every lane has tried its subscriber
        warm_up = await kit.publisher.send(kit.journey()[0])

        async def running() -> bool:
            return bool(live.accepted()) and bool(stuck.log) and bool(stuck_too.log)

        await eventually(running, timeout=30)
        sent = []
        cpu = time.process_time()
        for event in events:
            sent += await kit.publisher.send(event)
            await asyncio.sleep(1 / PER_SECOND)

        async def all_arrived() -> bool:
            return len(live.accepted()) >= len(sent) + len(warm_up)

        await eventually(all_arrived, timeout=30)
        cpu = time.process_time() - cpu
        assert len(stuck.log) >= 1, "the stuck receiver was tried meanwhile"
    times = {e.id: e.time.timestamp() for e in sent}
    lags = sorted(entry.at - times[entry.webhook_id] for entry in live.accepted() if entry.webhook_id in times)
    p50, p99 = statistics.median(lags), statistics.quantiles(lags, n=100)[98]
    print(
        f"\nlive subscriber beside 3 dead ones: {len(lags)} events at {PER_SECOND:g}/s, delivery lag "
        f"p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, max {lags[-1] * 1000:.0f} ms; "
        f"stuck receivers were sent {len(stuck.log) + len(stuck_too.log)} requests; this process used "
        f"{cpu:.1f} s of CPU meanwhile"
    )
    assert sorted(live.accepted_ids()) == sorted([*times, warm_up[0].id])
    # a live delivery queued behind a hung one would wait out its limit: none did (the lag itself is the
    # bench's to judge, not a test's: on a loaded machine it varies, while this bound is the behaviour)
    assert lags[-1] < HANG_LIMIT / 2, lags[-5:]
