"""Admission control's pure parts: request priorities, the gradient limit, the priority queue."""

from __future__ import annotations

import asyncio

import pytest
from motcua.gateway.budget import AimdLimit, Budget
from motcua.gateway.limits import GradientLimit, Limiter, Refused
from motcua.gateway.priorities import Priority, priority_of


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_what_loses_peoples_work_comes_first() -> None:
    app = "/v1/applications/6650f0c2a1b2c3d4e5f60718"
    assert priority_of("PATCH", app) == Priority.DOSSIER
    assert priority_of("POST", f"{app}/documents") == Priority.DOSSIER
    assert priority_of("DELETE", f"{app}/documents/abc") == Priority.DOSSIER
    assert priority_of("POST", f"{app}/submit") == Priority.DOSSIER
    assert priority_of("POST", f"{app}/resubmit") == Priority.DOSSIER
    assert priority_of("POST", "/v1/auth/refresh") == Priority.DOSSIER  # or the citizen is signed out mid-form

    assert priority_of("POST", "/v1/auth/login") == Priority.SIGN_IN
    assert priority_of("POST", "/v1/auth/mfa") == Priority.SIGN_IN
    assert priority_of("POST", "/v1/accounts") == Priority.SIGN_IN
    assert priority_of("POST", "/v1/accounts/verify-email") == Priority.SIGN_IN
    assert priority_of("GET", "/.well-known/jwks.json") == Priority.SIGN_IN

    assert priority_of("GET", "/v1/agency/inbox") == Priority.WORK
    assert priority_of("POST", "/v1/agency/applications/x/actions") == Priority.WORK
    assert priority_of("POST", "/v1/admin/officers") == Priority.WORK
    assert priority_of("POST", "/v1/procedures") == Priority.WORK
    assert priority_of("GET", "/v1/procedures/HT-KS-01/versions/3") == Priority.WORK  # a dossier's form
    assert priority_of("GET", "/v1/applications") == Priority.WORK
    assert priority_of("GET", app) == Priority.WORK
    assert priority_of("POST", "/v1/applications") == Priority.WORK  # a new draft: nothing typed yet
    assert priority_of("POST", f"{app}/withdraw") == Priority.WORK
    assert priority_of("GET", "/v1/notifications") == Priority.WORK

    assert priority_of("GET", "/v1/procedures") == Priority.BROWSING
    assert priority_of("GET", "/v1/procedures/HT-KS-01") == Priority.BROWSING
    assert priority_of("GET", "/v1/agencies") == Priority.BROWSING
    assert priority_of("GET", "/v1/something-new") == Priority.BROWSING

    assert priority_of("GET", "/v1/lookup/HS-2026-ABCD") == Priority.LOOKUP
    assert priority_of("GET", "/v1/verify/KQ-1234") == Priority.LOOKUP


def test_the_limit_comes_down_when_latency_rises_and_grows_back_when_it_falls() -> None:
    clock = Clock()
    limit = GradientLimit(initial=20, minimum=4, maximum=100, clock=clock)

    def windows(n: int, rtt: float, in_flight: int) -> None:
        for _ in range(n):
            for _ in range(limit.window_samples):
                limit.sample(rtt, in_flight)
            clock.now += limit.window_seconds

    windows(20, 0.010, in_flight=20)  # the normal: 10 ms with the limit full
    normal = limit.limit
    assert normal > 20  # latency is normal and the limit is used: it grows

    windows(30, 0.050, in_flight=int(limit.limit))  # five times slower: requests queue in the service
    slowed = limit.limit
    assert slowed < normal

    windows(60, 0.010, in_flight=int(limit.limit))
    assert limit.limit > slowed
    assert 4 <= limit.limit <= 100


def test_a_limit_the_traffic_does_not_reach_learns_nothing() -> None:
    clock = Clock()
    limit = GradientLimit(initial=40, minimum=4, maximum=100, clock=clock)
    for _ in range(50):
        for _ in range(limit.window_samples):
            limit.sample(0.5, in_flight=3)  # slow, but only 3 in flight of 40: not the limit's doing
        clock.now += limit.window_seconds
    assert limit.limit == 40


def test_an_overload_answer_cuts_the_limit_once_a_window_down_to_the_minimum() -> None:
    clock = Clock()
    limit = GradientLimit(initial=50, minimum=10, maximum=100, clock=clock)
    limit.sample(0.0, 50, overloaded=True)
    limit.sample(0.0, 50, overloaded=True)  # the same window: no second cut
    assert limit.limit == pytest.approx(45)
    for _ in range(100):
        clock.now += limit.window_seconds
        limit.sample(0.0, 50, overloaded=True)
    assert limit.limit == 10


def fixed(n: int) -> GradientLimit:
    return GradientLimit(initial=n, minimum=n, maximum=n)


async def test_a_full_queue_refuses_at_once_unless_the_arrival_outranks_a_waiter() -> None:
    limiter = Limiter(fixed(2), queue_size=2, queue_seconds=30)
    await limiter.acquire(Priority.DOSSIER)
    await limiter.acquire(Priority.DOSSIER)
    first = asyncio.create_task(limiter.acquire(Priority.BROWSING))
    second = asyncio.create_task(limiter.acquire(Priority.LOOKUP))
    await asyncio.sleep(0)
    assert limiter.queued == 2

    with pytest.raises(Refused) as full:
        await limiter.acquire(Priority.LOOKUP)
    assert full.value.reason == "queue_full"
    assert full.value.retry_after >= 1

    submit = asyncio.create_task(limiter.acquire(Priority.DOSSIER))  # takes the lookup's place in the queue
    with pytest.raises(Refused) as evicted:
        await second
    assert evicted.value.reason == "evicted"

    limiter.release()  # the first slot to come free goes to the submit, though the search waited longer
    await submit
    assert not first.done()
    limiter.release()
    await first
    assert limiter.in_flight == 2
    assert limiter.queued == 0


async def test_the_last_slots_are_kept_for_more_urgent_work() -> None:
    limiter = Limiter(fixed(10), queue_size=0, queue_seconds=1)
    for _ in range(5):
        await limiter.acquire(Priority.LOOKUP)
    with pytest.raises(Refused):
        await limiter.acquire(Priority.LOOKUP)  # lookups may fill half the limit
    for _ in range(2):
        await limiter.acquire(Priority.BROWSING)
    with pytest.raises(Refused):
        await limiter.acquire(Priority.BROWSING)  # searches 70 %
    for _ in range(3):
        await limiter.acquire(Priority.DOSSIER)  # submits may use every slot
    with pytest.raises(Refused):
        await limiter.acquire(Priority.DOSSIER)
    assert limiter.in_flight == 10


async def test_a_waiter_past_the_queues_patience_is_refused_and_leaves_no_trace() -> None:
    limiter = Limiter(fixed(1), queue_size=4, queue_seconds=0.01)
    await limiter.acquire(Priority.WORK)
    with pytest.raises(Refused) as late:
        await limiter.acquire(Priority.WORK)
    assert late.value.reason == "timed_out"
    assert limiter.queued == 0
    limiter.release()
    assert limiter.in_flight == 0


async def test_a_caller_gone_while_waiting_gives_back_what_it_held() -> None:
    limiter = Limiter(fixed(1), queue_size=4, queue_seconds=30)
    await limiter.acquire(Priority.WORK)
    waiting = asyncio.create_task(limiter.acquire(Priority.WORK))
    await asyncio.sleep(0)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert limiter.queued == 0

    granted = asyncio.create_task(limiter.acquire(Priority.WORK))
    await asyncio.sleep(0)
    limiter.release()  # the slot is handed to the waiter ...
    granted.cancel()  # ... which goes away before it runs: the slot comes back
    with pytest.raises(asyncio.CancelledError):
        await granted
    assert limiter.in_flight == 0


async def test_refusals_lengthen_retry_after_and_lookups_wait_longer_than_submits() -> None:
    limiter = Limiter(fixed(1), queue_size=0, queue_seconds=1)
    calm = (limiter.retry_after(Priority.DOSSIER), limiter.retry_after(Priority.LOOKUP))
    await limiter.acquire(Priority.DOSSIER)
    for _ in range(200):
        with pytest.raises(Refused):
            await limiter.acquire(Priority.LOOKUP)
    busy = (limiter.retry_after(Priority.DOSSIER), limiter.retry_after(Priority.LOOKUP))
    assert calm[0] <= calm[1]
    assert busy[0] > calm[0]
    assert busy[1] > calm[1]
    assert busy[0] < busy[1]


def test_the_gateways_budget_is_cut_when_it_uses_its_core_and_grows_while_used_and_calm() -> None:
    clock, cpu = Clock(), Clock()
    budget = Budget(AimdLimit(initial=100, minimum=32, maximum=100), cpu_target=0.85, clock=clock, cpu_clock=cpu)

    def tenth(busy: float) -> None:
        for _ in range(4):
            clock.now += 0.025
            cpu.now += 0.025 * busy
            budget.observe(0.0)

    tenth(0.95)  # the gateway's one core nearly all used: forwarding is what it cannot keep up with
    assert budget.aimd.limit == pytest.approx(90)
    for _ in range(50):
        tenth(1.0)
    assert budget.aimd.limit == 32
    for _ in range(10):
        tenth(0.1)  # calm, but nothing in flight: no reason to grow
    assert budget.aimd.limit == 32
    budget.in_flight = 32
    tenth(0.1)
    tenth(0.1)
    assert budget.aimd.limit == 34


def test_a_late_event_loop_alone_does_not_cut_the_budget() -> None:
    clock, cpu = Clock(), Clock()
    budget = Budget(AimdLimit(initial=50, minimum=10, maximum=50), cpu_target=0.85, clock=clock, cpu_clock=cpu)
    budget.in_flight = 50
    for _ in range(40):
        clock.now += 0.2  # timers fire 175 ms late: other processes have the CPU, the gateway uses little
        cpu.now += 0.01
        budget.observe(0.175)
    assert budget.aimd.limit == 50
    assert budget.lag > 0.1


async def test_searches_of_one_service_cannot_take_the_budget_a_submit_of_another_needs() -> None:
    budget = Budget(AimdLimit(initial=10, minimum=10, maximum=10), cpu_target=1)
    catalogue = Limiter(fixed(10), queue_size=0, queue_seconds=1, budget=budget)
    submission = Limiter(fixed(10), queue_size=4, queue_seconds=30, budget=budget)
    lookups = Limiter(fixed(10), queue_size=0, queue_seconds=1, budget=budget)
    for _ in range(7):
        await catalogue.acquire(Priority.BROWSING)  # 70 % of the gateway's budget, all searches
    with pytest.raises(Refused):
        await catalogue.acquire(Priority.BROWSING)
    with pytest.raises(Refused):
        await lookups.acquire(Priority.LOOKUP)  # the gateway's room taken by one service is gone for the others
    for _ in range(3):
        await submission.acquire(Priority.DOSSIER)
    assert budget.in_flight == 10

    waiting = asyncio.create_task(submission.acquire(Priority.DOSSIER))
    await asyncio.sleep(0)
    assert not waiting.done()
    catalogue.release()  # a slot freed by the catalogue goes to the submission's waiter
    await waiting
    assert (catalogue.in_flight, submission.in_flight, budget.in_flight) == (6, 4, 10)


async def test_a_request_that_would_wait_past_the_queues_patience_is_refused_at_once() -> None:
    limiter = Limiter(fixed(4), queue_size=100, queue_seconds=0.5)
    limiter.gradient.recent_rtt = 0.4  # answers take 0.4 s: a slot comes free every 0.1 s
    for _ in range(4):
        await limiter.acquire(Priority.DOSSIER)
    queued = [asyncio.create_task(limiter.acquire(Priority.DOSSIER)) for _ in range(5)]  # waits of 0.1 … 0.5 s
    await asyncio.sleep(0)
    assert limiter.queued == 5
    with pytest.raises(Refused) as late:
        await limiter.acquire(Priority.DOSSIER)  # sixth in line: 0.6 s
    assert late.value.reason == "would_wait"
    with pytest.raises(Refused) as lookup:
        await limiter.acquire(Priority.LOOKUP)  # behind all five, through half the slots
    assert lookup.value.reason == "would_wait"
    for _ in range(9):
        limiter.release()
    await asyncio.gather(*queued)
    assert limiter.in_flight == 0
